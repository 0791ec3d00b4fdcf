-- Appending to the ledger. Every change goes through ledger.append_event, which takes the case's current status
-- as from_status and the next seq; the trigger ledger.check_events refuses illegal transitions. An event whose
-- natural key is already recorded is not recorded again (re-runs change nothing).
create or replace function ledger.append_event(p_case bigint, p_term text, p_to text, p_source text,
  p_reason text, p_evidence jsonb, p_run uuid, p_key text) returns boolean language plpgsql as $$
declare cur text; s int;
begin
  if exists (select 1 from ledger.case_events where event_key = p_key) then
    return false;
  end if;
  select e.to_status, e.seq into cur, s from ledger.case_events e where e.case_id = p_case order by e.seq desc limit 1;
  insert into ledger.case_events (case_id, seq, term, from_status, to_status, source, closure_reason, evidence,
                                  run_id, event_key)
  values (p_case, coalesce(s, 0) + 1, p_term, cur, p_to, p_source, p_reason, coalesce(p_evidence, '{}'), p_run, p_key);
  return true;
end $$;

-- Follow-up records of a term, in the order they were made: 核查 confirms, 劝返 records persuasion (confirming a
-- suspected case first), 复学 marks the child returned, 排除 excludes with its reason. A record that would be an
-- illegal change (the case is closed, or a persuading case is excluded) is kept in ledger.refused_followups.
create or replace function ledger.apply_followups(p_province text, p_term text, p_run uuid) returns int
language plpgsql as $$
declare r record; cur text; target text; n int := 0; k text; ev jsonb;
begin
  for r in
    select f.*, (select c.case_id from ledger.cases c where c.province = p_province and c.person_key = f.id_number
                 order by c.case_id desc limit 1) as case_id
    from core.followups f where f.province = p_province and f.term = p_term
    order by f.recorded_on nulls first, f.line
  loop
    if r.case_id is null then
      insert into ledger.unmatched_followups (province, term, file_hash, line, id_number, kind, recorded_on)
      values (p_province, p_term, r.file_hash, r.line, r.id_number, r.kind, r.recorded_on) on conflict do nothing;
      continue;
    end if;
    insert into ledger.case_followups (case_id, term, file_hash, line, kind, recorded_on, result, reason,
      exclusion_reason, responsible, evidence)
    values (r.case_id, p_term, r.file_hash, r.line, r.kind, r.recorded_on, r.result, r.reason, r.exclusion_reason,
      r.responsible, r.evidence) on conflict do nothing;
    k := 'followup:' || p_term || ':' || r.file_hash || ':' || r.line;
    if exists (select 1 from ledger.case_events e where e.event_key like k || ':%') then
      continue;  -- already applied by an earlier run
    end if;
    select e.to_status into cur from ledger.case_events e where e.case_id = r.case_id order by e.seq desc limit 1;
    target := case r.kind when '核查' then 'confirmed' when '劝返' then 'persuading' when '复学' then 'returned'
                          when '排除' then 'excluded' end;
    ev := jsonb_build_object('source', 'followups', 'file_hash', r.file_hash, 'line', r.line, 'kind', r.kind,
                             'recorded_on', r.recorded_on);
    if target is null or cur = target then
      continue;  -- another visit or attempt: recorded above, no change of status
    end if;
    if cur in ('closed', 'excluded') or (cur = 'returned' and target <> 'returned') or (cur = 'persuading' and target in ('confirmed', 'excluded')) then
      insert into ledger.refused_followups (province, term, file_hash, line, case_id, kind, message)
      values (p_province, p_term, r.file_hash, r.line, r.case_id, r.kind,
              format('case %s: cannot go from %s to %s (%s record of %s)', r.case_id, cur, target, r.kind, r.recorded_on))
      on conflict do nothing;
      continue;
    end if;
    if cur = 'suspected' and target = 'persuading' then
      perform ledger.append_event(r.case_id, p_term, 'confirmed', 'followup', null,
                                  ev || '{"implied_by": "劝返"}', p_run, k || ':confirmed');
    end if;
    perform ledger.append_event(r.case_id, p_term, target, 'followup',
                                case when target = 'excluded' then coalesce(r.exclusion_reason, '核实排除') end,
                                ev, p_run, k || ':' || target);
    n := n + 1;
  end loop;
  return n;
end $$;

-- 新增: a finding whose person has no open case opens one (one person, one case). If the person's latest case
-- was closed, the new case is a relapse (反弹) and points to it. A case closed or excluded during this very term is
-- not reopened by the same term's finding (a re-run of the term must change nothing).
create temp table t_latest_case on commit drop as
select distinct on (c.person_key) c.person_key, c.case_id, e.to_status as status, e.term as status_term
from ledger.cases c join ledger.case_events e using (case_id)
where c.province = :province
order by c.person_key, c.case_id desc, e.seq desc;
create index on t_latest_case (person_key);
analyze t_latest_case;

insert into ledger.cases (province, person_key, opened_term, case_type, relapse_of, id_number, name, gender,
  birth_date, region_code, run_id)
select f.province, f.person_key, f.term, f.case_type,
  case when l.status = 'closed' then l.case_id end,
  f.id_number, f.name, f.gender, f.birth_date, f.region_code, cast(:run_id as uuid)
from match.findings f
left join t_latest_case l on l.person_key = f.person_key
where f.province = :province and f.term = :term
  and (l.person_key is null or (l.status in ('closed', 'excluded') and l.status_term <> f.term));
-- (no ON CONFLICT: the condition above already leaves out a person with a case opened this term, so a re-run opens
-- nothing; should a case of the same person and term exist anyway, the unique key stops the step rather than
-- skipping the finding silently. Checking each row for a conflict first took 1–2 s of the 250,000 a province opens)

-- the next statements join the cases just opened: let the planner see them (a first sweep opens thousands at once)
analyze ledger.cases;

-- their first event, all in one statement: a new case has no event yet, so it is event 1, from nothing to suspected
-- (the trigger ledger.check_events still checks every row against the state machine; a re-run finds the event's key)
insert into ledger.case_events (case_id, seq, term, from_status, to_status, source, closure_reason, evidence, run_id,
  event_key)
select c.case_id, 1, c.opened_term, null, 'suspected',
  case when c.case_type = 'national_suspect' then 'national_list' else 'sweep' end, null,
  f.evidence || jsonb_build_object('finding', f.case_type, 'match_method', f.match_method),
  cast(:run_id as uuid), 'open:' || c.case_id
from ledger.cases c
join match.findings f on f.province = c.province and f.term = c.opened_term and f.person_key = c.person_key
where c.province = :province and c.opened_term = :term
  and not exists (select 1 from ledger.case_events e where e.event_key = 'open:' || c.case_id);

analyze ledger.case_events;

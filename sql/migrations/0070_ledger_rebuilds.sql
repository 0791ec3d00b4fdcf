-- Rebuilding the ledger from an older term (a corrected extract of a term already followed by newer ones).
-- Nothing is lost: every row the rebuild takes out of the live ledger is kept in ledger.superseded with the
-- rebuild that took it, and both tables are append-only. Only ledger.rebuild_from (SECURITY DEFINER, owned by the
-- schema owner) can take rows out; the pipeline role itself still has no DELETE privilege on the ledger.

create table ledger.rebuilds (
  rebuild_id   bigserial primary key,
  province     text not null,
  from_term    text not null,
  requested_at timestamptz not null default now(),
  run_id       uuid,
  superseded_terms text[] not null   -- the swept terms whose ledger work is redone
);
create table ledger.superseded (
  rebuild_id bigint not null references ledger.rebuilds,
  table_name text not null,
  row_data   jsonb not null
);
create index superseded_rebuild on ledger.superseded (rebuild_id, table_name);

create trigger rebuilds_append_only before update or delete on ledger.rebuilds
  for each row execute function ledger.refuse_change();
create trigger superseded_append_only before update or delete on ledger.superseded
  for each row execute function ledger.refuse_change();
create trigger rebuilds_no_truncate before truncate on ledger.rebuilds
  for each statement execute function ledger.refuse_change();
create trigger superseded_no_truncate before truncate on ledger.superseded
  for each statement execute function ledger.refuse_change();

-- The append-only triggers let a row go only inside ledger.rebuild_from, which sets kcbx.ledger_rebuild for its
-- own transaction after recording the rebuild.
create or replace function ledger.refuse_change() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' and tg_table_name in ('cases', 'case_events', 'case_followups')
     and current_setting('kcbx.ledger_rebuild', true) = 'on' then
    return old;
  end if;
  raise exception '% is append-only: % refused', tg_table_schema || '.' || tg_table_name, lower(tg_op);
end $$;

create function ledger.rebuild_from(p_province text, p_from text, p_run uuid) returns text[]
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare rid bigint; terms text[]; tbl text; from_ord int := kcbx.term_ordinal(p_from);
begin
  select coalesce(array_agg(term order by kcbx.term_ordinal(term)), '{}') into terms
  from ledger.swept_terms where province = p_province and kcbx.term_ordinal(term) >= from_ord;
  insert into ledger.rebuilds (province, from_term, run_id, superseded_terms)
  values (p_province, p_from, p_run, terms) returning rebuild_id into rid;
  perform set_config('kcbx.ledger_rebuild', 'on', true);

  -- per case, every event from the first one of a superseded term on (a case's events are in seq order)
  create temp table t_cut on commit drop as
  select e.case_id, min(e.seq) as from_seq
  from ledger.case_events e join ledger.cases c using (case_id)
  where c.province = p_province and kcbx.term_ordinal(e.term) >= from_ord
  group by e.case_id;

  with d as (delete from ledger.case_events e using t_cut t
             where e.case_id = t.case_id and e.seq >= t.from_seq returning e.*)
  insert into ledger.superseded select rid, 'case_events', to_jsonb(d) from d;

  with d as (delete from ledger.case_followups f using ledger.cases c
             where c.case_id = f.case_id and c.province = p_province and kcbx.term_ordinal(f.term) >= from_ord
             returning f.*)
  insert into ledger.superseded select rid, 'case_followups', to_jsonb(d) from d;

  with d as (delete from ledger.case_terms t using ledger.cases c
             where c.case_id = t.case_id and c.province = p_province and kcbx.term_ordinal(t.term) >= from_ord
             returning t.*)
  insert into ledger.superseded select rid, 'case_terms', to_jsonb(d) from d;

  foreach tbl in array array['unmatched_followups', 'refused_followups', 'suspect_verifications', 'swept_terms'] loop
    execute format('with d as (delete from ledger.%I where province = $1 and kcbx.term_ordinal(term) >= $2'
                   ' returning *) insert into ledger.superseded select $3, %L, to_jsonb(d) from d', tbl, tbl)
      using p_province, from_ord, rid;
  end loop;

  -- cases opened in a superseded term (a relapse among them points to a case deleted with it or an older one)
  with d as (delete from ledger.cases
             where province = p_province and kcbx.term_ordinal(opened_term) >= from_ord returning *)
  insert into ledger.superseded select rid, 'cases', to_jsonb(d) from d;

  perform set_config('kcbx.ledger_rebuild', 'off', true);
  return terms;
end $$;
revoke all on function ledger.rebuild_from(text, text, uuid) from public;

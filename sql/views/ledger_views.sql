-- Views over the ledger: the current state of each case is its latest event (so replaying events = this view).
drop view if exists report.case_ledger, restricted.case_ledger, report.case_events, report.overdue_cases,
  report.three_unified_differences, report.three_unified, ledger.case_state cascade;

create view ledger.case_state as
select c.*, e.to_status as status, e.seq as last_seq, e.term as last_term,
  case when e.to_status in ('closed', 'excluded') then e.closure_reason end as closure_reason,
  case when e.to_status in ('closed', 'excluded') then e.term end as closed_term,
  case when e.to_status in ('closed', 'excluded') then e.recorded_at::date end as closed_on,
  o.recorded_at::date as opened_on,
  t.school_id, t.is_poverty, t.household_type, t.special_groups, t.grade,
  coalesce(t.region_code, c.region_code) as current_region,
  (select f.reason from ledger.case_followups f where f.case_id = c.case_id and f.reason is not null
    order by f.recorded_on desc nulls last, f.line desc limit 1) as reason
from ledger.cases c
join lateral (select * from ledger.case_events e where e.case_id = c.case_id order by e.seq desc limit 1) e on true
join ledger.case_events o on o.case_id = c.case_id and o.seq = 1
left join lateral (select * from ledger.case_terms t where t.case_id = c.case_id
                   order by kcbx.term_ordinal(t.term) desc limit 1) t on true;

create view restricted.case_ledger as
select case_id, opened_term, case_type, status, closure_reason, closed_term, id_number, name, current_region as region_code,
  school_id, coalesce(is_poverty, false) as is_poverty, coalesce(special_groups, '{}') as special_groups, reason,
  relapse_of, province, gender, birth_date, household_type, grade, opened_on, closed_on, person_key
from ledger.case_state;

create view report.case_ledger as
select case_id, opened_term, case_type, status, closure_reason, closed_term, kcbx.mask_id(id_number) as id_number_masked,
  current_region as region_code, school_id, coalesce(is_poverty, false) as is_poverty,
  coalesce(special_groups, '{}') as special_groups, reason, relapse_of,
  kcbx.mask_name(name) as name_masked, province, gender, household_type, grade, opened_on, closed_on
from ledger.case_state;

create view report.case_events as
select e.case_id, e.seq, e.term, e.from_status, e.to_status, e.source, e.evidence, e.recorded_at, e.closure_reason,
  c.province
from ledger.case_events e join ledger.cases c using (case_id);

-- Cases still unclassified (suspected) more than `days` after their term started (分类落实 within one month).
create or replace function ledger.overdue_cases(as_of date, days int)
returns table (case_id bigint, province text, opened_term text, case_type text, region_code text, school_id text,
               days_open int) language sql stable as $$
  select s.case_id, s.province, s.opened_term, s.case_type, s.current_region, s.school_id,
         (as_of - kcbx.term_start(s.opened_term))::int
  from ledger.case_state s
  where s.status = 'suspected' and kcbx.term_start(s.opened_term) + days < as_of
$$;
create view report.overdue_cases as select * from ledger.overdue_cases(current_date, 30);

-- 三统一: per county and term, the ledger's open dropouts, the poverty office's 辍学 count, the national list.
create view report.three_unified as
with terms as (select distinct province, term from ledger.swept_terms),
ledger_side as (
  select t.province, t.term, ct.region_code, count(*) as ledger_open_dropouts,
         count(*) filter (where ct.is_poverty) as ledger_open_poverty_dropouts
  from terms t join ledger.case_terms ct on ct.term = t.term and ct.province = t.province
  where ct.case_type = 'dropout'
  group by 1, 2, 3
), poverty_side as (
  select province, term, region_code, count(*) as poverty_dropouts from core.poverty
  where school_status = '辍学' group by 1, 2, 3
), national_side as (
  select s.province, s.term, coalesce(p.region_code, left(s.id_number, 6)) as region_code, count(*) as national_suspects
  from core.national_suspects s
  left join match.person_term p on p.province = s.province and p.term = s.term and p.person_key = s.id_number
  group by 1, 2, 3
)
select coalesce(l.province, p.province, n.province) as province, coalesce(l.term, p.term, n.term) as term,
  coalesce(l.region_code, p.region_code, n.region_code) as region_code,
  coalesce(l.ledger_open_dropouts, 0) as ledger_open_dropouts,
  coalesce(l.ledger_open_poverty_dropouts, 0) as ledger_open_poverty_dropouts,
  coalesce(p.poverty_dropouts, 0) as poverty_dropouts, coalesce(n.national_suspects, 0) as national_suspects,
  coalesce(l.ledger_open_poverty_dropouts, 0) - coalesce(p.poverty_dropouts, 0) as poverty_difference
from ledger_side l
full join poverty_side p using (province, term, region_code)
full join national_side n using (province, term, region_code);

-- The persons behind every 三统一 difference (masked).
create view report.three_unified_differences as
select v.province, v.term, v.region_code, 'poverty_says_dropout_no_case' as difference,
  kcbx.mask_id(v.id_number) as id_number_masked, kcbx.mask_name(v.name) as name_masked, v.household_type,
  pt.status as person_status, null::bigint as case_id
from core.poverty v
left join match.person_term pt on pt.province = v.province and pt.term = v.term and pt.person_key = v.id_number
where v.school_status = '辍学' and not exists (
  select 1 from ledger.case_terms ct join ledger.cases c using (case_id)
  where c.province = v.province and ct.term = v.term and c.person_key = v.id_number)
union all
select c.province, ct.term, ct.region_code, 'case_but_poverty_says_in_school', kcbx.mask_id(c.id_number),
  kcbx.mask_name(c.name), v.household_type, ct.person_status, c.case_id
from ledger.case_terms ct join ledger.cases c using (case_id)
join core.poverty v on v.province = c.province and v.term = ct.term and v.id_number = c.person_key
where v.school_status = '在校'
union all
select o.province, o.term, coalesce(pt.region_code, left(s.id_number, 6)), 'national_suspect_' || o.outcome,
  kcbx.mask_id(s.id_number), kcbx.mask_name(s.name), null, o.status, sv.case_id
from match.suspect_outcomes o
join core.national_suspects s on s.province = o.province and s.term = o.term and s.file_hash = o.file_hash
  and s.line = o.line
left join match.person_term pt on pt.province = o.province and pt.term = o.term and pt.person_key = o.person_key
left join ledger.suspect_verifications sv on sv.province = o.province and sv.term = o.term
  and sv.file_hash = o.file_hash and sv.line = o.line
where o.outcome in ('found_enrolled', 'resolved');

-- Ledger rebuilds from an older term: what each one took out of the live ledger (kept in ledger.superseded).
drop view if exists report.ledger_rebuilds;
create view report.ledger_rebuilds as
select r.rebuild_id, r.province, r.from_term, r.requested_at, r.run_id, r.superseded_terms,
  coalesce((select jsonb_object_agg(table_name, n) from (select table_name, count(*) as n from ledger.superseded s
            where s.rebuild_id = r.rebuild_id group by table_name) c), '{}') as rows_superseded
from ledger.rebuilds r;

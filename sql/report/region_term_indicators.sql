-- Indicators per county, city and province for one term (formulas: docs/indicators.md).
-- A case's state "as of" the term is its latest event recorded in that term or before.
delete from report.region_term_indicators where province = :province and term = :term;
delete from report.case_breakdowns where province = :province and term = :term;

-- Each case's latest event, case term and follow-up reason as of the term, each picked from all of the province's
-- rows at once (a lookup per case, three times over 250,000 cases, took twice as long).
create temp table t_case_asof on commit drop as
with c as (
  select case_id, opened_term, relapse_of, region_code, case_type from ledger.cases
  where province = :province and kcbx.term_ordinal(opened_term) <= kcbx.term_ordinal(:term)
), e as (
  select distinct on (e.case_id) e.case_id, e.to_status, e.term from ledger.case_events e join c using (case_id)
  where kcbx.term_ordinal(e.term) <= kcbx.term_ordinal(:term)
  order by e.case_id, e.seq desc
), t as (
  select distinct on (t.case_id) t.* from ledger.case_terms t
  where t.province = :province and kcbx.term_ordinal(t.term) <= kcbx.term_ordinal(:term)
  order by t.case_id, kcbx.term_ordinal(t.term) desc
), f as (
  select distinct on (f.case_id) f.case_id, f.reason from ledger.case_followups f join c using (case_id)
  where f.reason is not null and kcbx.term_ordinal(f.term) <= kcbx.term_ordinal(:term)
  order by f.case_id, f.recorded_on desc nulls last
)
select c.case_id, c.opened_term, c.relapse_of, coalesce(t.region_code, c.region_code) as region_code,
  t.is_poverty, t.special_groups, t.household_type, t.grade, t.school_id, c.case_type,
  e.to_status as status, e.term as status_term, f.reason
from c join e using (case_id) left join t using (case_id) left join f using (case_id);

create temp table t_term_events on commit drop as
select e.case_id, e.to_status, e.term,
  case when e.to_status = 'closed' then kcbx.term_start(e.term) - kcbx.term_start(c.opened_term) end as days
from ledger.case_events e join ledger.cases c using (case_id)
where c.province = :province and e.term = :term;

create temp table t_county on commit drop as
with people as (
  select region_code,
    count(*) filter (where in_hukou and school_age and status not in ('deceased', 'moved_out')) as population,
    count(*) filter (where in_hukou and school_age and status in ('enrolled_reported', 'on_leave',
      'enrolled_elsewhere', 'home_teaching', 'completed')) as enrolled,
    count(*) filter (where in_hukou and school_age and status = 'exempt') as exempted,
    count(*) filter (where status in ('enrolled_reported', 'enrolled_not_reported', 'on_leave', 'needs_review'))
      as registered
  from match.person_term where province = :province and term = :term and region_code is not null
  group by region_code
), cases as (
  select a.region_code,
    count(*) filter (where a.opened_term = :term) as new_cases,
    count(*) filter (where a.status not in ('closed', 'excluded')) as open_cases,
    count(*) filter (where a.status not in ('closed', 'excluded') and a.case_type = 'dropout') as open_dropouts,
    count(*) filter (where a.opened_term = :term and a.relapse_of is not null) as relapses,
    count(*) filter (where a.status not in ('closed', 'excluded') and a.is_poverty) as poverty_open,
    count(*) filter (where a.status not in ('closed', 'excluded') and cardinality(a.special_groups) > 0) as special_open,
    count(*) filter (where a.status = 'suspected'
      and kcbx.term_start(a.opened_term) + :overdue_days < least(current_date, kcbx.term_start(:next_term)))
      as overdue
  from t_case_asof a group by a.region_code
), moves as (
  select coalesce(a.region_code, c.region_code) as region_code,
    count(*) filter (where e.to_status = 'closed') as closed_cases,
    count(*) filter (where e.to_status = 'confirmed') as confirmed_cases,
    count(*) filter (where e.to_status = 'returned') as returned_cases,
    count(*) filter (where e.to_status = 'excluded') as excluded_cases
  from t_term_events e join ledger.cases c using (case_id) left join t_case_asof a using (case_id)
  group by 1
)
select coalesce(p.region_code, k.region_code, m.region_code) as county,
  coalesce(p.population, 0) as population, coalesce(p.enrolled, 0) as enrolled, coalesce(p.exempted, 0) as exempted,
  coalesce(p.registered, 0) as registered, coalesce(k.new_cases, 0) as new_cases,
  coalesce(k.open_cases, 0) as open_cases, coalesce(k.open_dropouts, 0) as open_dropouts,
  coalesce(k.relapses, 0) as relapses, coalesce(k.poverty_open, 0) as poverty_open,
  coalesce(k.special_open, 0) as special_open, coalesce(k.overdue, 0) as overdue,
  coalesce(m.closed_cases, 0) as closed_cases, coalesce(m.confirmed_cases, 0) as confirmed_cases,
  coalesce(m.returned_cases, 0) as returned_cases, coalesce(m.excluded_cases, 0) as excluded_cases
from people p full join cases k using (region_code) full join moves m using (region_code);

-- the regions each county counts in: itself, its city, its province
create temp table t_region_levels on commit drop as
select t.county, l.level, l.code
from t_county t
cross join lateral (values ('county', t.county), ('city', left(t.county, 4) || '00'),
                           ('province', left(t.county, 2) || '0000')) l(level, code);

-- median days to closure per region, in one pass (not one scan of the cases per region)
create temp table t_median_days on commit drop as
select l.level, l.code, percentile_cont(0.5) within group (order by e.days)::numeric as median_days
from t_term_events e join t_case_asof a using (case_id) join t_region_levels l on l.county = a.region_code
where e.to_status = 'closed'
group by l.level, l.code;

insert into report.region_term_indicators (term, region_level, region_code, school_age_population,
  registered_students, enrollment_rate, consolidation_rate, new_cases, open_cases, closed_cases, relapses,
  poverty_open_cases, special_group_open_cases, province, enrolled, exempted, confirmed_cases, returned_cases,
  excluded_cases, open_dropouts, median_days_to_closure, overdue_cases)
select :term, level, code, sum(population), sum(registered),
  -- 入学率: enrolled school-age children / (school-age population − exempted); NULL where nobody is of school age
  round(sum(enrolled)::numeric / nullif(sum(population) - sum(exempted), 0), 5),
  -- 巩固率 (approximation, see docs/indicators.md): 1 − open dropouts / registered students, within [0, 1]
  case when sum(registered) > 0 then round(greatest(0, 1 - sum(open_dropouts)::numeric / sum(registered)), 5) end,
  sum(new_cases), sum(open_cases), sum(closed_cases), sum(relapses), sum(poverty_open), sum(special_open),
  :province, sum(enrolled), sum(exempted), sum(confirmed_cases), sum(returned_cases), sum(excluded_cases),
  sum(open_dropouts), max(m.median_days), sum(overdue)
from t_county t join t_region_levels using (county)
left join t_median_days m using (level, code)
where left(code, 2) = :province
group by level, code;

-- the cases grouped by everything the breakdowns count them by, then each group counted under each dimension (five
-- or more rows per case, counted one by one, took three times as long)
insert into report.case_breakdowns (province, term, region_code, dimension, value, open_cases, new_cases, closed_cases)
with g as (
  select region_code, case_type, reason, household_type, grade, school_id, special_groups,
    count(*) filter (where status not in ('closed', 'excluded')) as open_cases,
    count(*) filter (where opened_term = :term) as new_cases,
    count(*) filter (where status = 'closed' and status_term = :term) as closed_cases
  from t_case_asof
  where region_code is not null
  group by region_code, case_type, reason, household_type, grade, school_id, special_groups
)
select :province, :term, region_code, dimension, value, sum(open_cases), sum(new_cases), sum(closed_cases)
from (
  select g.*, d.dimension, d.value
  from g
  cross join lateral (values ('case_type', g.case_type), ('reason', coalesce(g.reason, '未分类')),
                             ('household_type', coalesce(g.household_type, '非脱贫户')),
                             ('grade', coalesce(g.grade::text, '无')), ('school', coalesce(g.school_id, '无')))
    as d(dimension, value)
  union all
  select g.*, 'special_group', x from g cross join unnest(g.special_groups) x
) x
group by region_code, dimension, value;

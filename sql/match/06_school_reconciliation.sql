-- School-level three-way count (三比对): registry count, last term's reported count, this term's reported count.
--   unexplained_difference = registry_count − reported_count
--       − dropouts_listed (registered here, reported nowhere: dropout findings)
--       − review_listed (registered here, waiting for a person to resolve an ambiguous roster row)
--       − reported_elsewhere (registered here, reported in another school's roster)
--       + registered_elsewhere (reported here, registered at another school)
--       + unregistered_listed (reported here, no registry row: 人在籍不在)
--       + ambiguous roster rows here (waiting for review)
-- With every discrepancy listed person by person it is 0; anything else needs explaining.
-- Run after matching has committed, in a transaction of its own, on the work tables matching left (the sweep runs it
-- beside the ledger: pipelines/match.py, reconcile_schools).

-- the pupils registered 在读 at each school of the province, once per school: a pupil with one registry row is
-- that row; of a pupil with several, 01 marked the first row at each school (first_at_school). A view: copying
-- nearly ten million rows cost 6–7 s
create view t_school_reg as
select school_id, person_key, left(school_region_code, 6) as region_code
from t_reg
where in_province and registry_status = '在读' and first_at_school;

-- Nearly every registered pupil is reported by the school that registers him. So one join pairs registrations
-- and roster rows by pupil and school, and keeps only what it cannot pair (t_unpaired): registrations with no roster
-- row at their school, and roster rows whose pupil is not registered at theirs (a pupil listed twice by a school
-- is paired on both rows). The counts follow from those few rows and from plain counts per school: a registration
-- not reported at its school is reported elsewhere when its pupil has a roster line somewhere, and waits for review
-- when he has none and is in the review queue. (Hashing ten million rows once instead of twice: the pupils reported
-- elsewhere were once counted by joining every registration to every pupil's first roster line.)
create unlogged table t_unpaired as
select r.school_id as reg_school, r.person_key as reg_person, t.school_id as roster_school
from t_reported t
full join t_school_reg r on r.person_key = t.person_key and r.school_id = t.school_id
where t.person_key is null or r.person_key is null;
analyze t_unpaired;

-- Counted into a work table first: an INSERT … SELECT runs serial, a CREATE TABLE … AS runs in parallel workers.
create unlogged table t_school_counts as
with reg_side as (
  select r.school_id, count(*) as registry_count, min(r.region_code) as region_code,
    count(*) filter (where f.person_key is not null) as dropouts_listed
  from t_school_reg r
  left join match.findings f on f.province = :province and f.term = :term and f.person_key = r.person_key
    and f.case_type = 'dropout'
  group by r.school_id
), not_reported_here as (
  select u.reg_school as school_id,
    count(*) filter (where rep.person_key is not null) as reported_elsewhere,
    count(*) filter (where v.person_key is not null and rep.person_key is null) as review_listed
  from t_unpaired u
  left join t_reported rep on rep.person_key = u.reg_person and rep.first_line
  left join t_review v on v.person_key = u.reg_person
  where u.reg_person is not null
  group by u.reg_school
), roster_unpaired as (
  select roster_school as school_id, count(*) as n
  from t_unpaired where reg_person is null
  group by roster_school
), roster_side as (
  select school_id, count(*) as reported_count from t_roster_rows where school_id is not null group by school_id
), ambiguous as (
  -- the rows waiting for review: rows of t_roster_open (02) no key matched
  select school_id, count(*) as n from t_roster_open o
  where o.person_key is null and o.school_id is not null and o.line in (select line from t_roster_name where n > 1)
  group by school_id
), unregistered as (
  select school_id, count(*) as n from match.unregistered_attendees
  where province = :province and term = :term group by 1
), last_term_counted as (
  -- the previous term's reconciliation counted its roster already (reported_count, the same rows), if that roster
  -- is still the one published for the term (0230_school_reconciliation_roster_file.sql)
  select school_id, reported_count from report.school_reconciliation
  where province = :province and term = :prev_term
    and roster_file_hash = (select file_hash from core.roster where province = :province and term = :prev_term limit 1)
), last_term as (
  select school_id, reported_count as n from last_term_counted where reported_count > 0
  union all
  -- else counted here (when they were counted, the condition is checked once and no roster row is read).
  -- report_status spelled out: with a coalesce the planner expected 0.5 % of the rows and sorted all ten million
  -- to group them (9.0 s against 2.9 s hashed)
  select school_id, count(*) from core.roster
  where province = :province and term = :prev_term and (report_status is null or report_status = '已报到')
    and not exists (select from last_term_counted)
  group by 1
)
-- each count once, zero where a side has none; the difference is then the formula at the top of this file
select :term as term, school_id, registry_count, last_term_count, reported_count,
  registry_count - reported_count - dropouts_listed - review_listed - reported_elsewhere + registered_elsewhere
    + unregistered_listed + ambiguous_rows as unexplained_difference,
  :province as province, region_code, dropouts_listed, review_listed, unregistered_listed, reported_elsewhere,
  registered_elsewhere, (select roster from t_files) as roster_file_hash
from (
  select s.school_id, g.region_code, l.n as last_term_count, coalesce(g.registry_count, 0) as registry_count,
    coalesce(o.reported_count, 0) as reported_count, coalesce(g.dropouts_listed, 0) as dropouts_listed,
    coalesce(n.review_listed, 0) as review_listed, coalesce(n.reported_elsewhere, 0) as reported_elsewhere,
    coalesce(e.n, 0) as registered_elsewhere, coalesce(u.n, 0) as unregistered_listed,
    coalesce(a.n, 0) as ambiguous_rows
  from (select school_id from reg_side union select school_id from roster_side) s
  left join reg_side g using (school_id)
  left join roster_side o using (school_id)
  left join ambiguous a using (school_id)
  left join not_reported_here n using (school_id)
  left join roster_unpaired e using (school_id)
  left join unregistered u using (school_id)
  left join last_term l using (school_id)
) c;

insert into report.school_reconciliation (term, school_id, registry_count, last_term_count, reported_count,
  unexplained_difference, province, region_code, dropouts_listed, review_listed, unregistered_listed,
  reported_elsewhere, registered_elsewhere, roster_file_hash)
select term, school_id, registry_count, last_term_count, reported_count, unexplained_difference, province,
  region_code, dropouts_listed, review_listed, unregistered_listed, reported_elsewhere, registered_elsewhere,
  roster_file_hash
from t_school_counts;

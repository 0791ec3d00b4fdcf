-- Findings of the term, one per school-age person, the most specific type winning:
--   dropout           (名在人不在) enrolled (在读) in the province, reported in no roster
--   non_continuation  (小学毕业未升学) a primary graduate of the last three years with no junior-high enrollment
--   out_of_school     (适龄失学) in hukou, no active registry row anywhere
-- Comparison 3 and the special-group check mark each finding with the poverty household and the groups.

-- the people who may be a finding: of school age, and in school by no account
create unlogged table t_candidate as
select p.person_key, p.id_number, p.id_valid, p.name, p.gender, p.birth_date, p.region_code, p.school_id, p.grade,
  p.status, p.in_hukou, p.match_method,
  match.status_evidence(p, (select registry from t_files), (select roster from t_files)) as evidence,
  p.primary_graduate, p.in_junior_high,
  coalesce(p.id_number, p.person_key) as list_key  -- what the poverty and special-group lists know the child by
from match.person_term p
where p.province = :province and p.term = :term and p.school_age
  and p.status in ('enrolled_not_reported', 'not_enrolled', 'transferred_out');
analyze t_candidate;

-- those of them who are primary graduates of the last three years
create unlogged table t_graduate as
select id_number from core.graduates
where province = :province and term = :term and graduation_year between :school_year - 2 and :school_year
  and id_number in (select person_key from t_candidate)
group by id_number;
analyze t_graduate;

-- This table becomes the term's partition of match.findings (its columns are that table's, in order, with their
-- types), as t_person did match.person_term's in 03: a CREATE TABLE … AS runs its query in parallel workers and
-- writes the rows once, without WAL (an INSERT into match.findings wrote them one by one, with the WAL and the key of
-- each: sql/migrations/0260). The poverty and special-group lists are grouped for the candidates only, a few
-- percent of their rows.
create table t_findings with (autovacuum_enabled = false) as
select cast(:province as text) as province, cast(:term as text) as term, f.person_key, f.case_type, f.id_number,
  f.id_valid, f.name, f.gender, f.birth_date, f.region_code, f.school_id, f.grade,
  pov.household_type is not null as is_poverty, pov.household_type, coalesce(sg.groups, '{}') as special_groups,
  f.match_method, f.evidence, f.status as person_status
from (
  select c.*, case
      when c.status = 'enrolled_not_reported' then 'dropout'
      when (c.primary_graduate or g.id_number is not null) and not c.in_junior_high then 'non_continuation'
      when c.in_hukou then 'out_of_school'
    end as case_type
  from t_candidate c
  left join t_graduate g on g.id_number = c.person_key
) f
left join (
  select id_number, min(household_type) as household_type from core.poverty
  where province = :province and term = :term and id_number in (select list_key from t_candidate) group by 1
) pov on pov.id_number = f.list_key
left join (
  select id_number, array_agg(distinct category order by category) as groups from core.special_groups
  where province = :province and term = :term and id_number in (select list_key from t_candidate) group by 1
) sg on sg.id_number = f.list_key
where f.case_type is not null;

-- in place of the term's previous partition, indexed and analyzed there, for the ledger that joins these findings next
select core.attach_work_table('match.findings', :province, :term, 't_findings');

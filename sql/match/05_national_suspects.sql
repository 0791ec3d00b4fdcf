-- National suspected-dropout list (国家平台下发疑似辍学名单): every row gets a verification outcome.
--   finding         the child already has a finding this term (the case carries the suspect row)
--   found_enrolled  reported in a roster, on approved leave, or enrolled in another province
--   resolved        deceased, exempt, home teaching, completed grade 9, aged out
--   new_case        none of these: a national_suspect finding opens a case
-- A suspect row is the person with the same ID number, else the only person with the same name, and the birth date
-- and gender of its ID number.
create unlogged table t_suspect_row as
select s.*, kcbx.id_birth_date(s.id_number) as id_birth_date, kcbx.id_gender(s.id_number) as id_gender,
  p1.person_key as by_id
from core.national_suspects s
left join match.person_term p1 on p1.province = :province and p1.term = :term and p1.person_key = s.id_number
where s.province = :province and s.term = :term;
analyze t_suspect_row;

-- the people of this term with the name, birth date and gender of a suspect that no ID number found
create unlogged table t_suspect_by_name as
select p.name_key, p.birth_date, p.gender, min(p.person_key) as person_key, count(*) as n
from match.person_term p
where p.province = :province and p.term = :term
  and exists (select 1 from t_suspect_row s where s.by_id is null and s.name_key = p.name_key
              and s.id_birth_date = p.birth_date and s.id_gender = p.gender)
group by 1, 2, 3;

create unlogged table t_suspect as
select s.*, coalesce(s.by_id, n.person_key, s.id_number) as person_key
from t_suspect_row s
left join t_suspect_by_name n on s.by_id is null and n.n = 1 and n.name_key = s.name_key
  and n.birth_date = s.id_birth_date and n.gender = s.id_gender;
analyze t_suspect;

insert into match.suspect_outcomes (province, term, file_hash, line, batch_no, person_key, outcome, status, case_type)
select :province, :term, s.file_hash, s.line, s.batch_no, s.person_key,
  case when f.person_key is not null then 'finding'
       when pt.status in ('enrolled_reported', 'on_leave', 'enrolled_elsewhere') then 'found_enrolled'
       when pt.status in ('deceased', 'exempt', 'home_teaching', 'completed', 'aged_out') then 'resolved'
       else 'new_case' end,
  pt.status, coalesce(f.case_type, case when f.person_key is null and coalesce(pt.status, '') not in
    ('enrolled_reported', 'on_leave', 'enrolled_elsewhere', 'deceased', 'exempt', 'home_teaching', 'completed',
     'aged_out') then 'national_suspect' end)
from t_suspect s
left join match.findings f on f.province = :province and f.term = :term and f.person_key = s.person_key
left join match.person_term pt on pt.province = :province and pt.term = :term and pt.person_key = s.person_key;

insert into match.findings (province, term, person_key, case_type, id_number, id_valid, name, gender, birth_date,
  region_code, school_id, grade, is_poverty, household_type, special_groups, match_method, evidence, person_status)
select distinct on (o.person_key) :province, :term, o.person_key, 'national_suspect', s.id_number, s.id_valid,
  coalesce(pt.name, s.name), coalesce(pt.gender, kcbx.id_gender(s.id_number)),
  coalesce(pt.birth_date, kcbx.id_birth_date(s.id_number)),
  coalesce(pt.region_code, left(s.id_number, 6)), pt.school_id, pt.grade,
  exists (select 1 from core.poverty v where v.province = :province and v.term = :term and v.id_number = s.id_number),
  (select min(household_type) from core.poverty v where v.province = :province and v.term = :term
     and v.id_number = s.id_number),
  coalesce((select array_agg(distinct category order by category) from core.special_groups g
     where g.province = :province and g.term = :term and g.id_number = s.id_number), '{}'),
  coalesce(pt.match_method, 'national_list'),
  jsonb_build_object('source', 'national_suspects', 'file_hash', s.file_hash, 'line', s.line, 'batch_no', s.batch_no),
  pt.status
from match.suspect_outcomes o
join t_suspect s on s.file_hash = o.file_hash and s.line = o.line
left join match.person_term pt on pt.province = :province and pt.term = :term and pt.person_key = o.person_key
where o.province = :province and o.term = :term and o.outcome = 'new_case'
order by o.person_key, s.line;

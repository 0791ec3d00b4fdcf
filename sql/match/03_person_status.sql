-- One status per person this term (see docs/matching.md for the order, which decides ties):
-- deceased → reported in a roster → completed grade 9 → on leave (休学) → enrolled elsewhere (another province)
-- → home teaching / exempt (approval valid on the term's first day) → needs review → enrolled but not reported
-- → moved out (户籍迁出) → transferred out only (转出) → not enrolled. Over the school-age limit, a child who
-- would be a finding is aged_out instead.

create temp table t_reg_flags on commit drop as
select person_key,
  bool_or(registry_status = '死亡') as dead,
  bool_or(in_province and registry_status = '在读') as enrolled_here,
  bool_or(registry_status = '休学') as on_leave,
  bool_or(not in_province and registry_status in ('在读', '休学')) as elsewhere,
  bool_or(registry_status = '毕业' and grade = 9) as completed,
  bool_or(registry_status = '毕业' and grade = 6) as primary_graduate,
  bool_or(registry_status in ('在读', '休学') and grade >= 7) as in_junior_high,
  bool_or(registry_status = '转出') as transferred,
  bool_or(in_province) as any_in_province,
  bool_or(id_valid) as id_valid
from t_reg group by person_key;
analyze t_reg_flags;

-- the row that speaks for the pupil: an in-province 在读 row first, then 休学, then the first line
create temp table t_reg_person on commit drop as
select f.*, b.school_id, b.grade, b.school_region_code as school_region, b.match_method, b.id_number, b.name,
  b.name_key, b.gender, b.birth_date,
  jsonb_build_object('source', 'registry', 'file_hash', b.file_hash, 'line', b.line, 'school_id', b.school_id,
                     'registry_status', b.registry_status) as evidence
from t_reg_flags f
join (select distinct on (person_key) * from t_reg
      order by person_key, (in_province and registry_status = '在读') desc, (registry_status = '休学') desc, line) b
  using (person_key);
create index on t_reg_person (person_key);
analyze t_reg_person;

create temp table t_reported on commit drop as
select person_key, (array_agg(jsonb_build_object('source', 'roster', 'file_hash', file_hash, 'line', line,
                    'school_id', school_id, 'match_method', match_method) order by line))[1] as evidence
from t_roster where person_key is not null group by person_key;
create index on t_reported (person_key);
analyze t_reported;

create temp table t_review on commit drop as
select distinct person_key from t_roster_name where n > 1;
analyze t_review;

create temp table t_exempt on commit drop as
select e.id_number, bool_or(e.kind = '送教上门') as home_teaching,
       (array_agg(jsonb_build_object('source', 'exemptions', 'term', e.term, 'file_hash', e.file_hash, 'line', e.line,
         'kind', e.kind, 'valid_until', e.valid_until) order by e.approved_on desc))[1] as evidence
from core.exemptions e
where e.province = :province and kcbx.term_ordinal(e.term) <= kcbx.term_ordinal(:term)
  and e.id_number is not null and e.approved_on <= :term_start and coalesce(e.valid_until, 'infinity') >= :term_start
group by e.id_number;
analyze t_exempt;

create temp table t_dead_before on commit drop as
select distinct id_number from core.hukou
where province = :province and hukou_status = '死亡' and kcbx.term_ordinal(term) <= kcbx.term_ordinal(:term)
union
select distinct coalesce(id_number, 'XJ:' || student_no) from core.registry
where province = :province and registry_status = '死亡' and kcbx.term_ordinal(term) < kcbx.term_ordinal(:term);
analyze t_dead_before;

create temp table t_graduate on commit drop as
select distinct id_number from core.graduates
where province = :province and term = :term and id_number is not null
  and graduation_year between :school_year - 2 and :school_year;
analyze t_graduate;

create temp table t_person on commit drop as
select k.person_key,
  coalesce(h.id_number, r.id_number) as id_number, coalesce(h.id_valid, r.id_valid) as id_valid,
  coalesce(h.name, r.name) as name, coalesce(h.name_key, r.name_key) as name_key,
  coalesce(h.gender, r.gender) as gender, coalesce(h.birth_date, r.birth_date) as birth_date,
  kcbx.age_on(coalesce(h.birth_date, r.birth_date), :age_cutoff) as age,
  coalesce(h.region_code, left(r.school_region, 6)) as region_code,
  r.school_id, r.grade, h.id_number is not null as in_hukou, h.hukou_status,
  coalesce(r.dead, false) or d.id_number is not null or h.hukou_status = '死亡' as dead,
  coalesce(r.enrolled_here, false) as enrolled_here, coalesce(r.on_leave, false) as on_leave,
  coalesce(r.elsewhere, false) as elsewhere, coalesce(r.completed, false) as completed,
  coalesce(r.primary_graduate, false) or g.id_number is not null as primary_graduate,
  coalesce(r.in_junior_high, false) as in_junior_high, coalesce(r.transferred, false) as transferred,
  rep.evidence as reported_evidence, rv.person_key is not null as in_review,
  x.home_teaching, x.evidence as exemption_evidence,
  r.evidence as registry_evidence, coalesce(r.match_method, 'hukou') as match_method
from (select id_number as person_key from t_hukou union select person_key from t_reg_person where any_in_province) k
left join t_hukou h on h.id_number = k.person_key
left join t_reg_person r on r.person_key = k.person_key
left join t_reported rep on rep.person_key = k.person_key
left join t_review rv on rv.person_key = k.person_key
left join t_exempt x on x.id_number = k.person_key
left join t_dead_before d on d.id_number = k.person_key
left join t_graduate g on g.id_number = k.person_key;
analyze t_person;

insert into match.person_term (province, term, person_key, id_number, id_valid, name, name_key, gender, birth_date,
  age, region_code, school_id, grade, in_hukou, school_age, status, status_evidence, match_method)
select :province, :term, person_key, id_number, id_valid, name, name_key, gender, birth_date, age, region_code,
  school_id, grade, in_hukou, coalesce(age between :age_min and :age_max, false),
  case when base in ('enrolled_not_reported', 'not_enrolled', 'transferred_out') and age > :age_max
       then 'aged_out' else base end,
  case base when 'enrolled_reported' then reported_evidence
            when 'exempt' then exemption_evidence when 'home_teaching' then exemption_evidence
            else coalesce(registry_evidence, jsonb_build_object('source', 'hukou')) end,
  match_method
from (
  select p.*, case
    when dead then 'deceased'
    when reported_evidence is not null then 'enrolled_reported'
    when completed and not (enrolled_here or on_leave or elsewhere) then 'completed'
    when on_leave then 'on_leave'
    when elsewhere then 'enrolled_elsewhere'
    when home_teaching then 'home_teaching'
    when exemption_evidence is not null then 'exempt'
    when in_review then 'needs_review'
    when enrolled_here then 'enrolled_not_reported'
    when hukou_status = '迁出' then 'moved_out'
    when transferred then 'transferred_out'
    else 'not_enrolled' end as base
  from t_person p
) s;

-- the findings and the ledger join this term's rows next
analyze match.person_term;

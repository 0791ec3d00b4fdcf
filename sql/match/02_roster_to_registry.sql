-- Comparison 2 groundwork: which registry pupils were reported (已报到) in a roster this term.
-- A roster row is the pupil with the same ID number; else the same 全国学籍号; else the only pupil of the same
-- school with the same name who was not already matched by a stronger key. Two or more candidates: the roster row
-- goes to the review queue (never chosen automatically) and the candidates get status needs_review.
-- Reported rows matching nobody are 人在籍不在: listed for the school, not a dropout.

create temp table t_roster on commit drop as
select ro.*, coalesce(by_id.person_key, by_key.person_key, by_xj.person_key) as person_key,
  case when coalesce(by_id.person_key, by_key.person_key) is not null then 'id'
       when by_xj.person_key is not null then 'student_no' end as match_method
from core.roster ro
left join (select distinct on (id_number) id_number, person_key from t_reg where id_number is not null
           order by id_number, in_province desc, person_key) by_id on by_id.id_number = ro.id_number
left join (select distinct person_key from t_reg) by_key
  on by_id.person_key is null and by_key.person_key = ro.id_number
left join (select distinct on (student_no) student_no, person_key from t_reg where student_no is not null
           order by student_no, in_province desc, person_key) by_xj
  on by_id.person_key is null and by_key.person_key is null and by_xj.student_no = ro.student_no
where ro.province = :province and ro.term = :term and coalesce(ro.report_status, '已报到') = '已报到';
analyze t_roster;

create temp table t_roster_name on commit drop as
with open_pupils as (
  select distinct r.person_key, r.school_id, r.name_key
  from t_reg r
  where r.in_province and r.registry_status in ('在读', '休学')
    and not exists (select 1 from t_roster x where x.person_key = r.person_key)
)
select ro.line, ro.file_hash, p.person_key, count(*) over (partition by ro.line) as n
from t_roster ro join open_pupils p on p.school_id = ro.school_id and p.name_key = ro.name_key
where ro.person_key is null;
analyze t_roster_name;

update t_roster ro set person_key = c.person_key, match_method = 'name_in_school'
from t_roster_name c where c.line = ro.line and c.n = 1;

insert into match.review_queue (province, term, source, file_hash, line, reason, candidates)
select :province, :term, 'roster', file_hash, line, 'ambiguous_name_in_school',
       jsonb_agg(jsonb_build_object('person_key', person_key) order by person_key)
from t_roster_name where n > 1
group by file_hash, line;

insert into match.unregistered_attendees (province, term, school_id, file_hash, line, id_number, name, student_no)
select :province, :term, ro.school_id, ro.file_hash, ro.line, ro.id_number, ro.name, ro.student_no
from t_roster ro
where ro.person_key is null and not exists (select 1 from t_roster_name c where c.line = ro.line and c.n > 1);


-- Comparison 2 groundwork: which registry pupils were reported (已报到) in a roster this term.
-- A roster row is the pupil with the same ID number; else the same 全国学籍号; else the only pupil of the same
-- school with the same name who was not already matched by a stronger key. Two or more candidates: the roster row
-- goes to the review queue (never chosen automatically) and the candidates get status needs_review.
-- Reported rows matching nobody are 人在籍不在: listed for the school, not a dropout.

-- by ID number: nearly every row. An ID number that found its hukou child is that person's key (01's
-- matched_by_id: one row per person, no grouping of ten million rows); the few other ID numbers, held by registry
-- rows with no hukou child of that number, are grouped first (several rows: the in-province pupil first), so that
-- both joins run in the parallel workers.
create unlogged table t_other_id as
select id_number, coalesce(min(person_key) filter (where in_province), min(person_key)) as person_key
from t_reg where id_number is not null and match_method <> 'id' group by id_number;
analyze t_other_id;

create unlogged table t_roster as
select ro.line, ro.school_id, ro.student_no, ro.id_number, ro.name, ro.name_key,
  coalesce(by_id.person_key, other_id.person_key) as person_key,
  case when coalesce(by_id.person_key, other_id.person_key) is not null then 'id' end as match_method,
  -- whether the row is its pupil's first, and the pupil's first at its school: true for a pupil on one row; 03
  -- sets them on the rows of pupils on several (values computed once: see speaks in 01's t_reg)
  (select true) as first_line, (select true) as first_at_school
from core.roster ro
left join t_reg_person by_id on by_id.person_key = ro.id_number and by_id.matched_by_id
left join t_other_id other_id on other_id.id_number = ro.id_number
-- (report_status spelled out, not coalesced: the planner estimates a coalesce as matching 0.5 % of the rows)
where ro.province = :province and ro.term = :term and (ro.report_status is null or ro.report_status = '已报到');

-- The rows no ID number matched are few. They are found once (by parallel workers), with their place in t_roster
-- (ctid), for the weaker keys and the lists below; t_roster is updated at their places (see t_reg_open in 01).
create unlogged table t_roster_open as
select ro.ctid as row_id, ro.line, ro.school_id, ro.student_no, ro.id_number, ro.name, ro.name_key
from t_roster ro where ro.person_key is null;
analyze t_roster_open;

-- an ID number that is a pupil's key (a registry row with a mistyped ID that matched its hukou child by 学籍号 or
-- name; not a hukou child's own row, which is no pupil), else the same 全国学籍号
create unlogged table t_roster_found as
select o.row_id, coalesce(k.person_key, x.person_key) as person_key,
  case when k.person_key is not null then 'id' else 'student_no' end as match_method
from t_roster_open o
left join (select distinct person_key from t_reg
           where line is not null and person_key in (select id_number from t_roster_open)) k
  on k.person_key = o.id_number
left join (select student_no, coalesce(min(person_key) filter (where in_province), min(person_key)) as person_key
           from t_reg where student_no in (select student_no from t_roster_open) group by student_no) x
  on x.student_no = o.student_no
where coalesce(k.person_key, x.person_key) is not null;

update t_roster ro set person_key = f.person_key, match_method = f.match_method
from t_roster_found f where ro.ctid = f.row_id;
analyze t_roster;

-- else the only pupil of the school with the same name who is not reported already
create unlogged table t_roster_name as
with open_pupils as (
  select distinct r.person_key, r.school_id, r.name_key
  from t_reg r
  where r.in_province and r.registry_status in ('在读', '休学')
    and not exists (select 1 from t_roster x where x.person_key = r.person_key)
)
select o.line, o.row_id, p.person_key, count(*) over (partition by o.line) as n
from t_roster_open o join open_pupils p on p.school_id = o.school_id and p.name_key = o.name_key
where not exists (select 1 from t_roster_found f where f.row_id = o.row_id);
analyze t_roster_name;

update t_roster ro set person_key = c.person_key, match_method = 'name_in_school'
from t_roster_name c where ro.ctid = c.row_id and c.n = 1;

insert into match.review_queue (province, term, source, file_hash, line, reason, candidates)
select :province, :term, 'roster', (select roster from t_files), line, 'ambiguous_name_in_school',
       jsonb_agg(jsonb_build_object('person_key', person_key) order by person_key)
from t_roster_name where n > 1
group by line;

-- the rows no key matched, but those waiting for review: 人在籍不在
insert into match.unregistered_attendees (province, term, school_id, file_hash, line, id_number, name, student_no)
select :province, :term, o.school_id, (select roster from t_files), o.line, o.id_number, o.name, o.student_no
from t_roster_open o
where not exists (select 1 from t_roster_found f where f.row_id = o.row_id)
  and not exists (select 1 from t_roster_name c where c.row_id = o.row_id);

-- Comparison 2 groundwork: which registry pupils were reported (已报到) in a roster this term.
-- A roster row is the pupil with the same ID number; else the same 全国学籍号; else the only pupil of the same
-- school with the same name who was not already matched by a stronger key. Two or more candidates: the roster row
-- goes to the review queue (never chosen automatically) and the candidates get status needs_review.
-- Reported rows matching nobody are 人在籍不在: listed for the school, not a dropout.

-- by ID number: nearly every row. A roster row whose ID number is the key of a person a registry row found by that
-- number (01's matched_by_id) reports that person, under that key. So the roster rows are not copied with their
-- person (ten million rows written by one process: most of this step's 20–27 s): t_roster is a view of the
-- term's roster, and only the rows it does not settle so are listed, in t_roster_open (few), with the key found
-- for each below (null: none). Finding them is one parallel anti-join, which writes nothing but those rows.
create view t_roster_rows as
select ro.line, ro.school_id, ro.student_no, ro.id_number, ro.name, ro.name_key
from core.roster ro
-- (report_status spelled out, not coalesced: the planner estimates a coalesce as matching 0.5 % of the rows)
where ro.province = :province and ro.term = :term and (ro.report_status is null or ro.report_status = '已报到');

create unlogged table t_roster_open as
select ro.line, ro.school_id, ro.student_no, ro.id_number, ro.name, ro.name_key,
  cast(null as text) as person_key, cast(null as text) as match_method
from t_roster_rows ro
where not exists (select 1 from t_reg_person p where p.matched_by_id and p.person_key = ro.id_number);
analyze t_roster_open;

-- each roster row with its pupil's key (null: none) and how it was found; 03 adds whether the row is its pupil's
-- first (t_reported)
create view t_roster as
select ro.line, ro.school_id, ro.student_no, ro.id_number, ro.name, ro.name_key,
  case when o.line is null then ro.id_number else o.person_key end as person_key,
  case when o.line is null then 'id' else o.match_method end as match_method
from t_roster_rows ro
left join t_roster_open o on o.line = ro.line;

-- the open rows' keys: an ID number some registry rows have although no hukou child does (grouped: several rows,
-- the in-province pupil first); else an ID number that is a pupil's key (a registry row with a mistyped ID that
-- matched its hukou child by 学籍号 or name; not a hukou child's own row, which is no pupil); else the same
-- 全国学籍号. Found into a table of their own first, by parallel workers: each lookup reads t_reg (none when no
-- row is open), and an UPDATE runs in one process.
create unlogged table t_roster_found as
select o.line, coalesce(i.person_key, k.person_key, x.person_key) as person_key,
  case when coalesce(i.person_key, k.person_key) is not null then 'id' else 'student_no' end as match_method
from t_roster_open o
left join (select id_number, coalesce(min(person_key) filter (where in_province), min(person_key)) as person_key
           from t_reg where match_method <> 'id' and id_number in (select id_number from t_roster_open)
           group by id_number) i
  on i.id_number = o.id_number
left join (select distinct person_key from t_reg
           where line is not null and person_key in (select id_number from t_roster_open)) k
  on k.person_key = o.id_number
left join (select student_no, coalesce(min(person_key) filter (where in_province), min(person_key)) as person_key
           from t_reg where student_no in (select student_no from t_roster_open) group by student_no) x
  on x.student_no = o.student_no
where coalesce(i.person_key, k.person_key, x.person_key) is not null;

update t_roster_open o set person_key = f.person_key, match_method = f.match_method
from t_roster_found f where o.line = f.line;
analyze t_roster_open;

-- else the only pupil of the school with the same name who is not reported already
create unlogged table t_roster_name as
with open_pupils as (
  select distinct r.person_key, r.school_id, r.name_key
  from t_reg r
  where r.in_province and r.registry_status in ('在读', '休学')
    and not exists (select 1 from t_roster x where x.person_key = r.person_key)
)
select o.line, p.person_key, count(*) over (partition by o.line) as n
from t_roster_open o join open_pupils p on p.school_id = o.school_id and p.name_key = o.name_key
where o.person_key is null;
analyze t_roster_name;

update t_roster_open o set person_key = c.person_key, match_method = 'name_in_school'
from t_roster_name c where o.line = c.line and c.n = 1;

insert into match.review_queue (province, term, source, file_hash, line, reason, candidates)
select :province, :term, 'roster', (select roster from t_files), line, 'ambiguous_name_in_school',
       jsonb_agg(jsonb_build_object('person_key', person_key) order by person_key)
from t_roster_name where n > 1
group by line;

-- the rows no key matched, but those waiting for review: 人在籍不在
insert into match.unregistered_attendees (province, term, school_id, file_hash, line, id_number, name, student_no)
select :province, :term, o.school_id, (select roster from t_files), o.line, o.id_number, o.name, o.student_no
from t_roster_open o
where o.person_key is null and not exists (select 1 from t_roster_name c where c.line = o.line);

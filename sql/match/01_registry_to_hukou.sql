-- Comparison 1 groundwork: give every registry row of the term a person.
-- A registry row is the hukou child with the same ID number; else the child whose ID is its 全国学籍号 (G + ID);
-- else the only hukou child with the same name (normalized: spaces, full-width, traditional → simplified), birth date
-- and gender. Two or more such children: the row goes to the review queue and keeps its own key.
-- Rows matching no hukou child keep their own key: the ID number, else XJ:<学籍号>, else NBG:<name|birth|gender>.

-- The work tables carry only the columns matching reads: the narrower their rows, the less every later hash
-- join and scan of a province's ten million of them costs. A source's rows of a term come from one file (publishing
-- replaces the term's partition whole), so its hash is not repeated on every row: it is read here, once, with the
-- term (read by the school reconciliation, pipelines/match.py).
create unlogged table t_files as
select cast(:term as text) as term,
       (select file_hash from core.registry where province = :province and term = :term limit 1) as registry,
       (select file_hash from core.roster where province = :province and term = :term limit 1) as roster;

-- Most ID numbers are held by one hukou row, most people have one registry row and one roster row: sorting ten
-- million rows by a text key to find the few keys that repeat costs more than finding the 64-bit hashes of keys that
-- repeat (kcbx.repeated_hashes: sql/functions/repeated_keys.sql). Rows whose hash repeats (every repeated key, and
-- rarely a key sharing its hash with another) are then sorted or grouped by the key itself; the others are taken as
-- they are. The same two steps make t_reg_person below and t_reported in 03.
create unlogged table t_hukou_repeated as
select unnest(kcbx.repeated_hashes(hashtextextended(id_number, 0))) as key_hash from core.hukou
where province = :province and term = :term and id_number is not null;

-- the hukou rows an earlier row of the same ID number describes (the first row describes the child)
create unlogged table t_hukou_shadowed as
select line from (
  select line, row_number() over (partition by id_number order by line) as n from core.hukou
  where province = :province and term = :term and id_number is not null
    and hashtextextended(id_number, 0) in (select key_hash from t_hukou_repeated)
) d
where n > 1;
analyze t_hukou_shadowed;

-- one row per hukou child, read where it is (copying ten million rows took 10 s; the joins below read the
-- columns they need)
create view t_hukou as
select h.line, h.id_number, h.id_valid, h.name, h.name_key, h.gender, h.birth_date, h.region_code, h.hukou_status,
  kcbx.age_on(h.birth_date, :age_cutoff) as age, 'G' || h.id_number as student_no_key
from core.hukou h
where h.province = :province and h.term = :term and h.id_number is not null
  and h.line not in (select line from t_hukou_shadowed);  -- a hashed subplan: one probe per row, however many

-- by ID number: nearly every row; the weaker keys are tried only on the rows left. A full join: each hukou child
-- no registry row names by ID number is a row of its own (no line, match method 'hukou'), and each row a registry
-- row matched carries its hukou child (the hukou_* columns), so that 03 finds every person, and what the hukou and
-- the registry say of him, in this one table, with no second join of the hukou and the registry. Each registry
-- row's flags (bits of one integer: what the row says of its pupil, for t_reg_person below) are computed here; the
-- weaker keys never match by ID, so no later update changes them. The registry's filter is inside the full join
-- (a WHERE on its columns would drop the hukou children's own rows).
create unlogged table t_reg as
select r.line, r.student_no, r.id_number, r.id_valid, r.name, r.name_key, r.gender, r.birth_date,
  r.school_id, r.school_region_code, r.grade, r.registry_status, coalesce(r.in_province, false) as in_province,
  by_id.id_number as person_key,
  case when by_id.id_number is null then null when r.line is null then 'hukou' else 'id' end as match_method,
  case when r.line is null then 0 else
    (r.registry_status = '死亡')::int
    | ((r.in_province and r.registry_status = '在读')::int << 1)
    | ((r.registry_status = '休学')::int << 2)
    | ((not r.in_province and r.registry_status in ('在读', '休学'))::int << 3)
    | ((r.registry_status = '毕业' and r.grade = 9)::int << 4)
    | ((r.registry_status = '毕业' and r.grade = 6)::int << 5)
    | ((r.registry_status in ('在读', '休学') and r.grade >= 7)::int << 6)
    | ((r.registry_status = '转出')::int << 7)
    | (r.in_province::int << 8)
    | ((by_id.id_number is not null)::int << 9) end as flags,
  -- (a constant in the select list would make the one process that writes the rows copy each of them again to add
  -- it, ten million rows: about 6 s; a value computed once, as here, is passed to the parallel workers)
  (select true) as speaks, (select true) as first_at_school,
  by_id.id_number is not null as in_hukou, by_id.id_valid as hukou_id_valid, by_id.name as hukou_name,
  by_id.name_key as hukou_name_key, by_id.gender as hukou_gender, by_id.birth_date as hukou_birth_date,
  by_id.age as hukou_age, by_id.region_code as hukou_region_code, by_id.hukou_status
from (
  select r.*, coalesce(left(r.school_region_code, 2) = :province, false) as in_province
  from core.registry r
  where r.province = :province and r.term = :term
) r
full join t_hukou by_id on by_id.id_number = r.id_number;

-- The rows no ID number matched are few. They are found once (by parallel workers), with their place in t_reg
-- (ctid); the weaker keys are tried on them alone, and t_reg is updated once, at their places: a statement that
-- writes runs in one process, and scanning t_reg's ten million rows for each key took 1.5–2 s.
create unlogged table t_reg_open as
select ctid as row_id, student_no, id_number, name_key, birth_date, gender from t_reg where person_key is null;
analyze t_reg_open;

-- the hukou child whose ID number the 全国学籍号 is (G + ID) … (the join hashes the few open rows, and reads nothing
-- of t_hukou when there are none)
create unlogged table t_reg_by_student_no as
select o.row_id, h.id_number from t_reg_open o join t_hukou h on h.student_no_key = o.student_no;
analyze t_reg_by_student_no;

-- … else the only hukou child with the same name, birth date and gender
create unlogged table t_hukou_nbg as
select h.name_key, h.birth_date, h.gender, min(h.id_number) as id_number, count(*) as n
from t_hukou h
where exists (select 1 from t_reg_open r where r.name_key = h.name_key and r.birth_date = h.birth_date
                and r.gender = h.gender
                and not exists (select 1 from t_reg_by_student_no s where s.row_id = r.row_id))
group by 1, 2, 3;
analyze t_hukou_nbg;

update t_reg r set
  person_key = coalesce(s.id_number, c.id_number, o.id_number, 'XJ:' || o.student_no,
                        'NBG:' || o.name_key || '|' || o.birth_date || '|' || o.gender),
  match_method = case when s.id_number is not null then 'student_no'
                      when c.id_number is not null then 'name_birth_gender' else 'own_key' end
from t_reg_open o
left join t_reg_by_student_no s on s.row_id = o.row_id
left join t_hukou_nbg c on s.row_id is null and c.n = 1 and c.name_key = o.name_key
  and c.birth_date = o.birth_date and c.gender = o.gender
where r.ctid = o.row_id;

insert into match.review_queue (province, term, source, file_hash, line, reason, candidates)
select :province, :term, 'registry', (select registry from t_files), r.line, 'ambiguous_name_birth_gender',
       jsonb_agg(jsonb_build_object('id_number', h.id_number, 'line', h.line) order by h.line)
from t_reg r
join t_hukou_nbg c
  on c.n > 1 and c.name_key = r.name_key and c.birth_date = r.birth_date and c.gender = r.gender
join t_hukou h on h.name_key = r.name_key and h.birth_date = r.birth_date and h.gender = r.gender
where r.match_method = 'own_key'
group by r.line;

analyze t_reg;

-- Per person, for 02 and 03: what the registry rows say (matched_by_id: one of them found the hukou child by ID
-- number, so that number is the person's key), and the row that speaks for the pupil (an in-province 在读 row
-- first, then 休学, then the first line; a term's registry is one file, so its line numbers are unique; a hukou
-- child's own row, which has no line, last). A person with one row is that row, as it is. Only the rows of the few
-- people with several are sorted by person, for a window over each person's rows (see t_hukou_shadowed for the two
-- steps): they get the person's flags, ID validity and hukou child (a registry row a weaker key matched has none
-- of its own: the child's own row, or a row that matched him by ID number, gives it), each learns whether it is the
-- person's first row at its school (for 06), and all but the one that speaks stop speaking. They are updated at
-- their places (ctid): a hukou child's own row has no line. t_reg_person is the rows that speak.
create unlogged table t_reg_repeated as
select unnest(kcbx.repeated_hashes(hashtextextended(person_key, 0))) as key_hash from t_reg;

-- (their window, into a table of its own first: few rows, which the update finds at their places)
create unlogged table t_reg_several as
select ctid as row_id, row_number() over w as rn, bit_or(flags) over w as flags,
  bool_or(id_valid) over w as id_valid,
  -- the row that registers the pupil at its school (an in-province 在读 row first), for 06's school counts
  row_number() over (partition by person_key, school_id
                     order by in_province and registry_status = '在读' desc, school_region_code, line) = 1
    as first_at_school,
  -- one hukou child per person (his ID number is the key): the rows that have him agree
  bool_or(in_hukou) over w as in_hukou, bool_or(hukou_id_valid) over w as hukou_id_valid,
  max(hukou_name) over w as hukou_name, max(hukou_name_key) over w as hukou_name_key,
  max(hukou_gender) over w as hukou_gender, max(hukou_birth_date) over w as hukou_birth_date,
  max(hukou_age) over w as hukou_age, max(hukou_region_code) over w as hukou_region_code,
  max(hukou_status) over w as hukou_status
from t_reg where hashtextextended(person_key, 0) in (select key_hash from t_reg_repeated)
window w as (partition by person_key
             order by case when in_province and registry_status = '在读' then 0
                           when registry_status = '休学' then 1 else 2 end, line
             rows between unbounded preceding and unbounded following);
analyze t_reg_several;

update t_reg r set speaks = s.rn = 1, flags = s.flags, id_valid = s.id_valid, first_at_school = s.first_at_school,
  in_hukou = s.in_hukou, hukou_id_valid = s.hukou_id_valid, hukou_name = s.hukou_name,
  hukou_name_key = s.hukou_name_key, hukou_gender = s.hukou_gender, hukou_birth_date = s.hukou_birth_date,
  hukou_age = s.hukou_age, hukou_region_code = s.hukou_region_code, hukou_status = s.hukou_status
from t_reg_several s
where r.ctid = s.row_id;

create view t_reg_person as
select person_key, line, school_id, grade, school_region_code as school_region, registry_status, match_method,
  id_number, name, name_key, gender, birth_date, id_valid, in_hukou, hukou_id_valid, hukou_name, hukou_name_key,
  hukou_gender, hukou_birth_date, hukou_age, hukou_region_code, hukou_status,
  flags & 1 > 0 as dead, flags & 2 > 0 as enrolled_here, flags & 4 > 0 as on_leave, flags & 8 > 0 as elsewhere,
  flags & 16 > 0 as completed, flags & 32 > 0 as primary_graduate, flags & 64 > 0 as in_junior_high,
  flags & 128 > 0 as transferred, flags & 256 > 0 as any_in_province, flags & 512 > 0 as matched_by_id
from t_reg where speaks;

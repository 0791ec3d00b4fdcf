-- One status per person this term (see docs/matching.md for the order, which decides ties):
-- deceased → reported in a roster → completed grade 9 → on leave (休学) → enrolled elsewhere (another province)
-- → home teaching / exempt (approval valid on the term's first day) → needs review → enrolled but not reported
-- → moved out (户籍迁出) → transferred out only (转出) → not enrolled. Over the school-age limit, a child who
-- would be a finding is aged_out instead.

-- A person's evidence is kept as plain columns (the line, school and match of the roster or registry row that
-- speaks for the status); match.status_evidence builds the JSON an auditor reads (sql/migrations/0160).

-- the roster rows that report a pupil, with the pupil's first line (whose school and match speak for the pupil)
-- and each pupil's first line at each school (06 counts a pupil once per school). A pupil on one roster row is
-- both; only the rows of pupils on several are sorted, for the two windows (the two steps of 01's
-- t_hukou_shadowed), into t_roster_firsts. t_reported is the rows that report a pupil.
create unlogged table t_roster_repeated as
select unnest(kcbx.repeated_hashes(hashtextextended(person_key, 0))) as key_hash from t_roster
where person_key is not null;
analyze t_roster_repeated;

create unlogged table t_roster_firsts as
select line, line = min(line) over (partition by person_key) as first_line,
  row_number() over (partition by person_key, school_id order by line) = 1 as first_at_school
from t_roster
where person_key is not null and hashtextextended(person_key, 0) in (select key_hash from t_roster_repeated);
analyze t_roster_firsts;

create view t_reported as
select r.person_key, r.line, r.school_id, r.match_method, coalesce(f.first_line, true) as first_line,
  coalesce(f.first_at_school, true) as first_at_school
from t_roster r
left join t_roster_firsts f on f.line = r.line
where r.person_key is not null;

create unlogged table t_review as
select distinct person_key from t_roster_name where n > 1;
analyze t_review;

create unlogged table t_exempt as
select e.id_number, bool_or(e.kind = '送教上门') as home_teaching,
       (array_agg(jsonb_build_object('source', 'exemptions', 'term', e.term, 'file_hash', e.file_hash, 'line', e.line,
         'kind', e.kind, 'valid_until', e.valid_until) order by e.approved_on desc))[1] as evidence
from core.exemptions e
where e.province = :province and kcbx.term_ordinal(e.term) <= kcbx.term_ordinal(:term)
  and e.id_number is not null and e.approved_on <= :term_start and coalesce(e.valid_until, 'infinity') >= :term_start
group by e.id_number;
analyze t_exempt;

-- deaths recorded in any earlier term (looked up in every partition kept: sql/migrations/0140_death_indexes.sql)
create unlogged table t_dead_before as
select distinct id_number from core.hukou
where province = :province and hukou_status = '死亡' and kcbx.term_ordinal(term) <= kcbx.term_ordinal(:term)
union
select distinct coalesce(id_number, 'XJ:' || student_no) from core.registry
where province = :province and registry_status = '死亡' and kcbx.term_ordinal(term) < kcbx.term_ordinal(:term);
analyze t_dead_before;

-- One row per person: this table becomes the term's partition of match.person_term (its columns are that table's,
-- in order, with their types). A CREATE TABLE … AS runs its query in parallel workers, and the subquery is flattened
-- into the outer select (no OFFSET 0 fence), so every expression is computed by the workers below the Gather (the
-- province and term too: see speaks in 01's t_reg); the rows are written once (a table made in this transaction
-- skips the WAL with wal_level minimal). 04 and 06 read what else they need from the other work tables. Written
-- once and analyzed on attach, it has autovacuum off, as the published files have (sql/migrations/0190): a pass
-- over ten million fresh rows would take a core from the ledger and the report that follow.
--
-- The persons are the rows of 01's t_reg that speak for a person: the hukou children (each on the registry row that
-- speaks for him, or on his own row when no registry row has him), and the pupils of the province no hukou child
-- is, whose registry rows kept their own key (01). Each hukou child's row carries what the hukou says of him
-- (hukou_*), so the hukou is not joined again here: ten million rows hashed and probed once less.
create table t_person with (autovacuum_enabled = false) as
select (select cast(:province as text)) as province, (select cast(:term as text)) as term, p.person_key,
  p.id_number, p.id_valid, p.name, p.name_key, p.gender, p.birth_date, p.age, p.region_code, p.school_id, p.grade,
  p.in_hukou,
  coalesce(p.age between :age_min and :age_max, false) as school_age,
  case when p.base in ('enrolled_not_reported', 'not_enrolled', 'transferred_out') and p.age > :age_max
       then 'aged_out' else p.base end as status,
  case when p.base in ('exempt', 'home_teaching') then p.exemption_evidence end as status_evidence,
  p.match_method,
  case when p.base = 'enrolled_reported' then p.rep_line else p.reg_line end as evidence_line,
  case when p.base = 'enrolled_reported' then p.rep_school_id end as reported_school_id,
  case when p.base = 'enrolled_reported' then p.rep_match_method end as reported_match_method,
  p.registry_status, coalesce(p.primary_graduate, false) as primary_graduate,
  coalesce(p.in_junior_high, false) as in_junior_high
from (
  select u.person_key, u.id_number, u.id_valid, u.name, u.name_key, u.gender, u.birth_date, u.age, u.region_code,
    u.school_id, u.grade, u.in_hukou, u.match_method, u.reg_line, u.registry_status, rep.line as rep_line,
    rep.school_id as rep_school_id, rep.match_method as rep_match_method, x.evidence as exemption_evidence,
    u.primary_graduate, u.in_junior_high,
    case
      when coalesce(u.dead, false) or d.id_number is not null or u.hukou_status = '死亡' then 'deceased'
      when rep.line is not null then 'enrolled_reported'
      when u.completed and not (u.enrolled_here or u.on_leave or u.elsewhere) then 'completed'
      when u.on_leave then 'on_leave'
      when u.elsewhere then 'enrolled_elsewhere'
      when x.home_teaching then 'home_teaching'
      when x.id_number is not null then 'exempt'
      when rv.person_key is not null then 'needs_review'
      when u.enrolled_here then 'enrolled_not_reported'
      when u.hukou_status = '迁出' then 'moved_out'
      when u.transferred then 'transferred_out'
      else 'not_enrolled' end as base
  from (
    select r.person_key,
      case when r.in_hukou then r.person_key else r.id_number end as id_number,
      case when r.in_hukou then r.hukou_id_valid else r.id_valid end as id_valid,
      case when r.in_hukou then r.hukou_name else r.name end as name,
      case when r.in_hukou then r.hukou_name_key else r.name_key end as name_key,
      case when r.in_hukou then r.hukou_gender else r.gender end as gender,
      case when r.in_hukou then r.hukou_birth_date else r.birth_date end as birth_date,
      case when r.in_hukou then r.hukou_age else kcbx.age_on(r.birth_date, :age_cutoff) end as age,
      coalesce(r.hukou_region_code, left(r.school_region, 6)) as region_code, r.school_id, r.grade, r.in_hukou,
      r.match_method, r.line as reg_line, r.registry_status, r.hukou_status, r.dead, r.completed, r.enrolled_here,
      r.on_leave, r.elsewhere, r.transferred, r.primary_graduate, r.in_junior_high
    from t_reg_person r
    where r.in_hukou or (r.match_method = 'own_key' and r.any_in_province)  -- own key: no hukou child has it (01)
  ) u
  left join t_reported rep on rep.person_key = u.person_key and rep.first_line
  left join t_review rv on rv.person_key = u.person_key
  left join t_exempt x on x.id_number = u.person_key
  left join t_dead_before d on d.id_number = u.person_key
) p;

-- in place of the term's previous partition (sql/migrations/0130_partition_from_work_table.sql): indexed and
-- analyzed there, for the findings and the ledger that join this term's rows next
select core.attach_work_table('match.person_term', :province, :term, 't_person');

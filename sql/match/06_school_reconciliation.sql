-- School-level three-way count (三比对): registry count, last term's reported count, this term's reported count.
--   unexplained_difference = registry_count − reported_count
--       − dropouts_listed (registered here, reported nowhere: dropout findings)
--       − review_listed (registered here, waiting for a person to resolve an ambiguous roster row)
--       − reported_elsewhere (registered here, reported in another school's roster)
--       + registered_elsewhere (reported here, registered at another school)
--       + unregistered_listed (reported here, no registry row: 人在籍不在)
-- With every discrepancy listed person by person it is 0; anything else needs explaining.
insert into report.school_reconciliation (term, school_id, registry_count, last_term_count, reported_count,
  unexplained_difference, province, region_code, dropouts_listed, review_listed, unregistered_listed,
  reported_elsewhere, registered_elsewhere)
with reg as (
  select school_id, person_key, min(left(school_region_code, 6)) as region_code
  from t_reg where in_province and registry_status = '在读' group by 1, 2
), schools as (
  select school_id from reg union select school_id from t_roster where school_id is not null
), counts as (
  select s.school_id,
    (select count(*) from reg r where r.school_id = s.school_id) as registry_count,
    (select min(r.region_code) from reg r where r.school_id = s.school_id) as region_code,
    (select count(*) from core.roster p where p.province = :province and p.term = :prev_term
       and p.school_id = s.school_id and coalesce(p.report_status, '已报到') = '已报到') as last_term_count,
    (select count(*) from t_roster t where t.school_id = s.school_id) as reported_count,
    (select count(*) from match.findings f join reg r on r.person_key = f.person_key and r.school_id = s.school_id
       where f.province = :province and f.term = :term and f.case_type = 'dropout') as dropouts_listed,
    (select count(*) from reg r join t_review v on v.person_key = r.person_key
       where r.school_id = s.school_id and not exists (select 1 from t_roster t where t.person_key = r.person_key))
       as review_listed,
    (select count(distinct r.person_key) from reg r join t_roster t on t.person_key = r.person_key
       where r.school_id = s.school_id and t.school_id is distinct from s.school_id
         and not exists (select 1 from t_roster t2 where t2.person_key = r.person_key and t2.school_id = s.school_id))
       as reported_elsewhere,
    (select count(*) from t_roster t where t.school_id = s.school_id and t.person_key is not null
       and not exists (select 1 from reg r where r.person_key = t.person_key and r.school_id = s.school_id))
       as registered_elsewhere,
    (select count(*) from match.unregistered_attendees u where u.province = :province and u.term = :term
       and u.school_id = s.school_id) as unregistered_listed,
    (select count(*) from t_roster t where t.school_id = s.school_id and t.person_key is null
       and exists (select 1 from t_roster_name c where c.line = t.line and c.n > 1)) as ambiguous_rows
  from schools s
)
select :term, school_id, registry_count, nullif(last_term_count, 0), reported_count,
  registry_count - reported_count - dropouts_listed - review_listed - reported_elsewhere + registered_elsewhere
    + unregistered_listed + ambiguous_rows,
  :province, region_code, dropouts_listed, review_listed, unregistered_listed, reported_elsewhere, registered_elsewhere
from counts;

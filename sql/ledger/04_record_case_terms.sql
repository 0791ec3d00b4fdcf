-- What this sweep saw of each case's child: school, grade, poverty household, special groups, status.
insert into ledger.case_terms (case_id, term, province, case_type, region_code, school_id, grade, is_poverty,
  household_type, special_groups, person_status)
select c.case_id, :term, :province, f.case_type, f.region_code, f.school_id, f.grade, f.is_poverty,
  -- the child's status is the finding's (sql/migrations/0200): looking each one up among the term's ten million
  -- person_term rows took seconds
  f.household_type, f.special_groups, coalesce(f.person_status, 'not_seen')
from ledger.cases c
join match.findings f on f.province = c.province and f.term = :term and f.person_key = c.person_key
where c.province = :province  -- the child's latest case (an anti-join: a subquery per case looked each one up)
  and not exists (select 1 from ledger.cases c2 where c2.province = c.province and c2.person_key = c.person_key
                  and c2.case_id > c.case_id)
on conflict (case_id, term) do nothing;

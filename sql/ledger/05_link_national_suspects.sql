-- Every national-suspect row is linked to the case that answers it: the case of its child (opened this term or
-- earlier), or none when the child was found enrolled or resolved.
insert into ledger.suspect_verifications (province, term, file_hash, line, case_id, outcome)
select o.province, o.term, o.file_hash, o.line, c.case_id,
  case when c.case_id is not null and c.opened_term <> o.term then 'existing_case' else o.outcome end
from match.suspect_outcomes o
left join lateral (select c.case_id, c.opened_term from ledger.cases c where c.province = o.province
                   and c.person_key = o.person_key and o.outcome in ('finding', 'new_case')
                   order by c.case_id desc limit 1) c on true
where o.province = :province and o.term = :term
on conflict do nothing;

insert into ledger.swept_terms (province, term, run_id) values (:province, :term, cast(:run_id as uuid))
on conflict do nothing;

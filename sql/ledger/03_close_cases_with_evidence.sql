-- 销号 with evidence: an open case whose child is no longer a finding this term is closed when the term's data
-- prove why — reported in a roster (returned, then closed, with the roster row as evidence), dead, aged out or
-- finished grade 9, an approved exemption or home teaching, enrolled in another province, or on approved leave.
-- Without such evidence (moved away, not seen) the case stays open.
create temp table t_close on commit drop as
select s.case_id, s.status,
  match.status_evidence(pt, (select file_hash from core.registry where province = :province and term = :term limit 1),
                        (select file_hash from core.roster where province = :province and term = :term limit 1))
    || jsonb_build_object('person_status', pt.status) as evidence,
  case pt.status when 'enrolled_reported' then 'back_in_school' when 'deceased' then 'death'
    when 'aged_out' then 'aged_out' when 'completed' then 'aged_out' when 'exempt' then 'exemption'
    when 'home_teaching' then 'home_teaching' when 'enrolled_elsewhere' then 'enrolled_elsewhere'
    when 'on_leave' then 'on_leave' end as closure_reason
from ledger.case_state s
join match.person_term pt on pt.province = s.province and pt.term = :term and pt.person_key = s.person_key
where s.province = :province and s.status not in ('closed', 'excluded')
  and kcbx.term_ordinal(s.opened_term) <= kcbx.term_ordinal(:term)
  and not exists (select 1 from match.findings f where f.province = :province and f.term = :term
                  and f.person_key = s.person_key);
analyze t_close;

select count(ledger.append_event(case_id, :term, 'returned', 'sweep', null, evidence, cast(:run_id as uuid),
                                 'sweep/' || :term || '/' || case_id || '/returned'))
from t_close where closure_reason = 'back_in_school' and status <> 'returned';

select count(ledger.append_event(case_id, :term, 'closed',
                                 case when closure_reason in ('exemption', 'home_teaching') then 'exemption' else 'sweep' end,
                                 closure_reason, evidence, cast(:run_id as uuid),
                                 'sweep/' || :term || '/' || case_id || '/closed'))
from t_close where closure_reason is not null;

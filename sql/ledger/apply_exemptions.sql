-- Exemptions that arrive between sweeps (延缓入学 / 免学 / 送教上门, approved and valid today) close the open case
-- of their child with that reason.
select count(ledger.append_event(s.case_id, :term, 'closed', 'exemption',
    case when e.kind = '送教上门' then 'home_teaching' else 'exemption' end,
    jsonb_build_object('source', 'exemptions', 'file_hash', e.file_hash, 'line', e.line, 'kind', e.kind,
                       'valid_until', e.valid_until),
    cast(:run_id as uuid), 'exemption:' || :term || ':' || e.file_hash || ':' || e.line || ':' || s.case_id))
from ledger.case_state s
join core.exemptions e on e.province = s.province and e.term = :term and e.id_number = s.person_key
where s.province = :province and s.status not in ('closed', 'excluded')
  and e.approved_on <= :as_of and coalesce(e.valid_until, 'infinity') >= :as_of;

-- A finding carries its person's status this term (match.person_term's, null for a national suspect matching
-- nobody), so the ledger records what each case's child was this term (ledger.case_terms.person_status) from the
-- finding it joins anyway, instead of looking every case's child up among the term's ten million person_term rows.
-- Findings of earlier terms keep null: the ledger reads only the findings of the term it records, which matching
-- has just written.
alter table match.findings add column person_status text;

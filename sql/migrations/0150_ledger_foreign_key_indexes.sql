-- Indexes on the ledger's two foreign keys that had none.
--
-- Deleting a case makes PostgreSQL look for rows that still refer to it. Without an index on the referring
-- column, that is a scan of the whole table per deleted case: ledger.rebuild_from, which takes every case of the
-- rebuilt terms out, scanned ledger.cases once per case for relapse_of (250,000 cases of a ten-million-child
-- province: 250,000 scans of 250,000 rows; it had not finished after ten minutes).
create index cases_relapse_of on ledger.cases (relapse_of) where relapse_of is not null;
create index case_followups_case on ledger.case_followups (case_id);

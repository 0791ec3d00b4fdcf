-- Which roster file each school's reported_count counted (sql/match/06_school_reconciliation.sql). The next term's
-- reconciliation takes its last_term_count from these rows while that file is still the term's published roster,
-- instead of counting the previous term's ten million roster rows again; rows of another file (a roster published
-- again, by a run that stopped before it reconciled) are not used. Rows from before this column are NULL, so not
-- used either.
alter table report.school_reconciliation add column roster_file_hash text;

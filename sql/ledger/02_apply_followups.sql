-- Follow-up records (核查 / 劝返 / 复学 / 排除) of the term, in the order they were made (see sql/functions/ledger.sql).
select ledger.apply_followups(:province, :term, cast(:run_id as uuid));

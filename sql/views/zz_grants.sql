-- Privileges of the kcbx roles (see sql/migrations/0060_roles.sql). Applied after every view is (re)created.
revoke all on schema staging, core, match, ledger, report, restricted, audit, kcbx from public;
revoke all on all tables in schema staging, core, match, ledger, report, restricted, audit, kcbx from public;

grant usage on schema kcbx to kcbx_pipeline, kcbx_analyst, kcbx_auditor, kcbx_caseworker;
grant execute on all functions in schema kcbx to kcbx_pipeline, kcbx_analyst, kcbx_auditor, kcbx_caseworker;

-- analysts: the masked report tables only
grant usage on schema report to kcbx_analyst, kcbx_auditor, kcbx_pipeline;
grant select on all tables in schema report to kcbx_analyst, kcbx_auditor;

-- auditors: plus the audit trail
grant usage on schema audit to kcbx_auditor, kcbx_pipeline;
grant select on all tables in schema audit to kcbx_auditor;

-- case workers: full identities of the children with a case
grant usage on schema restricted to kcbx_caseworker;
grant select on all tables in schema restricted to kcbx_caseworker;

-- the pipeline: everything it writes, but the ledger only by appending
grant usage, create on schema staging, core, match to kcbx_pipeline;
grant select, insert, update, delete, truncate on all tables in schema staging, core, match to kcbx_pipeline;
grant select, insert, update, delete on all tables in schema report to kcbx_pipeline;
grant select, insert on all tables in schema audit to kcbx_pipeline;
grant update (status, rows_accepted, rows_rejected, rows_warned, published_at, superseded_at)
  on audit.file_manifest to kcbx_pipeline;
grant select, insert, update on kcbx.runs to kcbx_pipeline;
grant usage on schema ledger to kcbx_pipeline;
grant select, insert on all tables in schema ledger to kcbx_pipeline;
grant usage, select on all sequences in schema staging, core, match, ledger, report, audit to kcbx_pipeline;
grant execute on function ledger.rebuild_from(text, text, uuid) to kcbx_pipeline;
grant execute on function core.new_partition(text, text, text), core.attach_partition(text, text, text),
  core.attach_work_table(text, text, text, regclass), core.attach_staged_file(text, text, text, text),
  core.province_partition(text, text) to kcbx_pipeline;

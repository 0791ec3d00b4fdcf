-- Database roles (cluster-wide, so created only where missing). Group roles without LOGIN: production login
-- users are made members of one of them (`grant kcbx_analyst to alice`). Their privileges are granted in
-- sql/views/zz_grants.sql, re-applied on every start so views re-created there keep their grants.
--   kcbx_pipeline    writes source, match, report and audit data; appends to the ledger, never updates/deletes it
--   kcbx_analyst     reads report.* only: masked identities
--   kcbx_auditor     reads report.* and audit.*
--   kcbx_caseworker  reads restricted.*: full identities of the children with a case
do $$
declare r text;
begin
  foreach r in array array['kcbx_pipeline', 'kcbx_analyst', 'kcbx_auditor', 'kcbx_caseworker'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      execute format('create role %I nologin', r);
    end if;
  end loop;
end $$;

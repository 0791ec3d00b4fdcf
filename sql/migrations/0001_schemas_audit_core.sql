-- Schemas, the audit trail and the typed per-term source tables.
--   staging    raw text of one file load, then its normalized form; validated here before anything is published
--   core       typed rows, one per input row accepted, per province, term and source (with provenance)
--   match      the 四查三比对 results per term
--   ledger     cases and their append-only events (the 台账)
--   report     what analysts read (masked); restricted: full identities for case workers; audit: for auditors
create schema if not exists staging;
create schema if not exists core;
create schema if not exists match;
create schema if not exists ledger;
create schema if not exists report;
create schema if not exists restricted;
create schema if not exists audit;

-- One row per sweep (or other command) run: who, what, when, how it ended.
create table kcbx.runs (
  run_id        uuid primary key,
  command       text not null,               -- sweep | followups | report | ...
  province      text not null,
  term          text,
  source_dir    text,
  accept_failures boolean not null default false,
  accepted_by   text,                         -- who told the run to go on despite failed expectations
  accept_reason text,
  started_at    timestamptz not null default now(),
  finished_at   timestamptz,
  outcome       text,                         -- succeeded | failed | stopped_by_validation
  message       text
);

-- Every input file ever seen, by content hash; re-loading the same file is a no-op.
create table audit.file_manifest (
  file_hash     text not null,                -- SHA-256 of the bytes
  province      text not null,
  term          text not null,
  source        text not null,                -- hukou | registry | roster | ...
  file_name     text not null,
  size_bytes    bigint not null,
  encoding      text,
  format        text,                         -- csv | xlsx
  header_line   int,
  rows_read     bigint,
  rows_accepted bigint,
  rows_rejected bigint,
  rows_warned   bigint,
  archive_path  text,
  status        text not null default 'staged', -- staged | validated | published | superseded | failed
  loaded_at     timestamptz not null default now(),
  published_at  timestamptz,
  superseded_at timestamptz,
  run_id        uuid,
  primary key (province, term, source, file_hash)
);

-- Every problem found in an input row. line is the 1-based line as an editor shows it (XLSX: the sheet row).
create table audit.row_issues (
  issue_id   bigserial primary key,
  file_hash  text not null,
  province   text not null,
  term       text not null,
  source     text not null,
  file_name  text not null,
  line       int,                               -- NULL for file-level problems
  column_name text,
  value      text,
  rule       text not null,
  severity   text not null check (severity in ('rejected', 'warning')),
  message    text,
  run_id     uuid,
  recorded_at timestamptz not null default now()
);
create index row_issues_file on audit.row_issues (file_hash, line);
create index row_issues_term on audit.row_issues (province, term, source);

-- One row per expectation per validation run.
create table audit.validation_runs (
  validation_id bigserial primary key,
  run_id       uuid,
  province     text not null,
  term         text not null,
  source       text not null,
  file_hash    text,
  suite        text not null,
  expectation  text not null,
  kwargs       jsonb,
  success      boolean not null,
  observed_value text,
  unexpected_count bigint,
  severity     text,                            -- batch | rejected | warning: what a failure does
  result       jsonb,                           -- the full GX result
  validated_at timestamptz not null default now()
);
create index validation_runs_term on audit.validation_runs (province, term, source);

-- Typed source tables. Common columns: province, term, file_hash, line (provenance of every row).
create table core.hukou (
  province text not null, term text not null, file_hash text not null, line int not null,
  id_number text, id_valid boolean not null, name text, name_key text, gender text, birth_date date,
  region_code text, household_no text, hukou_status text  -- NULL means 正常
);
create table core.registry (
  province text not null, term text not null, file_hash text not null, line int not null,
  student_no text, id_number text, id_valid boolean not null, name text, name_key text, gender text,
  birth_date date, school_id text, school_name text, school_region_code text, grade smallint, registry_status text
);
create table core.roster (
  province text not null, term text not null, file_hash text not null, line int not null,
  school_id text, student_no text, id_number text, id_valid boolean not null, name text, name_key text,
  report_status text
);
create table core.poverty (
  province text not null, term text not null, file_hash text not null, line int not null,
  id_number text, id_valid boolean not null, name text, name_key text, household_no text, household_type text,
  region_code text, school_status text
);
create table core.special_groups (
  province text not null, term text not null, file_hash text not null, line int not null,
  id_number text, id_valid boolean not null, name text, name_key text, category text, source_department text
);
create table core.national_suspects (
  province text not null, term text not null, file_hash text not null, line int not null,
  batch_no text, id_number text, id_valid boolean not null, name text, name_key text, issued_on date
);
create table core.followups (
  province text not null, term text not null, file_hash text not null, line int not null,
  id_number text, id_valid boolean not null, recorded_on date, kind text, result text, reason text,
  exclusion_reason text, responsible text, evidence text
);
create table core.exemptions (
  province text not null, term text not null, file_hash text not null, line int not null,
  id_number text, id_valid boolean not null, kind text, approved_on date, valid_until date, approved_by text
);
create table core.graduates (
  province text not null, term text not null, file_hash text not null, line int not null,
  id_number text, id_valid boolean not null, name text, name_key text, school_id text, graduation_year int
);

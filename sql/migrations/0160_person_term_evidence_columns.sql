-- match.person_term keeps its evidence as plain columns; the JSON is built for the few rows that need it.
--
-- Every one of a province's ten million rows a term carried its evidence as jsonb: the roster or registry line,
-- with the 64-character hash of the term's file repeated on every row (180 of a row's 325 bytes). Building it
-- cost 14 s of the 55 s that make the table at ten million children, and every later scan read it. Only the
-- findings (a few hundred thousand people) and the cases closed in a sweep show it. Now a row keeps:
--   evidence_line          the roster line when the person was reported in a roster, else the registry line
--   reported_school_id     the school of that roster line
--   reported_match_method  how that roster line was matched
--   registry_status        the status of the registry row that speaks for the pupil
-- and status_evidence only for an exemption or home teaching (the approval's own evidence). A term's roster and
-- registry are one file each, so their hashes are not kept per row: match.status_evidence adds them. Rows made
-- before this migration keep their stored evidence, which status_evidence returns as it is.
alter table match.person_term
  add column evidence_line int,
  add column reported_school_id text,
  add column reported_match_method text,
  add column registry_status text;

-- The evidence of a person's status, as an auditor reads it: the roster line that reported the pupil, else the
-- exemption, else the registry row, else the hukou. `registry_file` and `roster_file` are the hashes of the term's
-- published files (one of each per term).
create function match.status_evidence(p match.person_term, registry_file text, roster_file text) returns jsonb
language sql immutable parallel safe as $$
  select coalesce(p.status_evidence, case
    when p.status = 'enrolled_reported'
      then jsonb_build_object('source', 'roster', 'file_hash', roster_file, 'line', p.evidence_line,
                              'school_id', p.reported_school_id, 'match_method', p.reported_match_method)
    when p.evidence_line is not null
      then jsonb_build_object('source', 'registry', 'file_hash', registry_file, 'line', p.evidence_line,
                              'school_id', p.school_id, 'registry_status', p.registry_status)
    else jsonb_build_object('source', 'hukou') end)
$$;

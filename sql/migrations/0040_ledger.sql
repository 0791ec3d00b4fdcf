-- The case ledger (台账): cases and their append-only history. Current state is derived from the events.

create table ledger.cases (
  case_id     bigserial primary key,
  province    text not null,
  person_key  text not null,
  opened_term text not null,
  case_type   text not null check (case_type in ('out_of_school', 'dropout', 'non_continuation', 'national_suspect')),
  relapse_of  bigint references ledger.cases,
  id_number   text, name text, gender text, birth_date date, region_code text,
  opened_at   timestamptz not null default now(),
  run_id      uuid,
  unique (province, person_key, opened_term)
);
create index cases_person on ledger.cases (province, person_key);

-- Legal status changes; NULL → suspected opens a case. closed and excluded are final.
create table ledger.transitions (from_status text, to_status text not null, unique (from_status, to_status));
insert into ledger.transitions values
  (null, 'suspected'),
  ('suspected', 'confirmed'), ('suspected', 'excluded'), ('suspected', 'returned'), ('suspected', 'closed'),
  ('confirmed', 'persuading'), ('confirmed', 'returned'), ('confirmed', 'excluded'), ('confirmed', 'closed'),
  ('persuading', 'returned'), ('persuading', 'closed'),
  ('returned', 'closed');

create table ledger.case_events (
  case_id     bigint not null references ledger.cases,
  seq         int not null,
  term        text not null,
  from_status text,
  to_status   text not null,
  source      text not null check (source in ('sweep', 'followup', 'national_list', 'exemption')),
  closure_reason text,
  evidence    jsonb not null default '{}',
  recorded_at timestamptz not null default now(),
  run_id      uuid,
  event_key   text not null unique,       -- natural key: the same change is never recorded twice
  primary key (case_id, seq)
);

-- Attributes of an open case as each sweep saw them (school, poverty, groups...).
create table ledger.case_terms (
  case_id bigint not null references ledger.cases, term text not null, province text not null,
  case_type text, region_code text, school_id text, grade smallint, is_poverty boolean, household_type text,
  special_groups text[], person_status text, recorded_at timestamptz not null default now(),
  primary key (case_id, term)
);

-- Every verification visit and persuasion attempt (每次劝返记录), with the responsible person (包保责任人).
create table ledger.case_followups (
  case_id bigint not null references ledger.cases, term text not null, file_hash text not null, line int not null,
  kind text, recorded_on date, result text, reason text, exclusion_reason text, responsible text, evidence text,
  recorded_at timestamptz not null default now(),
  primary key (term, file_hash, line)
);
create table ledger.unmatched_followups (
  province text not null, term text not null, file_hash text not null, line int not null, id_number text,
  kind text, recorded_on date, recorded_at timestamptz not null default now(),
  primary key (province, term, file_hash, line)
);
create table ledger.refused_followups (
  province text not null, term text not null, file_hash text not null, line int not null, case_id bigint,
  kind text, message text not null, recorded_at timestamptz not null default now(),
  primary key (province, term, file_hash, line)
);
create table ledger.suspect_verifications (
  province text not null, term text not null, file_hash text not null, line int not null, case_id bigint,
  outcome text not null, recorded_at timestamptz not null default now(),
  primary key (province, term, file_hash, line)
);
create table ledger.swept_terms (
  province text not null, term text not null, swept_at timestamptz not null default now(), run_id uuid,
  primary key (province, term)
);

-- The state machine, enforced for every writer.
create function ledger.check_event() returns trigger language plpgsql as $$
declare cur text; last_seq int;
begin
  select e.to_status, e.seq into cur, last_seq from ledger.case_events e
   where e.case_id = new.case_id order by e.seq desc limit 1;
  if coalesce(last_seq, 0) + 1 <> new.seq then
    raise exception 'case %: event seq % is not the next one (%)', new.case_id, new.seq, coalesce(last_seq, 0) + 1;
  end if;
  if new.from_status is distinct from cur then
    raise exception 'case %: event from % but the case is %', new.case_id, coalesce(new.from_status, 'nothing'),
      coalesce(cur, 'not opened');
  end if;
  if not exists (select 1 from ledger.transitions t where t.from_status is not distinct from new.from_status
                 and t.to_status = new.to_status) then
    raise exception 'case %: cannot go from % to %', new.case_id, coalesce(cur, 'nothing'), new.to_status;
  end if;
  return new;
end $$;
create trigger case_events_state_machine before insert on ledger.case_events
  for each row execute function ledger.check_event();

create function ledger.refuse_change() returns trigger language plpgsql as $$
begin
  raise exception '% is append-only: % refused', tg_table_schema || '.' || tg_table_name, lower(tg_op);
end $$;
create trigger case_events_append_only before update or delete on ledger.case_events
  for each row execute function ledger.refuse_change();
create trigger case_followups_append_only before update or delete on ledger.case_followups
  for each row execute function ledger.refuse_change();
create trigger cases_append_only before update or delete on ledger.cases
  for each row execute function ledger.refuse_change();
create trigger case_events_no_truncate before truncate on ledger.case_events
  for each statement execute function ledger.refuse_change();
create trigger cases_no_truncate before truncate on ledger.cases
  for each statement execute function ledger.refuse_change();

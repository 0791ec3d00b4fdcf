-- Results of the 四查三比对 comparisons, per province and term (replaced as a whole by each matching run).

-- Every hukou child and every in-province registry pupil, with one status (the 适龄儿童台账 of a term).
create table match.person_term (
  province text not null, term text not null, person_key text not null,
  id_number text, id_valid boolean, name text, name_key text, gender text, birth_date date, age int,
  region_code text,          -- county: from hukou, else the school's region
  school_id text, grade smallint, in_hukou boolean not null, school_age boolean not null,
  status text not null,      -- enrolled_reported | enrolled_not_reported | on_leave | enrolled_elsewhere |
                             -- not_enrolled | deceased | exempt | home_teaching | completed | aged_out |
                             -- moved_out | transferred_out | needs_review
  status_evidence jsonb, match_method text,
  primary key (province, term, person_key)
);

-- One row per person who must have an open case this term.
create table match.findings (
  province text not null, term text not null, person_key text not null,
  case_type text not null check (case_type in ('dropout', 'non_continuation', 'out_of_school', 'national_suspect')),
  id_number text, id_valid boolean, name text, gender text, birth_date date, region_code text, school_id text,
  grade smallint, is_poverty boolean not null default false, household_type text,
  special_groups text[] not null default '{}', match_method text, evidence jsonb,
  primary key (province, term, person_key)
);

-- Every national-suspect row with its verification outcome.
create table match.suspect_outcomes (
  province text not null, term text not null, file_hash text not null, line int not null, batch_no text,
  person_key text, outcome text not null check (outcome in ('finding', 'found_enrolled', 'resolved', 'new_case')),
  status text, case_type text,
  primary key (province, term, file_hash, line)
);

-- Rows a person must look at: ambiguous fallback matches are never resolved automatically.
create table match.review_queue (
  province text not null, term text not null, source text not null, file_hash text, line int,
  reason text not null, candidates jsonb
);
create index review_queue_term on match.review_queue (province, term);

-- 人在籍不在: reported in a roster, no registry row of the term (a registry fault, not a dropout).
create table match.unregistered_attendees (
  province text not null, term text not null, school_id text, file_hash text, line int,
  id_number text, name text, student_no text
);
create index unregistered_term on match.unregistered_attendees (province, term, school_id);

-- School-level three-way count (三比对).
create table report.school_reconciliation (
  term text not null, school_id text not null,
  registry_count int not null, last_term_count int, reported_count int not null, unexplained_difference int not null,
  province text not null, region_code text, dropouts_listed int not null, review_listed int not null,
  unregistered_listed int not null, reported_elsewhere int not null, registered_elsewhere int not null,
  primary key (province, term, school_id)
);

-- Report tables: what analysts read (masked, aggregate). Rebuilt per term by each sweep.
create table report.region_term_indicators (
  term text not null, region_level text not null check (region_level in ('province', 'city', 'county')),
  region_code text not null,
  school_age_population int not null, registered_students int not null,
  enrollment_rate numeric(7, 5), consolidation_rate numeric(7, 5),
  new_cases int not null, open_cases int not null, closed_cases int not null, relapses int not null,
  poverty_open_cases int not null, special_group_open_cases int not null,
  province text not null, enrolled int not null, exempted int not null, confirmed_cases int not null,
  returned_cases int not null, excluded_cases int not null, open_dropouts int not null,
  median_days_to_closure numeric, overdue_cases int not null, computed_at timestamptz not null default now(),
  primary key (province, term, region_level, region_code)
);

-- Open, new and closed cases by one dimension: reason, special_group, household_type, grade, school, case_type.
create table report.case_breakdowns (
  province text not null, term text not null, region_code text not null, dimension text not null, value text not null,
  open_cases int not null, new_cases int not null, closed_cases int not null,
  primary key (province, term, region_code, dimension, value)
);

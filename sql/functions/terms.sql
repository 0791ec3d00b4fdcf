-- Terms order in time: YYYY-spring (ordinal 2·YYYY) comes after (YYYY-1)-autumn (2·(YYYY-1)+1).
create or replace function kcbx.term_ordinal(term text) returns int language sql immutable parallel safe strict as $$
  select substr(term, 1, 4)::int * 2 + case when term like '%-autumn' then 1 else 0 end
$$;

-- First day of a term: 1 September (autumn) or 1 March (spring).
create or replace function kcbx.term_start(term text) returns date language sql immutable parallel safe strict as $$
  select make_date(substr(term, 1, 4)::int, case when term like '%-autumn' then 9 else 3 end, 1)
$$;

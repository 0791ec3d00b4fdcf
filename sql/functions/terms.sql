-- Terms order in time: YYYY-spring (ordinal 2·YYYY) comes after (YYYY-1)-autumn (2·(YYYY-1)+1).
-- Neither function is declared strict, though both give NULL for NULL: PostgreSQL inlines a strict SQL function
-- only when its body is strict too, and a CASE is not, so a strict one ran as a function call on every row (four
-- times slower over the ledger's half a million case terms).
create or replace function kcbx.term_ordinal(term text) returns int language sql immutable parallel safe as $$
  select substr(term, 1, 4)::int * 2 + case when term like '%-autumn' then 1 else 0 end
$$;

-- First day of a term: 1 September (autumn) or 1 March (spring).
create or replace function kcbx.term_start(term text) returns date language sql immutable parallel safe as $$
  select make_date(substr(term, 1, 4)::int, case when term like '%-autumn' then 9 else 3 end, 1)
$$;

-- Which keys repeat among a file's or a term's ten million rows (a person's ID number on two hukou rows, a pupil on
-- two roster rows…): nearly none do, and grouping ten million rows by their key to find them costs more than the
-- rest of the step. kcbx.repeated_hashes(h) is an aggregate over a 64-bit hash of each row's key
-- (hashtextextended): the hashes that occur more than once. Parallel workers each collect their rows' hashes into
-- an array, the leader joins the arrays and kcbx.repeated_in picks the values that repeat: no worker passes ten
-- million rows to the leader. Every repeated key has a repeated hash; a hash may also repeat because two keys share
-- it, so the caller then tells the few rows with such a hash apart by the key itself. Nulls are no key.
--
-- Where the server can load the kcbx_native library, migration replaces kcbx.repeated_in with its C version, which
-- finds them among ten million in a fifth of a second (pipelines/native/). An array holds at most 134 million hashes.
create or replace function kcbx.repeated_in(hashes bigint[]) returns bigint[]
language sql immutable strict parallel safe as $$
  select coalesce(array_agg(h order by h), '{}')
  from (select h from unnest(hashes) h where h is not null group by h having count(*) > 1) repeated
$$;

create or replace aggregate kcbx.repeated_hashes(bigint) (
  sfunc = array_append, stype = bigint[], initcond = '{}', combinefunc = array_cat, finalfunc = kcbx.repeated_in,
  parallel = safe
);

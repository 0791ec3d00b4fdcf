-- A partition made by CREATE TABLE … AS in a work schema, put in place of the province's partition of a term.
--
-- Matching used to compute match.person_term's rows into a work table (a CREATE TABLE … AS, whose query runs in
-- parallel workers) and then copy them into the empty table from core.new_partition (an INSERT, serial): ten
-- million rows, three gigabytes, written twice. Now its CREATE TABLE … AS makes the partition itself, and this
-- function gives that table what core.new_partition gives an empty one: the parent's NOT NULL columns and the
-- check that spares ATTACH its own scan (both verified in one scan), its place and name in the parent's schema,
-- the grant; then core.attach_partition attaches it. The table's columns must be the parent's, with their types,
-- and it must be in the province's matching work schema.
create function core.attach_work_table(p_source text, p_province text, p_term text, p_table regclass) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t text[] := core.partitioned_table(p_source);
  leaf text := core.partition_name(t[2], p_term, p_province) || '_new';
  work_schema text := (select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                       where c.oid = p_table);
  not_null text;
begin
  if work_schema is distinct from 'match_work_' || p_province then  -- pipelines/match.py's work_schema
    raise exception 'table % is not a work table of province %', p_table, p_province;
  end if;
  select string_agg(format('alter column %I set not null', a.attname), ', ' order by a.attnum) into not_null
  from pg_attribute a
  where a.attrelid = format('%I.%I', t[1], t[2])::regclass and a.attnum > 0 and not a.attisdropped and a.attnotnull;
  execute format('alter table %s %s, add check (province = %L and term = %L)', p_table, not_null, p_province,
                 p_term);
  execute format('drop table if exists %I.%I', t[1], leaf);
  execute format('alter table %s rename to %I', p_table, leaf);  -- in its own schema, which no other run shares
  execute format('alter table %I.%I set schema %I', work_schema, leaf, t[1]);
  execute format('grant select, insert on %I.%I to kcbx_pipeline', t[1], leaf);
  perform core.attach_partition(p_source, p_province, p_term);
end $$;

revoke all on function core.attach_work_table(text, text, text, regclass) from public;

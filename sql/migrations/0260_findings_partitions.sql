-- match.findings partitioned like match.person_term (by province, then by term): matching makes a term's findings
-- with one CREATE TABLE … AS in its work schema and attaches that table (core.attach_work_table, 0130), as it does
-- the term's persons. Inserting them into one table wrote a quarter of a million rows one by one, with the WAL and
-- the key of each, in one process: 4.3 s at ten million children, and 0.8 s more to analyze the whole table. The
-- partition is written once and without WAL (made in the matching transaction, wal_level minimal), its key built
-- in one pass; a re-run replaces it instead of deleting the term's rows.

create or replace function core.partitioned_table(p_source text) returns text[]
language plpgsql immutable as $$
declare qualified text := case when p_source like '%.%' then p_source else 'core.' || p_source end;
begin
  if qualified not in ('core.hukou', 'core.registry', 'core.roster', 'core.poverty', 'core.special_groups',
                       'core.national_suspects', 'core.followups', 'core.exemptions', 'core.graduates',
                       'match.person_term', 'match.findings') then
    raise exception 'unknown partitioned table %', p_source;
  end if;
  return string_to_array(qualified, '.');
end $$;

-- A table attached as a partition must have its parent's CHECK constraints (match.findings has one, on its case
-- types): those it lacks are added with its NOT NULL columns, and verified in the same scan. Otherwise as in 0220.
create or replace function core.attach_as_partition(p_source text, p_province text, p_term text, p_table regclass)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t text[] := core.partitioned_table(p_source);
  parent regclass := format('%I.%I', t[1], t[2])::regclass;
  leaf text := core.partition_name(t[2], p_term, p_province) || '_new';
  changes text[];
begin
  select array_agg(format('alter column %I set not null', a.attname) order by a.attnum) into changes
  from pg_attribute a
  join pg_attribute w on w.attrelid = p_table and w.attname = a.attname and not w.attisdropped and not w.attnotnull
  where a.attrelid = parent and a.attnum > 0 and not a.attisdropped and a.attnotnull;
  if not exists (select 1 from pg_constraint where conrelid = p_table and conname = 'province_term') then
    changes := changes || format('add constraint province_term check (province = %L and term = %L)', p_province,
                                 p_term);
  end if;
  changes := changes || array(
    select format('add constraint %I %s', c.conname, pg_get_constraintdef(c.oid)) from pg_constraint c
    where c.conrelid = parent and c.contype = 'c'
      and not exists (select 1 from pg_constraint w where w.conrelid = p_table and w.conname = c.conname)
    order by c.conname);
  if cardinality(changes) > 0 then
    execute format('alter table %s %s', p_table, array_to_string(changes, ', '));
  end if;
  execute format('drop table if exists %I.%I', t[1], leaf);
  execute format('alter table %s rename to %I', p_table, leaf);  -- in a schema of its own run, which no other shares
  execute format('alter table %s set schema %I', p_table, t[1]);
  execute format('grant select, insert on %I.%I to kcbx_pipeline', t[1], leaf);
  perform core.attach_partition(p_source, p_province, p_term);
end $$;

-- Re-create match.findings as a partitioned table, moving the rows it holds (as 0090 did match.person_term; the
-- grants are made again after the migrations). Its key is led by the column that differs within a partition (0120).
alter table match.findings rename to findings_unpartitioned;
alter table match.findings_unpartitioned rename constraint findings_pkey to findings_unpartitioned_pkey;
create table match.findings (like match.findings_unpartitioned including defaults including constraints)
  partition by list (province);
alter table match.findings add primary key (person_key, province, term);
do $$
declare f record;
begin
  for f in select distinct province, term from match.findings_unpartitioned loop
    perform core.new_partition('match.findings', f.province, f.term);
    execute format('insert into match.%I select * from match.findings_unpartitioned where province = %L and term = %L',
                   core.partition_name('findings', f.term, f.province) || '_new', f.province, f.term);
    perform core.attach_partition('match.findings', f.province, f.term);
  end loop;
end $$;
drop table match.findings_unpartitioned;

-- Core tables partitioned by term, then by province: publishing a source replaces one partition. The new rows go
-- into a fresh table with no index, the indexes are built once over the whole partition when it is attached, and
-- the old partition is dropped — all in the publishing transaction. Maintaining four indexes row by row while
-- inserting a million rows was the slowest part of a province sweep.

-- The partitions are made and swapped by SECURITY DEFINER functions, so the pipeline role needs neither ownership
-- of the core tables nor any right beyond filling the table it was handed.
create function core.partition_name(p_source text, p_term text, p_province text default null) returns text
language sql immutable as $$
  select p_source || '_' || replace(p_term, '-', '_') || coalesce('_' || p_province, '')
$$;

-- An empty table shaped like core.<source>, for the rows of one province and term about to be published.
create function core.new_partition(p_source text, p_province text, p_term text) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare leaf text := core.partition_name(p_source, p_term, p_province) || '_new';
begin
  if p_source not in ('hukou', 'registry', 'roster', 'poverty', 'special_groups', 'national_suspects', 'followups',
                      'exemptions', 'graduates') then
    raise exception 'unknown source %', p_source;
  end if;
  execute format('drop table if exists core.%I', leaf);
  execute format('create table core.%I (like core.%I including defaults including constraints)', leaf, p_source);
  execute format('alter table core.%I add check (province = %L and term = %L)', leaf, p_province, p_term);
  execute format('grant select, insert on core.%I to kcbx_pipeline', leaf);
  return 'core.' || quote_ident(leaf);
end $$;

-- Put the table from core.new_partition in place of the province's partition of that term (indexes are built
-- on attach), with fresh statistics for the matching that reads it next.
create function core.attach_partition(p_source text, p_province text, p_term text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  by_term text := core.partition_name(p_source, p_term);
  leaf text := core.partition_name(p_source, p_term, p_province);
begin
  -- provinces publish concurrently: one at a time may add the term's partition
  perform pg_advisory_xact_lock(hashtext('core.' || by_term));
  if to_regclass(format('core.%I', leaf || '_new')) is null then
    raise exception 'no new partition core.% to attach', leaf || '_new';
  end if;
  if to_regclass(format('core.%I', by_term)) is null then
    execute format('create table core.%I partition of core.%I for values in (%L) partition by list (province)',
                   by_term, p_source, p_term);
  end if;
  if to_regclass(format('core.%I', leaf)) is not null then
    execute format('drop table core.%I', leaf);
  end if;
  execute format('alter table core.%I rename to %I', leaf || '_new', leaf);
  execute format('alter table core.%I attach partition core.%I for values in (%L)', by_term, leaf, p_province);
  execute format('analyze core.%I', leaf);
end $$;

-- Re-create every core table as a partitioned table, moving the rows it holds.
do $$
declare t text; old text; idx record; pt record;
begin
  foreach t in array array['hukou', 'registry', 'roster', 'poverty', 'special_groups', 'national_suspects',
                           'followups', 'exemptions', 'graduates'] loop
    old := t || '_unpartitioned';
    execute format('alter table core.%I rename to %I', t, old);
    execute format('create table core.%I (like core.%I including defaults including constraints)'
                   ' partition by list (term)', t, old);
    for idx in select indexname, indexdef from pg_indexes where schemaname = 'core' and tablename = old loop
      execute format('drop index core.%I', idx.indexname);
      execute replace(idx.indexdef, format('ON core.%s ', old), format('ON core.%s ', t));
    end loop;
    for pt in execute format('select distinct province, term from core.%I', old) loop
      perform core.new_partition(t, pt.province, pt.term);
      execute format('insert into core.%I select * from core.%I where province = %L and term = %L',
                     core.partition_name(t, pt.term, pt.province) || '_new', old, pt.province, pt.term);
      perform core.attach_partition(t, pt.province, pt.term);
    end loop;
    execute format('drop table core.%I cascade', old);
  end loop;
end $$;

revoke all on function core.new_partition(text, text, text), core.attach_partition(text, text, text)
  from public;  -- granted to kcbx_pipeline only (sql/views/zz_grants.sql)

-- match.person_term (a million rows per province and term) partitioned like the core tables: matching fills a fresh
-- partition and attaches it, so its primary key is built once over the whole partition instead of row by row, and
-- the rows are not written twice (a table made in the same transaction skips the WAL with wal_level minimal).
-- core.new_partition and core.attach_partition now take either a core source ('registry') or a schema-qualified
-- table ('match.person_term'); their signatures, callers and grants are unchanged.

create or replace function core.partitioned_table(p_source text) returns text[]
language plpgsql immutable as $$
declare qualified text := case when p_source like '%.%' then p_source else 'core.' || p_source end;
begin
  if qualified not in ('core.hukou', 'core.registry', 'core.roster', 'core.poverty', 'core.special_groups',
                       'core.national_suspects', 'core.followups', 'core.exemptions', 'core.graduates',
                       'match.person_term') then
    raise exception 'unknown partitioned table %', p_source;
  end if;
  return string_to_array(qualified, '.');
end $$;

create or replace function core.new_partition(p_source text, p_province text, p_term text) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t text[] := core.partitioned_table(p_source);
  leaf text := core.partition_name(t[2], p_term, p_province) || '_new';
begin
  execute format('drop table if exists %I.%I', t[1], leaf);
  execute format('create table %I.%I (like %I.%I including defaults including constraints)', t[1], leaf, t[1], t[2]);
  execute format('alter table %I.%I add check (province = %L and term = %L)', t[1], leaf, p_province, p_term);
  execute format('grant select, insert on %I.%I to kcbx_pipeline', t[1], leaf);
  return format('%I.%I', t[1], leaf);
end $$;

create or replace function core.attach_partition(p_source text, p_province text, p_term text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t text[] := core.partitioned_table(p_source);
  by_term text := core.partition_name(t[2], p_term);
  leaf text := core.partition_name(t[2], p_term, p_province);
begin
  -- provinces publish concurrently: one at a time may add the term's partition
  perform pg_advisory_xact_lock(hashtext(t[1] || '.' || by_term));
  if to_regclass(format('%I.%I', t[1], leaf || '_new')) is null then
    raise exception 'no new partition %.% to attach', t[1], leaf || '_new';
  end if;
  if to_regclass(format('%I.%I', t[1], by_term)) is null then
    execute format('create table %I.%I partition of %I.%I for values in (%L) partition by list (province)',
                   t[1], by_term, t[1], t[2], p_term);
  end if;
  if to_regclass(format('%I.%I', t[1], leaf)) is not null then
    execute format('drop table %I.%I', t[1], leaf);
  end if;
  execute format('alter table %I.%I rename to %I', t[1], leaf || '_new', leaf);
  execute format('alter table %I.%I attach partition %I.%I for values in (%L)', t[1], by_term, t[1], leaf, p_province);
  execute format('analyze %I.%I', t[1], leaf);
end $$;

-- Re-create match.person_term as a partitioned table, moving the rows it holds (the views that read it are
-- re-created after the migrations).
alter table match.person_term rename to person_term_unpartitioned;
alter table match.person_term_unpartitioned rename constraint person_term_pkey to person_term_unpartitioned_pkey;
create table match.person_term (like match.person_term_unpartitioned including defaults including constraints)
  partition by list (term);
alter table match.person_term add primary key (province, term, person_key);
do $$
declare pt record;
begin
  for pt in select distinct province, term from match.person_term_unpartitioned loop
    perform core.new_partition('match.person_term', pt.province, pt.term);
    execute format('insert into match.%I select * from match.person_term_unpartitioned where province = %L and term = %L',
                   core.partition_name('person_term', pt.term, pt.province) || '_new', pt.province, pt.term);
    perform core.attach_partition('match.person_term', pt.province, pt.term);
  end loop;
end $$;
drop table match.person_term_unpartitioned cascade;

-- Core tables and match.person_term partitioned by province first, then by term (they were by term, then province).
--
-- Publishing and matching put a province's new partition of a term in place of the old one inside their
-- transactions, and dropping the old one locks its parent exclusively. Under the old layout that parent was the
-- term's, shared by every province: two provinces sweeping at once each held a shared lock on it (reading their own
-- rows of the term) while waiting to drop, and deadlocked. Now a province's partitions hang from a parent of its own
-- (<table>_<province>), which no other province's statements touch. Making that parent locks the table's root, so
-- the sweep makes it in a short transaction of its own (core.province_partition, called by pipelines/load/loader.py
-- and pipelines/match.py) before the transactions that write.

create or replace function core.province_partition(p_source text, p_province text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare t text[] := core.partitioned_table(p_source);
begin
  if p_province !~ '^[0-9]{2}$' then
    raise exception 'bad province %', p_province;
  end if;
  if to_regclass(format('%I.%I', t[1], t[2] || '_' || p_province)) is null then
    execute format('create table %I.%I partition of %I.%I for values in (%L) partition by list (term)',
                   t[1], t[2] || '_' || p_province, t[1], t[2], p_province);
  end if;
end $$;

-- Put the table from core.new_partition in place of the province's partition of that term (indexes are built on
-- attach), with fresh statistics for the statements that read it next.
create or replace function core.attach_partition(p_source text, p_province text, p_term text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t text[] := core.partitioned_table(p_source);
  leaf text := core.partition_name(t[2], p_term, p_province);
begin
  if to_regclass(format('%I.%I', t[1], leaf || '_new')) is null then
    raise exception 'no new partition %.% to attach', t[1], leaf || '_new';
  end if;
  perform core.province_partition(p_source, p_province);
  execute format('drop table if exists %I.%I', t[1], leaf);
  execute format('alter table %I.%I rename to %I', t[1], leaf || '_new', leaf);
  execute format('alter table %I.%I attach partition %I.%I for values in (%L)',
                 t[1], t[2] || '_' || p_province, t[1], leaf, p_term);
  execute format('analyze %I.%I', t[1], leaf);
end $$;

revoke all on function core.province_partition(text, text) from public;

-- Move every partition, with its rows and indexes, into the new layout. The views that read these tables are
-- re-created after the migrations.
do $$
declare
  tbl text;
  t text[];
  old text;
  leaf record;
  idx record;
  indexes text[];
  pkey text;
begin
  foreach tbl in array array['core.hukou', 'core.registry', 'core.roster', 'core.poverty', 'core.special_groups',
                             'core.national_suspects', 'core.followups', 'core.exemptions', 'core.graduates',
                             'match.person_term'] loop
    t := string_to_array(tbl, '.');
    old := t[2] || '_by_term';
    execute format('alter table %I.%I rename to %I', t[1], t[2], old);
    create temp table relayout on commit drop as
      select l.relname as leaf, mid.relname as mid,
             substring(pg_get_expr(l.relpartbound, l.oid) from $r$IN \('(.*)'\)$r$) as province,
             substring(pg_get_expr(mid.relpartbound, mid.oid) from $r$IN \('(.*)'\)$r$) as term
      from pg_inherits i1
      join pg_class mid on mid.oid = i1.inhrelid
      join pg_inherits i2 on i2.inhparent = mid.oid
      join pg_class l on l.oid = i2.inhrelid
      where i1.inhparent = format('%I.%I', t[1], old)::regclass;
    for leaf in select * from relayout loop
      execute format('alter table %I.%I detach partition %I.%I', t[1], leaf.mid, t[1], leaf.leaf);
    end loop;
    select array_agg(indexdef) into indexes from pg_indexes i
      where i.schemaname = t[1] and i.tablename = old
        and not exists (select 1 from pg_constraint c where c.conindid = format('%I.%I', t[1], i.indexname)::regclass);
    select pg_get_constraintdef(c.oid) into pkey from pg_constraint c
      where c.conrelid = format('%I.%I', t[1], old)::regclass and c.contype = 'p';
    execute format('create table %I.%I (like %I.%I including defaults including constraints)'
                   ' partition by list (province)', t[1], t[2], t[1], old);
    execute format('drop table %I.%I cascade', t[1], old);
    if pkey is not null then
      execute format('alter table %I.%I add %s', t[1], t[2], pkey);
    end if;
    for idx in select unnest(coalesce(indexes, '{}')) as def loop
      execute replace(idx.def, format(' ON ONLY %s.%s ', t[1], old), format(' ON %s.%s ', t[1], t[2]));
    end loop;
    for leaf in select * from relayout loop
      perform core.province_partition(tbl, leaf.province);
      execute format('alter table %I.%I attach partition %I.%I for values in (%L)',
                     t[1], t[2] || '_' || leaf.province, t[1], leaf.leaf, leaf.term);
    end loop;
    drop table relayout;
  end loop;
end $$;

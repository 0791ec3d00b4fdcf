-- Attaching a partition analyzes only a plain table (matching's work table, which CREATE TABLE … AS leaves without
-- statistics). A staged file's table is partitioned, its leaves analyzed as they were staged
-- (pipelines/load/loader.py, analyze_staged); ANALYZE of a partitioned table samples all its leaves for statistics
-- of its own and then analyzes each leaf again. Its own are never read: statements name core's tables, whose
-- planner reads the leaves' statistics, and a partitioned table's own only when a statement names that table. For a
-- registry of ten million rows that second pass was 2 s of publishing.
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
  if (select relkind from pg_class where oid = format('%I.%I', t[1], leaf)::regclass) = 'r' then
    execute format('analyze %I.%I', t[1], leaf);
  end if;
end $$;

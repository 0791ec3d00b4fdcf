-- Publishing a staged file reads none of its rows to set its constraints.
--
-- core.attach_as_partition (0190) gave the table it attaches the parent's NOT NULL columns and a check of province
-- and term (the check spares ATTACH PARTITION its own scan), verified in one scan of the table: for a staged file of
-- ten million rows, 3–4 s of one core while publishing. Staging now makes each file's table with those constraints
-- while it is empty (pipelines/load/staging.py: every NOT NULL column of core, id_valid included, is NOT NULL in
-- staging, and the file's table has the check `province_term`), and COPY checks each row as it writes it. So the
-- constraints a table already has are not added again: a staged file is attached without a scan; matching's work
-- table, made by CREATE TABLE … AS, still gets them in one scan. The check is known by its name: should a table's
-- `province_term` say another province or term, ATTACH PARTITION, finding that it does not imply the partition's
-- bounds, reads the rows itself (and refuses them if they are not of that province and term).
create or replace function core.attach_as_partition(p_source text, p_province text, p_term text, p_table regclass)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t text[] := core.partitioned_table(p_source);
  leaf text := core.partition_name(t[2], p_term, p_province) || '_new';
  changes text[];
begin
  select array_agg(format('alter column %I set not null', a.attname) order by a.attnum) into changes
  from pg_attribute a
  join pg_attribute w on w.attrelid = p_table and w.attname = a.attname and not w.attisdropped and not w.attnotnull
  where a.attrelid = format('%I.%I', t[1], t[2])::regclass and a.attnum > 0 and not a.attisdropped and a.attnotnull;
  if not exists (select 1 from pg_constraint where conrelid = p_table and conname = 'province_term') then
    changes := changes || format('add constraint province_term check (province = %L and term = %L)', p_province,
                                 p_term);
  end if;
  if changes is not null then
    execute format('alter table %s %s', p_table, array_to_string(changes, ', '));
  end if;
  execute format('drop table if exists %I.%I', t[1], leaf);
  execute format('alter table %s rename to %I', p_table, leaf);  -- in a schema of its own run, which no other shares
  execute format('alter table %s set schema %I', p_table, t[1]);
  execute format('grant select, insert on %I.%I to kcbx_pipeline', t[1], leaf);
  perform core.attach_partition(p_source, p_province, p_term);
end $$;

-- A staged file becomes the province's partition of its term in core, in place: its rows are not copied again.
--
-- Publishing copied the accepted rows of a file from staging into a fresh core partition: thirty million rows at
-- ten million children, the slowest part of loading after COPY itself. But staging already holds every typed value
-- core keeps, in a table of the file's own (staging.<source>_<province>_<hash>, a leaf per COPY session), written
-- crash-safe and without WAL (pipelines/load/staging.py). So publishing takes the rejected rows out of it and hands
-- the table to core.attach_staged_file, which makes it a core partition: detached from staging, its typed columns plain
-- columns, its raw columns dropped (a dropped column is only hidden: the leaves keep those bytes, about a third of
-- their size, until the table is rewritten), the leaves' defaults and line sequences gone and the leaves moved into
-- core; core.attach_as_partition (below) then sets its constraints and puts it in place of the term's partition. The
-- term's partition is then itself partitioned, by line. Its leaves keep autovacuum off, as staging made them: they
-- are written once and analyzed on attach, and autovacuum's pass over ten million fresh rows, while matching reads
-- them, reads and dirties every page again (the anti-wraparound vacuum still runs when their age asks for it).

-- What core.new_partition gives an empty table, given to a full one, which is then put in place of the province's
-- partition of the term: the parent's NOT NULL columns and a check of province and term (verified in one scan,
-- which spares ATTACH its own), the partition's name and schema, the grant; then core.attach_partition. Shared by
-- matching's work table (core.attach_work_table, 0130) and a published file (core.attach_staged_file, below).
create function core.attach_as_partition(p_source text, p_province text, p_term text, p_table regclass) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t text[] := core.partitioned_table(p_source);
  leaf text := core.partition_name(t[2], p_term, p_province) || '_new';
  not_null text;
begin
  select string_agg(format('alter column %I set not null', a.attname), ', ' order by a.attnum) into not_null
  from pg_attribute a
  where a.attrelid = format('%I.%I', t[1], t[2])::regclass and a.attnum > 0 and not a.attisdropped and a.attnotnull;
  execute format('alter table %s %s, add check (province = %L and term = %L)', p_table, not_null, p_province,
                 p_term);
  execute format('drop table if exists %I.%I', t[1], leaf);
  execute format('alter table %s rename to %I', p_table, leaf);  -- in a schema of its own run, which no other shares
  execute format('alter table %s set schema %I', p_table, t[1]);
  execute format('grant select, insert on %I.%I to kcbx_pipeline', t[1], leaf);
  perform core.attach_partition(p_source, p_province, p_term);
end $$;

revoke all on function core.attach_as_partition(text, text, text, regclass) from public;

create or replace function core.attach_work_table(p_source text, p_province text, p_term text, p_table regclass)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if (select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = p_table)
     is distinct from 'match_work_' || p_province then  -- pipelines/match.py's work_schema
    raise exception 'table % is not a work table of province %', p_table, p_province;
  end if;
  perform core.attach_as_partition(p_source, p_province, p_term, p_table);
end $$;

create function core.attach_staged_file(p_source text, p_province text, p_term text, p_file_hash text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t text[] := core.partitioned_table(p_source);
  core_table regclass := format('core.%I', p_source)::regclass;
  staged text := format('%s_%s_%s', p_source, p_province, left(p_file_hash, 16));  -- staging.file_partition
  file_table regclass;
  changes text;
  leaf record;
begin
  if t[1] <> 'core' or p_province !~ '^[0-9]{2}$' then
    raise exception 'no staged file of % for province %', p_source, p_province;
  end if;
  file_table := to_regclass(format('staging.%I', staged));
  if file_table is null then
    raise exception 'file % of % is not staged for province %', left(p_file_hash, 16), p_source, p_province;
  end if;
  execute format('alter table staging.%I detach partition %s', p_source || '_' || p_province, file_table);

  select string_agg(format('alter column %I drop expression', attname), ', ') into changes
  from pg_attribute where attrelid = file_table and attgenerated = 's' and not attisdropped;
  execute format('alter table %s %s', file_table, changes);
  select string_agg(format('drop column %I', a.attname), ', ') into changes
  from pg_attribute a
  where a.attrelid = file_table and a.attnum > 0 and not a.attisdropped
    and not exists (select 1 from pg_attribute c where c.attrelid = core_table and c.attname = a.attname
                    and not c.attisdropped);
  execute format('alter table %s %s', file_table, changes);

  for leaf in select c.oid::regclass as rel, pg_get_serial_sequence(c.oid::regclass::text, 'line') as seq,
                     -- named after the term's partition and the file: the old partition's leaves are there until
                     -- core.attach_partition drops them
                     core.partition_name(p_source, p_term, p_province) || '_' || left(p_file_hash, 16)
                       || substr(c.relname, length(staged) + 1) as name
              from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = file_table loop
    execute format('alter table %s alter column province drop default, alter column term drop default,'
                   ' alter column file_hash drop default, alter column line drop default', leaf.rel);
    if leaf.seq is not null then
      execute format('drop sequence %s', leaf.seq);
    end if;
    execute format('alter table %s rename to %I', leaf.rel, leaf.name);
    execute format('alter table staging.%I set schema core', leaf.name);
    execute format('grant select, insert on core.%I to kcbx_pipeline', leaf.name);
  end loop;
  perform core.attach_as_partition(p_source, p_province, p_term, file_table);
end $$;

revoke all on function core.attach_staged_file(text, text, text, text) from public;

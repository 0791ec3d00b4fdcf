-- The deaths recorded in a province's hukou and registry extracts, indexed.
--
-- A death recorded in any earlier term stays a death (sql/match/03_person_status.sql, t_dead_before). Nothing
-- narrows that read to some partitions (every earlier term counts, and the term is compared by its ordinal), so
-- it scanned every hukou and registry partition the province had kept, whole: 4.5 s for the first term at ten
-- million children, and ten million rows more for every term kept. These partial indexes hold only the 死亡 rows
-- (two in a thousand), so the read looks them up in each partition: 0.16 s. Each costs one scan of the partition
-- when it is published (1.1–1.6 s at ten million rows), once, instead of one scan per later sweep.
create index hukou_deaths on core.hukou (id_number) where hukou_status = '死亡';
create index registry_deaths on core.registry (coalesce(id_number, 'XJ:' || student_no))
  where registry_status = '死亡';

-- Matching reads a term's hukou, registry and roster partitions whole and joins them by hashing (pipelines/match.py);
-- no query looks a row up in them by key. Their indexes only cost time: each publish built them again over the
-- whole partition (nine index builds over a million rows per source in a province sweep). The small sources keep
-- theirs.
drop index core.hukou_term_id, core.hukou_term_nbg,
  core.registry_term_id, core.registry_term_student, core.registry_term_nbg, core.registry_term_school,
  core.roster_term_id, core.roster_term_student, core.roster_term_school;

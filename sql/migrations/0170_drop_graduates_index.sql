-- Matching reads a term's primary graduates whole (sql/match/04_findings.sql groups them by ID number); nothing
-- looks one up by key. Their index only cost time: each publish built it over the whole partition (three million
-- rows in a province of ten million children: about 5 s, beside the roster's copy). See also 0100.
drop index core.graduates_term_id;

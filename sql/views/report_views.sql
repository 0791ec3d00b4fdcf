-- Trends: every indicator across all terms in the database, in time order.
drop view if exists report.indicator_trends;
create view report.indicator_trends as
select kcbx.term_ordinal(term) as term_order, * from report.region_term_indicators
order by province, region_level, region_code, kcbx.term_ordinal(term);

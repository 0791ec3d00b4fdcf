-- match.person_term keeps the two facts of a person's registry rows that make a non-continuation finding
-- (sql/match/04): a primary-school graduate (毕业 in grade 6), and enrolled (在读 or 休学) in grade 7 or above, on
-- any of the person's rows of the term. Matching has them at hand when it makes the term's rows (sql/match/03);
-- the findings then read them from the candidates' own rows instead of joining the candidates to the term's ten
-- million registry rows again (t_candidate: 3.5 s against 6–7 s at ten million children). Terms matched before this
-- migration have them null until they are matched again; the findings read only the term just matched.
alter table match.person_term
  add column primary_graduate boolean,
  add column in_junior_high boolean;

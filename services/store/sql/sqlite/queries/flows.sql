-- Status transitions inside the window [?1, ?2), per cell.
-- ?4: optional region filter, ?5: optional skill filter.
-- {skill} is `skill` per cell, or '*' for whole regions.
SELECT region, {skill} AS cell_skill,
    COUNT(DISTINCT CASE WHEN status = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status IN (3, 5) THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 4 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND woman = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND priority = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND rural = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND under_26 = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND jobseeker = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND woman = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND priority = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND rural = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND under_26 = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND jobseeker = 1 THEN learner END)
FROM enrolment_facts
WHERE occurred_at >= ?1 AND occurred_at < ?2
  AND (?4 IS NULL OR region = ?4)
  AND (?5 IS NULL OR skill = ?5)
  AND learner NOT IN (SELECT learner FROM erased_learners)
GROUP BY 1, 2

-- Status transitions inside the window [?1, ?2), per cell.
-- ?4: optional region filter, ?5: optional skill filter.
-- {skill} is `skill` per cell, or '*' for whole regions.
-- A learner's groups are those of the latest profile sent before ?6, the
-- end of the window's year (event time, then the larger event id), whatever
-- the event's status.
WITH profiles AS (
    SELECT learner, woman, priority, rural, under_26, jobseeker,
        ROW_NUMBER() OVER (PARTITION BY learner ORDER BY occurred_at DESC, event_id DESC) AS recency
    FROM enrolment_facts
    WHERE profiled = 1 AND occurred_at < ?6
      AND learner NOT IN (SELECT learner FROM erased_learners)
),
profile AS (
    SELECT learner AS profiled_learner, woman, priority, rural, under_26, jobseeker
    FROM profiles WHERE recency = 1
)
SELECT region, {skill} AS cell_skill,
    COUNT(DISTINCT CASE WHEN status = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status IN (3, 5) THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 4 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND p.woman = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND p.priority = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND p.rural = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND p.under_26 = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 1 AND p.jobseeker = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND p.woman = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND p.priority = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND p.rural = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND p.under_26 = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN status = 5 AND at_target = 1 AND p.jobseeker = 1 THEN learner END)
FROM enrolment_facts
LEFT JOIN profile AS p ON p.profiled_learner = enrolment_facts.learner
WHERE occurred_at >= ?1 AND occurred_at < ?2
  AND (?4 IS NULL OR region = ?4)
  AND (?5 IS NULL OR skill = ?5)
  AND learner NOT IN (SELECT learner FROM erased_learners)
GROUP BY 1, 2

-- Learners a cell is built on (any transition or assessment in [?1, ?2),
-- or active at ?2), active learners at ?2 (latest status by event time is enrolled or
-- started, so late and out-of-order events land right), and those planned
-- to finish before the horizon ?3.
WITH latest AS (
    SELECT region, skill, learner, status, planned_end,
        ROW_NUMBER() OVER (
            PARTITION BY learner, course_id, skill
            ORDER BY occurred_at DESC, status DESC
        ) AS recency
    FROM enrolment_facts
    WHERE occurred_at < ?2
      AND (?5 IS NULL OR skill = ?5)
      AND learner NOT IN (SELECT learner FROM erased_learners)
),
active AS (
    SELECT region, skill, learner, planned_end
    FROM latest
    WHERE recency = 1 AND status IN (1, 2)
      AND (?4 IS NULL OR region = ?4)
),
base AS (
    SELECT region, skill, learner, 0 AS is_active, 0 AS finishing
    FROM enrolment_facts
    WHERE occurred_at >= ?1 AND occurred_at < ?2
      AND (?4 IS NULL OR region = ?4)
      AND (?5 IS NULL OR skill = ?5)
      AND learner NOT IN (SELECT learner FROM erased_learners)
    UNION ALL
    SELECT region, skill, learner, 0, 0
    FROM assessment_facts
    WHERE occurred_at >= ?1 AND occurred_at < ?2
      AND (?4 IS NULL OR region = ?4)
      AND (?5 IS NULL OR skill = ?5)
      AND learner NOT IN (SELECT learner FROM erased_learners)
    UNION ALL
    SELECT region, skill, learner, 1,
        CASE WHEN planned_end IS NOT NULL AND planned_end < ?3 THEN 1 ELSE 0 END
    FROM active
)
SELECT region, {skill} AS cell_skill,
    COUNT(DISTINCT learner),
    COUNT(DISTINCT CASE WHEN is_active = 1 THEN learner END),
    COUNT(DISTINCT CASE WHEN finishing = 1 THEN learner END)
FROM base
GROUP BY 1, 2

-- Proficiency gain per (learner, skill, framework): the latest final
-- assessment inside [?1, ?2) minus the earliest initial one before ?2.
-- The cell is the region of the final assessment.
WITH finals AS (
    SELECT learner, skill, framework, region, level,
        ROW_NUMBER() OVER (
            PARTITION BY learner, skill, framework
            ORDER BY occurred_at DESC, event_id
        ) AS recency
    FROM assessment_facts
    WHERE phase = 3 AND occurred_at >= ?1 AND occurred_at < ?2
      AND (?5 IS NULL OR skill = ?5)
      AND learner NOT IN (SELECT learner FROM erased_learners)
),
initials AS (
    SELECT learner, skill, framework, level,
        ROW_NUMBER() OVER (
            PARTITION BY learner, skill, framework
            ORDER BY occurred_at ASC, event_id
        ) AS earliness
    FROM assessment_facts
    WHERE phase = 1 AND occurred_at < ?2
      AND (?5 IS NULL OR skill = ?5)
      AND learner NOT IN (SELECT learner FROM erased_learners)
)
SELECT f.region, {skill_of_f} AS cell_skill,
    SUM(f.level - i.level),
    COUNT(*)
FROM finals AS f
JOIN initials AS i
  ON i.learner = f.learner AND i.skill = f.skill AND i.framework = f.framework AND i.earliness = 1
WHERE f.recency = 1
  AND (?4 IS NULL OR f.region = ?4)
GROUP BY 1, 2

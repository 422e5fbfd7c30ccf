-- Proficiency gain per (learner, skill, framework): the latest final
-- assessment inside the window minus the earliest initial one before its
-- end. The cell is the region of the final assessment. {part}: as in base.sql.
SELECT part, region, {skill} AS cell_skill,
    sum(toInt64(final_level) - toInt64(initial_level)),
    count()
FROM (
    SELECT learner, skill, framework, any({part}) AS part,
        argMax(region, toUInt64(occurred_at)) AS region,
        argMax(level, toUInt64(occurred_at)) AS final_level
    FROM {db}.assessment_facts {partner_join}
    WHERE phase = 3 AND occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})
      AND {skill_filter} AND {learner_kept} AND {partner_filter}
    GROUP BY learner, skill, framework
) AS finals
ANY INNER JOIN (
    SELECT learner, skill, framework,
        argMin(level, toUInt64(occurred_at)) AS initial_level
    FROM {db}.assessment_facts
    WHERE phase = 1 AND occurred_at < toDateTime({end}) AND {skill_filter} AND {learner_kept}
    GROUP BY learner, skill, framework
) AS initials USING (learner, skill, framework)
WHERE {region_filter}
GROUP BY part, region, cell_skill

-- Learners a cell is built on (any transition or assessment in the
-- window, or active at its end), active learners at {end} (latest status by event time, ties to
-- the later status, is enrolled or started) and those planned to finish
-- before the horizon {horizon}. {part} is each learner's partner (from the
-- event, {partner_join}) for partner parts, else '' (one part: the cell).
SELECT part, region, cell_skill,
    uniqExact(learner),
    uniqExactIf(learner, is_active = 1),
    uniqExactIf(learner, finishing = 1)
FROM (
    SELECT {part} AS part, region, {skill} AS cell_skill, learner, toUInt8(0) AS is_active, toUInt8(0) AS finishing
    FROM {db}.enrolment_facts {partner_join}
    WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})
      AND {region_filter} AND {skill_filter} AND {learner_kept} AND {partner_filter}
    UNION ALL
    SELECT {part} AS part, region, {skill} AS cell_skill, learner, toUInt8(0) AS is_active, toUInt8(0) AS finishing
    FROM {db}.assessment_facts {partner_join}
    WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})
      AND {region_filter} AND {skill_filter} AND {learner_kept} AND {partner_filter}
    UNION ALL
    SELECT part, region, {skill} AS cell_skill, learner, toUInt8(1) AS is_active,
        toUInt8(planned_end > toDateTime(0) AND planned_end < toDateTime({horizon})) AS finishing
    FROM (
        SELECT learner, course_id, skill, any({part}) AS part,
            argMax(region, toUInt64(occurred_at) * 8 + status) AS region,
            argMax(status, toUInt64(occurred_at) * 8 + status) AS latest,
            argMax(planned_end, toUInt64(occurred_at) * 8 + status) AS planned_end
        FROM {db}.enrolment_facts {partner_join}
        WHERE occurred_at < toDateTime({end}) AND {skill_filter} AND {learner_kept} AND {partner_filter}
        GROUP BY learner, course_id, skill
    )
    WHERE latest IN (1, 2) AND {region_filter}
)
GROUP BY part, region, cell_skill

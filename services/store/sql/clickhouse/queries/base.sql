-- Learners a cell is built on (any transition or assessment in the
-- window, or active at its end), active learners at {end} (latest status by event time, ties to
-- the later status, is enrolled or started) and those planned to finish
-- before the horizon {horizon}.
SELECT region, cell_skill,
    uniqExact(learner),
    uniqExactIf(learner, is_active = 1),
    uniqExactIf(learner, finishing = 1)
FROM (
    SELECT region, {skill} AS cell_skill, learner, toUInt8(0) AS is_active, toUInt8(0) AS finishing
    FROM {db}.enrolment_facts
    WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})
      AND {region_filter} AND {skill_filter} AND {learner_kept}
    UNION ALL
    SELECT region, {skill} AS cell_skill, learner, toUInt8(0) AS is_active, toUInt8(0) AS finishing
    FROM {db}.assessment_facts
    WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})
      AND {region_filter} AND {skill_filter} AND {learner_kept}
    UNION ALL
    SELECT region, {skill} AS cell_skill, learner, toUInt8(1) AS is_active,
        toUInt8(planned_end > toDateTime(0) AND planned_end < toDateTime({horizon})) AS finishing
    FROM (
        SELECT learner, course_id, skill,
            argMax(region, toUInt64(occurred_at) * 8 + status) AS region,
            argMax(status, toUInt64(occurred_at) * 8 + status) AS latest,
            argMax(planned_end, toUInt64(occurred_at) * 8 + status) AS planned_end
        FROM {db}.enrolment_facts
        WHERE occurred_at < toDateTime({end}) AND {skill_filter} AND {learner_kept}
        GROUP BY learner, course_id, skill
    )
    WHERE latest IN (1, 2) AND {region_filter}
)
GROUP BY region, cell_skill

-- Status transitions inside [{start}, {end}), per cell. Distinct counts:
-- rows of the same event not yet merged cannot count twice. A learner's
-- groups are those of the latest profile sent before {year_end}, the end of
-- the window's year (event time, then the larger event id), whatever the
-- event's status. {part}: as in base.sql.
SELECT part, region, {skill} AS cell_skill,
    uniqExactIf(learner, status = 1),
    uniqExactIf(learner, status IN (3, 5)),
    uniqExactIf(learner, status = 4),
    uniqExactIf(learner, status = 5),
    uniqExactIf(learner, status = 5 AND at_target = 1),
    uniqExactIf(learner, status = 1 AND p_woman = 1),
    uniqExactIf(learner, status = 1 AND p_priority = 1),
    uniqExactIf(learner, status = 1 AND p_rural = 1),
    uniqExactIf(learner, status = 1 AND p_under_26 = 1),
    uniqExactIf(learner, status = 1 AND p_jobseeker = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND p_woman = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND p_priority = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND p_rural = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND p_under_26 = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND p_jobseeker = 1)
FROM (
    -- One join per SELECT (ClickHouse 18): the partner's, then the profile's.
    SELECT learner, skill, region, status, at_target, {part} AS part
    FROM {db}.enrolment_facts {partner_join}
    WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})
      AND {region_filter} AND {skill_filter} AND {learner_kept} AND {partner_filter}
) AS facts
LEFT JOIN (
    SELECT learner,
        argMax(woman, (occurred_at, event_id)) AS p_woman,
        argMax(priority, (occurred_at, event_id)) AS p_priority,
        argMax(rural, (occurred_at, event_id)) AS p_rural,
        argMax(under_26, (occurred_at, event_id)) AS p_under_26,
        argMax(jobseeker, (occurred_at, event_id)) AS p_jobseeker
    FROM {db}.enrolment_facts
    WHERE profiled = 1 AND occurred_at < toDateTime({year_end}) AND {learner_kept}
    GROUP BY learner
) AS profile USING (learner)
GROUP BY part, region, cell_skill

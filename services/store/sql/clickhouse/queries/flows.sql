-- Status transitions inside [{start}, {end}), per cell. Distinct counts:
-- rows of the same event not yet merged cannot count twice.
SELECT region, {skill} AS cell_skill,
    uniqExactIf(learner, status = 1),
    uniqExactIf(learner, status IN (3, 5)),
    uniqExactIf(learner, status = 4),
    uniqExactIf(learner, status = 5),
    uniqExactIf(learner, status = 5 AND at_target = 1),
    uniqExactIf(learner, status = 1 AND woman = 1),
    uniqExactIf(learner, status = 1 AND priority = 1),
    uniqExactIf(learner, status = 1 AND rural = 1),
    uniqExactIf(learner, status = 1 AND under_26 = 1),
    uniqExactIf(learner, status = 1 AND jobseeker = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND woman = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND priority = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND rural = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND under_26 = 1),
    uniqExactIf(learner, status = 5 AND at_target = 1 AND jobseeker = 1)
FROM {db}.enrolment_facts
WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})
  AND {region_filter} AND {skill_filter} AND {learner_kept}
GROUP BY region, cell_skill

-- The model's cells of one period: the newest version of each. The
-- aliases differ from the columns: an alias named like a column would
-- replace it inside the other aggregates.
-- {db}, {period}, {skill} ('*' cells or the others) and the filters
-- are filled in by the store (services/shared/store/src/clickhouse/model.rs).
SELECT period, region, skill, max(version) AS latest_version,
       argMax(learners, version) AS latest_learners,
       argMax(enrolled, version) AS latest_enrolled,
       argMax(active, version) AS latest_active,
       argMax(completed, version) AS latest_completed,
       argMax(dropped_out, version) AS latest_dropped_out,
       argMax(certified, version) AS latest_certified,
       argMax(certified_at_target, version) AS latest_certified_at_target,
       argMax(gain_sum, version) AS latest_gain_sum,
       argMax(gain_learners, version) AS latest_gain_learners,
       argMax(enrolled_women, version) AS latest_enrolled_women,
       argMax(enrolled_priority, version) AS latest_enrolled_priority,
       argMax(enrolled_rural, version) AS latest_enrolled_rural,
       argMax(enrolled_under_26, version) AS latest_enrolled_under_26,
       argMax(enrolled_jobseekers, version) AS latest_enrolled_jobseekers,
       argMax(certified_women, version) AS latest_certified_women,
       argMax(certified_priority, version) AS latest_certified_priority,
       argMax(certified_rural, version) AS latest_certified_rural,
       argMax(certified_under_26, version) AS latest_certified_under_26,
       argMax(certified_jobseekers, version) AS latest_certified_jobseekers,
       argMax(openings, version) AS latest_openings,
       argMax(hard_to_fill, version) AS latest_hard_to_fill,
       argMax(postings, version) AS latest_postings,
       argMax(finishing_months, version) AS latest_finishing_months,
       argMax(finishing_learners, version) AS latest_finishing_learners
FROM {db}.model_cells
WHERE period = {period} AND {skill_test} AND {region_filter} AND {skill_filter}
GROUP BY period, region, skill
ORDER BY region, skill

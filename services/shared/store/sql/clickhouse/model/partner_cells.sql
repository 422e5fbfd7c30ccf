-- Each partner's part of the model's cells of one period: the parts
-- written with each cell's newest version (a part missing there is empty).
-- The aliases differ from the columns, as in cells.sql.
-- {db}, {period}, {skill_test}, and the filters are filled in by the
-- store (services/shared/store/src/clickhouse/model.rs).
SELECT partner, region, skill,
       argMax(tallies, version) AS latest_tallies,
       argMax(finishing_months, version) AS latest_finishing_months,
       argMax(finishing_learners, version) AS latest_finishing_learners
FROM {db}.model_partner_cells
WHERE period = {period} AND {skill_test} AND {region_filter} AND {skill_filter} AND {partner_filter}
  AND (region, skill, version) IN (
      SELECT region, skill, max(version) FROM {db}.model_cells
      WHERE period = {period} AND {skill_test} AND {region_filter} AND {skill_filter}
      GROUP BY region, skill)
GROUP BY partner, region, skill
ORDER BY partner, region, skill

-- Openings posted inside [?1, ?2), per cell.
SELECT region, {skill} AS cell_skill,
    SUM(openings),
    SUM(hard_to_fill)
FROM demand_facts
WHERE occurred_at >= ?1 AND occurred_at < ?2
  AND (?4 IS NULL OR region = ?4)
  AND (?5 IS NULL OR skill = ?5)
GROUP BY 1, 2

-- Openings posted inside the window, per cell; one row per event and skill
-- even before merges. Inner aliases differ from column names: ClickHouse
-- resolves aliases in WHERE, so reusing a name would filter on an aggregate.
-- {part}: as in base.sql.
SELECT part, event_region AS region, skill AS cell_skill,
    sum(event_openings),
    sum(event_hard_to_fill)
FROM (
    SELECT event_id, skill, any({part}) AS part,
        any(region) AS event_region,
        any(openings) AS event_openings,
        any(hard_to_fill) AS event_hard_to_fill
    FROM {db}.demand_facts {partner_join}
    WHERE occurred_at >= toDateTime({start}) AND occurred_at < toDateTime({end})
      AND {region_filter} AND {skill_filter} AND {partner_filter}
    GROUP BY event_id, skill
)
GROUP BY part, region, cell_skill

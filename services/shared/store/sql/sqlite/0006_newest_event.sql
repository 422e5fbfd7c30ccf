-- The occurrence time of the newest counted event, kept as batches land
-- like the other status figures: a request without a period gets its year.
INSERT OR REPLACE INTO meta (key, value)
    SELECT 'status_newest_occurred_at', MAX(occurred_at) FROM applied_events HAVING COUNT(*) > 0;

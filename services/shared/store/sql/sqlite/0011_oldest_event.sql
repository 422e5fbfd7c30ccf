-- The occurrence time of the oldest counted event, kept as batches land:
-- a period that ends before it has no data, and is answered without a read.
-- An erasure may leave it older than the oldest event left, never newer.
INSERT OR REPLACE INTO meta (key, value)
    SELECT 'status_oldest_occurred_at', MIN(occurred_at) FROM applied_events HAVING COUNT(*) > 0;

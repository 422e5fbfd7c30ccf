-- ClickHouse store, version 6: what a partner's status reads (issue 17;
-- the embedded store's migration 12 says why). Events counted before this
-- version name no raw record ('' and -1).
ALTER TABLE {db}.applied_events ADD COLUMN source_topic String DEFAULT '';
ALTER TABLE {db}.applied_events ADD COLUMN source_partition Int32 DEFAULT -1;
ALTER TABLE {db}.applied_events ADD COLUMN source_offset Int64 DEFAULT -1;
ALTER TABLE {db}.dead_letters ADD COLUMN partner_id String DEFAULT '';

-- One row per raw record that repeated an event already received; a
-- replay writes the same key, merged away (reads count distinct keys).
CREATE TABLE IF NOT EXISTS {db}.duplicate_events (
    partner_id        String,
    source_topic      String,
    source_partition  Int32,
    source_offset     Int64,
    event_id          String,
    recorded_at       DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY (partner_id, source_topic, source_partition, source_offset);

-- ClickHouse store, version 1. Written in the subset that ClickHouse 18.16
-- and current ClickHouse both accept (checked by tests against both).
-- {db} is the database name. Times are DateTime('UTC'); 0 means "none".
--
-- Facts are idempotent by event id: ReplacingMergeTree drops repeated rows
-- at merge time, and every counter query is written so that rows not yet
-- merged cannot count twice (distinct learners, or one row per event id).
-- On a cluster: ReplicatedMergeTree('/clickhouse/tables/{shard}/{db}/<table>',
-- '{replica}') with the same ORDER BY, plus Distributed tables. Learner
-- facts are sharded by cityHash64(learner), not region: counters take each
-- learner's latest region and profile across regions, so all of one
-- learner's rows must be on one shard. Other tables by their id; reads
-- merge distinct counts across shards (never add per-shard results).

CREATE DATABASE IF NOT EXISTS {db};

CREATE TABLE IF NOT EXISTS {db}.applied_events (
    event_id     String,
    kind         String,
    partner_id   String,
    region       String,
    occurred_at  DateTime('UTC'),
    ingested_at  DateTime('UTC')
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id;

CREATE TABLE IF NOT EXISTS {db}.enrolment_facts (
    event_id         String,
    skill            String,
    learner          String,
    course_id        String,
    region           String,
    occurred_at      DateTime('UTC'),
    status           UInt8,
    planned_end      DateTime('UTC'),
    certified_level  UInt8,
    at_target        UInt8,
    woman            UInt8,
    priority         UInt8,
    rural            UInt8,
    under_26         UInt8,
    jobseeker        UInt8
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (region, skill, learner, event_id);

CREATE TABLE IF NOT EXISTS {db}.assessment_facts (
    event_id     String,
    learner      String,
    skill        String,
    region       String,
    occurred_at  DateTime('UTC'),
    framework    UInt8,
    level        UInt8,
    phase        UInt8
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (skill, learner, framework, event_id);

CREATE TABLE IF NOT EXISTS {db}.demand_facts (
    event_id      String,
    skill         String,
    region        String,
    occurred_at   DateTime('UTC'),
    openings      UInt32,
    hard_to_fill  UInt32
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (region, skill, event_id);

CREATE TABLE IF NOT EXISTS {db}.dead_letters (
    dead_letter_id    String,
    source_topic      String,
    source_partition  Int32,
    source_offset     Int64,
    reason            String,
    message           String,
    recorded_at       DateTime('UTC'),
    payload           String
) ENGINE = ReplacingMergeTree()
ORDER BY dead_letter_id;

CREATE TABLE IF NOT EXISTS {db}.checkpoints (
    consumer     String,
    topic        String,
    partition    Int32,
    next_offset  Int64
) ENGINE = ReplacingMergeTree(next_offset)
ORDER BY (consumer, topic, partition);

CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
    version     UInt32,
    applied_at  DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY version;

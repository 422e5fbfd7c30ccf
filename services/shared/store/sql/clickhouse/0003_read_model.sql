-- ClickHouse store, version 3: the read model, as mirrored by skills-model
-- from its local state (an embedded store whose model changes as events
-- arrive; docs/READ_MODEL.md). One row per cell and version: the absolute
-- sums of the cell, so a row written twice (a mirror repeated after a
-- crash) changes nothing, and the newest version of a cell is its value;
-- reads take argMax(·, version) per cell, so rows not yet merged away
-- never count. Unpartitioned: one mirror insert is one part.

CREATE TABLE IF NOT EXISTS {db}.model_cells (
    period               String,
    region               String,
    skill                String,
    version              UInt64,
    learners             Int64,
    enrolled             Int64,
    active               Int64,
    completed            Int64,
    dropped_out          Int64,
    certified            Int64,
    certified_at_target  Int64,
    gain_sum             Int64,
    gain_learners        Int64,
    enrolled_women       Int64,
    enrolled_priority    Int64,
    enrolled_rural       Int64,
    enrolled_under_26    Int64,
    enrolled_jobseekers  Int64,
    certified_women      Int64,
    certified_priority   Int64,
    certified_rural      Int64,
    certified_under_26   Int64,
    certified_jobseekers Int64,
    openings             Int64,
    hard_to_fill         Int64,
    postings             Int64,
    finishing_months     Array(Int32),
    finishing_learners   Array(Int64)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (period, region, skill);

-- Where the mirrored model stands (one logical row, name 'model'): the
-- state it copies (state_id 0: invalidated by a key rotation, so reads
-- count from the facts until skills-model has rebuilt), its last change
-- (seq), the last year with stocks, learners erased in it, events counted.
CREATE TABLE IF NOT EXISTS {db}.model_state (
    name        String,
    version     UInt64,
    state_id    Int64,
    seq         Int64,
    last_year   Int32,
    erased      UInt64,
    events      UInt64,
    written_at  DateTime('UTC')
) ENGINE = ReplacingMergeTree(version)
ORDER BY name;

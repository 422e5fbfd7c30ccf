-- Embedded store, version 4: the read model. Counters per cell (period ×
-- region × skill, skill '*' for a whole region) kept as sums over learners
-- and demand facts, changed in the same transaction as the facts that
-- change them (see skills_domain::read_model). A row whose sums are all
-- zero is read as no cell, as with the fact queries.
-- Periods are written as the API writes them: 2025, 2025-Q2, 2025-04.

CREATE TABLE IF NOT EXISTS cell_tallies (
    period               TEXT NOT NULL,
    region               TEXT NOT NULL,
    skill                TEXT NOT NULL,
    learners             INTEGER NOT NULL,
    enrolled             INTEGER NOT NULL,
    active               INTEGER NOT NULL,
    completed            INTEGER NOT NULL,
    dropped_out          INTEGER NOT NULL,
    certified            INTEGER NOT NULL,
    certified_at_target  INTEGER NOT NULL,
    gain_sum             INTEGER NOT NULL,
    gain_learners        INTEGER NOT NULL,
    enrolled_women       INTEGER NOT NULL,
    enrolled_priority    INTEGER NOT NULL,
    enrolled_rural       INTEGER NOT NULL,
    enrolled_under_26    INTEGER NOT NULL,
    enrolled_jobseekers  INTEGER NOT NULL,
    certified_women      INTEGER NOT NULL,
    certified_priority   INTEGER NOT NULL,
    certified_rural      INTEGER NOT NULL,
    certified_under_26   INTEGER NOT NULL,
    certified_jobseekers INTEGER NOT NULL,
    openings             INTEGER NOT NULL,
    hard_to_fill         INTEGER NOT NULL,
    postings             INTEGER NOT NULL,
    PRIMARY KEY (period, region, skill)
) WITHOUT ROWID;

-- What status() reports, kept as batches land (counting 4.7 million
-- applied events took 0.3 s, twice a second, on the connection reads wait for).
INSERT OR REPLACE INTO meta (key, value) SELECT 'status_events', COUNT(*) FROM applied_events;
INSERT OR REPLACE INTO meta (key, value) SELECT 'status_dead_letters', COUNT(*) FROM dead_letters;
INSERT OR REPLACE INTO meta (key, value)
    SELECT 'status_newest_ingested_at', MAX(ingested_at) FROM applied_events HAVING COUNT(*) > 0;

-- Active learners at the period's end by the month of their earliest
-- planned end (year * 12 + month - 1): a pipeline horizon of any number of
-- months sums the rows before it.
CREATE TABLE IF NOT EXISTS cell_finishing (
    period             TEXT NOT NULL,
    region             TEXT NOT NULL,
    skill              TEXT NOT NULL,
    planned_end_month  INTEGER NOT NULL,
    learners           INTEGER NOT NULL,
    PRIMARY KEY (period, region, skill, planned_end_month)
) WITHOUT ROWID;

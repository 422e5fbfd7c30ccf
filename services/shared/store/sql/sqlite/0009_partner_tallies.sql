-- Embedded store, version 9: each partner's part of every read-model cell.
-- Learner pseudonyms are partner-scoped, so a cell's tallies are the sum of
-- its partners' rows. Partners read their own figures here, and the
-- publication reads each figure's largest single-partner part (a partner
-- must not learn, by subtracting its own learners, that fewer than k
-- learners of other partners are in a figure). Filled by the rebuild that
-- follows this migration, then kept by every batch, as cell_tallies is.

CREATE TABLE IF NOT EXISTS partner_tallies (
    partner              TEXT NOT NULL,
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
    PRIMARY KEY (period, partner, region, skill)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS partner_finishing (
    partner           TEXT NOT NULL,
    period            TEXT NOT NULL,
    region            TEXT NOT NULL,
    skill             TEXT NOT NULL,
    planned_end_month INTEGER NOT NULL,
    learners          INTEGER NOT NULL,
    PRIMARY KEY (period, partner, region, skill, planned_end_month)
) WITHOUT ROWID;

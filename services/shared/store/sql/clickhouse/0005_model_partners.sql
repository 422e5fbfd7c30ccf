-- ClickHouse store, version 5: each partner's part of the mirrored model's
-- cells (issue 14: partners see their own part of a figure, and the
-- publication protects what each partner knows). skills-model writes, at
-- every copy of a cell, all of its non-empty parts at the cell's version
-- in model_cells; a part is current when its version is the cell's newest,
-- so a partner whose part fell to nothing simply has no row at that
-- version. Parts of one cell sum to the cell.

CREATE TABLE IF NOT EXISTS {db}.model_partner_cells (
    period               String,
    region               String,
    skill                String,
    partner              String,
    version              UInt64,
    -- The part's sums in the order of skills_domain::read_model::TALLY_COLUMNS
    -- (learners, enrolled, ..., postings): read only whole, by the store.
    tallies              Array(Int64),
    finishing_months     Array(Int32),
    finishing_learners   Array(Int64)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (period, region, skill, partner);

-- A model mirrored before this version has no parts: it is marked invalid
-- (reads count from the facts) until skills-model rebuilds and copies it
-- whole, parts included.
INSERT INTO {db}.model_state (name, version, state_id, seq, last_year, erased, events, written_at)
SELECT name, greatest(version, (SELECT max(version) FROM {db}.model_cells)) + 1, 0, seq, last_year, erased, events, now()
FROM {db}.model_state WHERE name = 'model' ORDER BY version DESC LIMIT 1;

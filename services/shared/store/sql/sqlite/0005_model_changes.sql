-- Embedded store, version 5: which read-model cells changed, in order, for
-- a store whose model is mirrored elsewhere (skills-model keeps one as its
-- local state and copies the changed cells to ClickHouse; see
-- docs/READ_MODEL.md). Written only when meta 'model_tracking' is 1; every
-- change takes a higher seq (meta 'model_seq'). A cell whose sums fell to
-- zero keeps its row here, so that the mirror learns it is gone.

CREATE TABLE IF NOT EXISTS model_changes (
    period  TEXT NOT NULL,
    region  TEXT NOT NULL,
    skill   TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (period, region, skill)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS model_changes_by_seq ON model_changes (seq);

-- Embedded store, version 12: what a partner's status reads (issue 17).
-- Each counted event keeps the raw record it was read from, so that a
-- repeat of it from another raw record is told from a replay of the same
-- one; events counted before this version name none ('' and -1: any
-- repeat of them is taken as a duplicate).
ALTER TABLE applied_events ADD COLUMN source_topic TEXT NOT NULL DEFAULT '';
ALTER TABLE applied_events ADD COLUMN source_partition INTEGER NOT NULL DEFAULT -1;
ALTER TABLE applied_events ADD COLUMN source_offset INTEGER NOT NULL DEFAULT -1;
CREATE INDEX IF NOT EXISTS applied_events_by_partner ON applied_events (partner_id, ingested_at, occurred_at);

-- The partner a dead letter came from ('' when unknown, and for those
-- recorded before this version).
ALTER TABLE dead_letters ADD COLUMN partner_id TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS dead_letters_by_partner ON dead_letters (partner_id, reason, recorded_at);

-- A partner's repeats of events already received from another raw record:
-- not counted, recorded once per raw record (a replay writes the same row).
CREATE TABLE IF NOT EXISTS duplicate_events (
    source_topic     TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    INTEGER NOT NULL,
    event_id         TEXT NOT NULL,
    partner_id       TEXT NOT NULL,
    recorded_at      INTEGER NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS duplicate_events_by_partner ON duplicate_events (partner_id);

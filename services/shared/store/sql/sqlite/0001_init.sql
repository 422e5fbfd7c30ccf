-- Embedded store, version 1: facts keyed by event id (idempotent under
-- replay), dead letters keyed by their source, consumer checkpoints.
-- Times are Unix seconds, UTC.

CREATE TABLE IF NOT EXISTS applied_events (
    event_id     TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    partner_id   TEXT NOT NULL,
    region       TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    ingested_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS enrolment_facts (
    event_id         TEXT NOT NULL,
    skill            TEXT NOT NULL,
    learner          TEXT NOT NULL,
    course_id        TEXT NOT NULL,
    region           TEXT NOT NULL,
    occurred_at      INTEGER NOT NULL,
    status           INTEGER NOT NULL,
    planned_end      INTEGER,
    certified_level  INTEGER,
    at_target        INTEGER NOT NULL,
    woman            INTEGER NOT NULL,
    priority         INTEGER NOT NULL,
    rural            INTEGER NOT NULL,
    under_26         INTEGER NOT NULL,
    jobseeker        INTEGER NOT NULL,
    PRIMARY KEY (event_id, skill)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS enrolment_facts_by_time ON enrolment_facts (occurred_at);
-- Serves the "latest status per learner, course and skill" window.
CREATE INDEX IF NOT EXISTS enrolment_facts_by_learner
    ON enrolment_facts (learner, course_id, skill, occurred_at, status);

CREATE TABLE IF NOT EXISTS assessment_facts (
    event_id     TEXT PRIMARY KEY,
    learner      TEXT NOT NULL,
    skill        TEXT NOT NULL,
    region       TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    framework    INTEGER NOT NULL,
    level        INTEGER NOT NULL,
    phase        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS assessment_facts_by_learner
    ON assessment_facts (learner, skill, framework, phase, occurred_at);

CREATE TABLE IF NOT EXISTS demand_facts (
    event_id      TEXT NOT NULL,
    skill         TEXT NOT NULL,
    region        TEXT NOT NULL,
    occurred_at   INTEGER NOT NULL,
    openings      INTEGER NOT NULL,
    hard_to_fill  INTEGER NOT NULL,
    PRIMARY KEY (event_id, skill)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS demand_facts_by_time ON demand_facts (occurred_at);

CREATE TABLE IF NOT EXISTS dead_letters (
    dead_letter_id  TEXT PRIMARY KEY,
    source_topic    TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset   INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    message         TEXT NOT NULL,
    recorded_at     INTEGER NOT NULL,
    payload         BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS checkpoints (
    consumer     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    partition    INTEGER NOT NULL,
    next_offset  INTEGER NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS meta (
    key    TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
) WITHOUT ROWID;

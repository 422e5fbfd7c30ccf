-- Embedded store, version 2: reconciliation looks dead letters up by where
-- their raw message was read.
CREATE INDEX IF NOT EXISTS dead_letters_by_source
    ON dead_letters (source_topic, source_partition, source_offset);

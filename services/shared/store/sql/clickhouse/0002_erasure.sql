-- ClickHouse store, version 2: the right to erasure. A forgotten learner's
-- pseudonyms (under every key version) are kept here, so that their facts
-- never count again, even those of events that arrive or are replayed
-- after the request; the facts themselves are deleted by a mutation.
-- A pseudonym is not the learner's identifier: keeping it is what lets
-- the request be honoured for good.
CREATE TABLE IF NOT EXISTS {db}.erased_learners (
    learner     String,
    erased_at   DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY learner;

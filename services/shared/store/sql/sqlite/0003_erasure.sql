-- Embedded store, version 3: the right to erasure. Pseudonyms of forgotten
-- learners; their facts are deleted and never count again.
CREATE TABLE IF NOT EXISTS erased_learners (
    learner     TEXT PRIMARY KEY,
    erased_at   TEXT NOT NULL
);

-- Embedded store, version 8: whether an enrolment event carried a learner
-- profile. A learner's inclusion groups in a period come from the latest
-- profile sent before the period's end, whatever the event's status (issue
-- 14), so an event without one must not count as "in no group". Facts
-- stored before this version did not record it: one with any group flag
-- set certainly had a profile; one with none is taken as having had none
-- (a profile in no group is rare, and taking it as absent lets an earlier
-- profile stand, which is what the partner meant more often). The model
-- is rebuilt from the facts after this migration.
ALTER TABLE enrolment_facts ADD COLUMN profiled INTEGER NOT NULL DEFAULT 0;
UPDATE enrolment_facts SET profiled = 1 WHERE woman + priority + rural + under_26 + jobseeker > 0;

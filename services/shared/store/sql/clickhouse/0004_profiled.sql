-- ClickHouse store, version 4: whether an enrolment event carried a
-- learner profile (issue 14: a learner's groups in a period come from the
-- latest profile sent before its end, whatever the event's status). Facts
-- stored before this version did not record it: one with a group flag set
-- had a profile; one with none is taken as having had none (see the
-- embedded store's migration 8).
ALTER TABLE {db}.enrolment_facts ADD COLUMN profiled UInt8 DEFAULT toUInt8(woman + priority + rural + under_26 + jobseeker > 0);

//! Rows as written in RowBinary: field order is column order.

use crate::{Checkpoint, DeadLetter};
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use skills_domain::facts::{AssessmentFact, DemandFact, DuplicateEvent, EnrolmentFact, EventFacts, RawSource};

/// Seconds for a DateTime column; out-of-range instants clamp.
pub(crate) fn seconds(unix: i64) -> u32 {
    unix.clamp(0, i64::from(u32::MAX)) as u32
}

/// The month partition (YYYYMM, UTC) a row with this event time lands in.
pub(crate) fn month_of(unix: i64) -> u32 {
    use chrono::Datelike;
    let time = chrono::DateTime::from_timestamp(i64::from(seconds(unix)), 0).unwrap_or_default();
    time.year() as u32 * 100 + time.month()
}

#[derive(Row, Serialize, Deserialize)]
pub struct AppliedEventRow {
    event_id: String,
    kind: String,
    partner_id: String,
    region: String,
    occurred_at: u32,
    ingested_at: u32,
    /// The raw record ('' and -1 when not known).
    source_topic: String,
    source_partition: i32,
    source_offset: i64,
}

impl From<&EventFacts> for AppliedEventRow {
    fn from(event: &EventFacts) -> Self {
        let source = event.source.as_ref();
        AppliedEventRow {
            event_id: event.event_id.clone(),
            kind: event.kind.to_string(),
            partner_id: event.partner_id.clone(),
            region: event.region.clone(),
            occurred_at: seconds(event.occurred_at),
            ingested_at: seconds(event.ingested_at),
            source_topic: source.map_or_else(String::new, |s| s.topic.clone()),
            source_partition: source.map_or(-1, |s| s.partition),
            source_offset: source.map_or(-1, |s| s.offset),
        }
    }
}

#[derive(Row, Serialize)]
pub struct DuplicateRow {
    partner_id: String,
    source_topic: String,
    source_partition: i32,
    source_offset: i64,
    event_id: String,
    recorded_at: u32,
}

impl DuplicateRow {
    pub(crate) fn new(event_id: &str, partner_id: &str, source: &RawSource) -> Self {
        DuplicateRow {
            partner_id: partner_id.to_string(),
            source_topic: source.topic.clone(),
            source_partition: source.partition,
            source_offset: source.offset,
            event_id: event_id.to_string(),
            recorded_at: seconds(chrono::Utc::now().timestamp()),
        }
    }
}

impl DuplicateRow {
    pub(crate) fn event_id(&self) -> &str {
        &self.event_id
    }

    pub(crate) fn is_from(&self, source: &RawSource) -> bool {
        self.source_topic == source.topic
            && self.source_partition == source.partition
            && self.source_offset == source.offset
    }
}

impl From<&DuplicateEvent> for DuplicateRow {
    fn from(duplicate: &DuplicateEvent) -> Self {
        DuplicateRow::new(&duplicate.event_id, &duplicate.partner_id, &duplicate.source)
    }
}

#[derive(Row, Serialize, Deserialize)]
pub struct EnrolmentRow {
    event_id: String,
    skill: String,
    learner: String,
    course_id: String,
    region: String,
    occurred_at: u32,
    status: u8,
    planned_end: u32,
    certified_level: u8,
    at_target: u8,
    woman: u8,
    priority: u8,
    rural: u8,
    under_26: u8,
    jobseeker: u8,
    profiled: u8,
}

impl From<&EnrolmentFact> for EnrolmentRow {
    fn from(fact: &EnrolmentFact) -> Self {
        let groups = fact.profile.unwrap_or_default();
        EnrolmentRow {
            event_id: fact.event_id.clone(),
            skill: fact.skill.clone(),
            learner: fact.learner.clone(),
            course_id: fact.course_id.clone(),
            region: fact.region.clone(),
            occurred_at: seconds(fact.occurred_at),
            status: fact.status as u8,
            planned_end: fact.planned_end.map_or(0, seconds),
            certified_level: fact.certified_level.unwrap_or(0) as u8,
            at_target: fact.at_target.into(),
            woman: groups.woman.into(),
            priority: groups.priority_neighbourhood.into(),
            rural: groups.rural.into(),
            under_26: groups.under_26.into(),
            jobseeker: groups.jobseeker.into(),
            profiled: fact.profile.is_some().into(),
        }
    }
}

#[derive(Row, Serialize, Deserialize)]
pub struct AssessmentRow {
    event_id: String,
    learner: String,
    skill: String,
    region: String,
    occurred_at: u32,
    framework: u8,
    level: u8,
    phase: u8,
}

impl From<&AssessmentFact> for AssessmentRow {
    fn from(fact: &AssessmentFact) -> Self {
        AssessmentRow {
            event_id: fact.event_id.clone(),
            learner: fact.learner.clone(),
            skill: fact.skill.clone(),
            region: fact.region.clone(),
            occurred_at: seconds(fact.occurred_at),
            framework: fact.framework as u8,
            level: fact.level as u8,
            phase: fact.phase as u8,
        }
    }
}

#[derive(Row, Serialize, Deserialize)]
pub struct DemandRow {
    event_id: String,
    skill: String,
    region: String,
    occurred_at: u32,
    openings: u32,
    hard_to_fill: u32,
}

impl From<&DemandFact> for DemandRow {
    fn from(fact: &DemandFact) -> Self {
        DemandRow {
            event_id: fact.event_id.clone(),
            skill: fact.skill.clone(),
            region: fact.region.clone(),
            occurred_at: seconds(fact.occurred_at),
            openings: fact.openings,
            hard_to_fill: fact.hard_to_fill,
        }
    }
}

#[derive(Row, Serialize)]
pub struct DeadLetterRow {
    pub(super) dead_letter_id: String,
    source_topic: String,
    source_partition: i32,
    source_offset: i64,
    reason: String,
    message: String,
    recorded_at: u32,
    /// String in ClickHouse holds any bytes.
    #[serde(with = "serde_bytes_as_string")]
    payload: Vec<u8>,
    partner_id: String,
}

impl From<&DeadLetter> for DeadLetterRow {
    fn from(letter: &DeadLetter) -> Self {
        DeadLetterRow {
            dead_letter_id: letter.id.clone(),
            source_topic: letter.source_topic.clone(),
            source_partition: letter.source_partition,
            source_offset: letter.source_offset,
            reason: letter.reason.clone(),
            message: letter.message.clone(),
            recorded_at: seconds(chrono::Utc::now().timestamp()),
            payload: letter.payload.clone(),
            partner_id: letter.partner_id.clone(),
        }
    }
}

/// RowBinary writes a String as its length and bytes, like a byte slice.
mod serde_bytes_as_string {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }
}

#[derive(Row, Serialize)]
pub struct CheckpointRow {
    consumer: String,
    topic: String,
    partition: i32,
    next_offset: i64,
}

impl From<&Checkpoint> for CheckpointRow {
    fn from(checkpoint: &Checkpoint) -> Self {
        CheckpointRow {
            consumer: checkpoint.consumer.clone(),
            topic: checkpoint.topic.clone(),
            partition: checkpoint.partition,
            next_offset: checkpoint.next_offset,
        }
    }
}

/// Back from rows to facts (skills-model restores its state from them).
impl AppliedEventRow {
    pub(crate) fn into_event(self) -> EventFacts {
        EventFacts {
            kind: match self.kind.as_str() {
                "enrolment" => "enrolment",
                "assessment" => "assessment",
                _ => "demand",
            },
            event_id: self.event_id,
            partner_id: self.partner_id,
            region: self.region,
            occurred_at: i64::from(self.occurred_at),
            ingested_at: i64::from(self.ingested_at),
            facts: Default::default(),
            source: (self.source_offset >= 0).then_some(RawSource {
                topic: self.source_topic,
                partition: self.source_partition,
                offset: self.source_offset,
            }),
        }
    }
}

impl EnrolmentRow {
    pub(crate) fn into_fact(self) -> EnrolmentFact {
        EnrolmentFact {
            event_id: self.event_id,
            skill: self.skill,
            learner: self.learner,
            course_id: self.course_id,
            region: self.region,
            occurred_at: i64::from(self.occurred_at),
            status: i32::from(self.status),
            planned_end: (self.planned_end > 0).then_some(i64::from(self.planned_end)),
            certified_level: (self.certified_level > 0).then_some(u32::from(self.certified_level)),
            at_target: self.at_target != 0,
            profile: (self.profiled != 0).then_some(skills_domain::facts::Groups {
                woman: self.woman != 0,
                priority_neighbourhood: self.priority != 0,
                rural: self.rural != 0,
                under_26: self.under_26 != 0,
                jobseeker: self.jobseeker != 0,
            }),
        }
    }
}

impl AssessmentRow {
    pub(crate) fn into_fact(self) -> AssessmentFact {
        AssessmentFact {
            event_id: self.event_id,
            learner: self.learner,
            skill: self.skill,
            region: self.region,
            occurred_at: i64::from(self.occurred_at),
            framework: i32::from(self.framework),
            level: u32::from(self.level),
            phase: i32::from(self.phase),
        }
    }
}

impl DemandRow {
    pub(crate) fn into_fact(self) -> DemandFact {
        DemandFact {
            event_id: self.event_id,
            skill: self.skill,
            region: self.region,
            occurred_at: i64::from(self.occurred_at),
            openings: self.openings,
            hard_to_fill: self.hard_to_fill,
        }
    }
}

pub(crate) fn event_row_columns<T: clickhouse::Row>() -> String {
    T::COLUMN_NAMES.join(", ")
}

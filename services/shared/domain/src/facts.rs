//! Facts: the rows a store keeps for each normalized event, one per event
//! and skill. Every fact carries its event id, so applying an event twice
//! stores it once. Stores count over facts; the formulas live in
//! `indicators`.

use crate::events::to_datetime;
use crate::reference;
use skills_proto::v1 as pb;
use thiserror::Error;

/// Enrolment statuses as stored (the proto enum numbers).
pub mod status {
    pub const ENROLLED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const COMPLETED: i32 = 3;
    pub const DROPPED_OUT: i32 = 4;
    pub const CERTIFIED: i32 = 5;
}

/// Assessment phases as stored (the proto enum numbers).
pub mod phase {
    pub const INITIAL: i32 = 1;
    pub const FINAL: i32 = 3;
}

/// Inclusion groups a learner belongs to, from a profile sent with an
/// enrolment event (any status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Groups {
    pub woman: bool,
    pub priority_neighbourhood: bool,
    pub rural: bool,
    pub under_26: bool,
    pub jobseeker: bool,
}

impl Groups {
    pub fn of(profile: &pb::LearnerProfile) -> Groups {
        Groups {
            woman: profile.gender == pb::Gender::Female as i32,
            priority_neighbourhood: profile.priority_neighbourhood,
            rural: profile.rural_resident,
            under_26: profile.age_band == pb::AgeBand::Under26 as i32,
            jobseeker: profile.employment_status == pb::EmploymentStatus::Jobseeker as i32,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnrolmentFact {
    pub event_id: String,
    pub skill: String,
    pub learner: String,
    pub course_id: String,
    pub region: String,
    /// Unix seconds, event time.
    pub occurred_at: i64,
    pub status: i32,
    pub planned_end: Option<i64>,
    pub certified_level: Option<u32>,
    /// Certified at or above the skill's target level.
    pub at_target: bool,
    /// The learner's groups, when the event carried a profile. Which
    /// profile counts for a period is decided in `read_model`.
    pub profile: Option<Groups>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentFact {
    pub event_id: String,
    pub learner: String,
    pub skill: String,
    pub region: String,
    pub occurred_at: i64,
    pub framework: i32,
    pub level: u32,
    pub phase: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemandFact {
    pub event_id: String,
    pub skill: String,
    pub region: String,
    pub occurred_at: i64,
    pub openings: u32,
    pub hard_to_fill: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FactSet {
    pub enrolments: Vec<EnrolmentFact>,
    pub assessments: Vec<AssessmentFact>,
    pub demands: Vec<DemandFact>,
}

impl FactSet {
    pub fn extend(&mut self, other: FactSet) {
        self.enrolments.extend(other.enrolments);
        self.assessments.extend(other.assessments);
        self.demands.extend(other.demands);
    }

    pub fn is_empty(&self) -> bool {
        self.enrolments.is_empty() && self.assessments.is_empty() && self.demands.is_empty()
    }
}

/// A normalized event that cannot become facts: a producer bug or a message
/// written by something else. The aggregator dead-letters it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FactError {
    #[error("normalized event has no {0}")]
    Missing(&'static str),
    #[error("normalized event has an unknown code: {0}")]
    Unknown(#[from] reference::ReferenceError),
}

/// One normalized event as a store records it: what it was, and its facts.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFacts {
    pub event_id: String,
    /// "enrolment", "assessment" or "demand".
    pub kind: &'static str,
    pub partner_id: String,
    pub region: String,
    pub occurred_at: i64,
    pub ingested_at: i64,
    pub facts: FactSet,
    /// The raw record it was read from, when ingestion named it: a repeat
    /// of a counted event from another raw record is a partner's duplicate,
    /// from the same record a replay (see `RawSource`).
    pub source: Option<RawSource>,
}

/// Where a raw partner record was read: topic, partition and offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawSource {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl RawSource {
    /// `topic:partition:offset`, as the `duplicate-of` header writes it.
    pub fn parse(text: &str) -> Option<RawSource> {
        let (rest, offset) = text.rsplit_once(':')?;
        let (topic, partition) = rest.rsplit_once(':')?;
        Some(RawSource { topic: topic.to_string(), partition: partition.parse().ok()?, offset: offset.parse().ok()? })
    }
}

impl std::fmt::Display for RawSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.topic, self.partition, self.offset)
    }
}

/// A partner's repeat of an event already received from another raw
/// record: not counted again, but recorded (once per raw record) so the
/// partner's status can say how many of its sends were duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateEvent {
    pub event_id: String,
    pub partner_id: String,
    pub source: RawSource,
}

pub fn facts_of(event: &pb::NormalizedEvent) -> Result<EventFacts, FactError> {
    use pb::normalized_event::Payload;
    if event.event_id.is_empty() {
        return Err(FactError::Missing("event_id"));
    }
    let occurred_at =
        event.occurred_at.as_ref().and_then(to_datetime).ok_or(FactError::Missing("occurred_at"))?.timestamp();
    let region = reference::region(&event.region)?.code.to_string();
    let ingested_at = event.ingested_at.as_ref().and_then(to_datetime).map_or(occurred_at, |t| t.timestamp());
    let mut facts = FactSet::default();
    let kind = match event.payload.as_ref().ok_or(FactError::Missing("payload"))? {
        Payload::Enrolment(enrolment) => {
            if enrolment.learner.is_empty() {
                return Err(FactError::Missing("learner"));
            }
            let planned_end = enrolment.planned_end.as_ref().and_then(to_datetime).map(|t| t.timestamp());
            let profile = enrolment.profile.as_ref().map(Groups::of);
            for skill_code in &enrolment.skills {
                let skill = reference::skill(skill_code)?;
                let at_target = enrolment.status == status::CERTIFIED
                    && enrolment.certified_level.is_some_and(|level| level >= skill.target_level);
                facts.enrolments.push(EnrolmentFact {
                    event_id: event.event_id.clone(),
                    skill: skill.code.to_string(),
                    learner: enrolment.learner.clone(),
                    course_id: enrolment.course_id.clone(),
                    region: region.clone(),
                    occurred_at,
                    status: enrolment.status,
                    planned_end,
                    certified_level: enrolment.certified_level,
                    at_target,
                    profile,
                });
            }
            "enrolment"
        }
        Payload::Assessment(assessment) => {
            if assessment.learner.is_empty() {
                return Err(FactError::Missing("learner"));
            }
            facts.assessments.push(AssessmentFact {
                event_id: event.event_id.clone(),
                learner: assessment.learner.clone(),
                skill: reference::skill(&assessment.skill)?.code.to_string(),
                region: region.clone(),
                occurred_at,
                framework: assessment.framework,
                level: assessment.level,
                phase: assessment.phase,
            });
            "assessment"
        }
        Payload::Demand(demand) => {
            for skill_code in &demand.skills {
                facts.demands.push(DemandFact {
                    event_id: event.event_id.clone(),
                    skill: reference::skill(skill_code)?.code.to_string(),
                    region: region.clone(),
                    occurred_at,
                    openings: demand.openings,
                    hard_to_fill: demand.hard_to_fill,
                });
            }
            "demand"
        }
    };
    Ok(EventFacts {
        event_id: event.event_id.clone(),
        kind,
        partner_id: event.partner_id.clone(),
        region,
        occurred_at,
        ingested_at,
        facts,
        source: None,
    })
}

/// A stable identity for a dead letter: where the raw message was read and
/// what it held. Re-reading the same message gives the same id, so a
/// dead letter is recorded once however often it is replayed.
pub fn dead_letter_id(topic: &str, partition: i32, offset: i64, payload: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(topic.as_bytes());
    hasher.update([0]);
    hasher.update(partition.to_be_bytes());
    hasher.update(offset.to_be_bytes());
    hasher.update(payload);
    let mut id = hex::encode(hasher.finalize());
    id.truncate(32);
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{IngestPolicy, normalize};
    use crate::pseudonym::{Pseudonymiser, SecretKey};

    fn normalized(json: serde_json::Value) -> pb::NormalizedEvent {
        let p = Pseudonymiser::single(SecretKey::from_bytes(vec![1; 32]).unwrap(), 1);
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        normalize(json.to_string().as_bytes(), None, &IngestPolicy::default(), &p, now).unwrap()
    }

    #[test]
    fn a_raw_source_reads_back_what_it_writes() {
        let source = RawSource { topic: "skills.raw:odd".into(), partition: 3, offset: 42 };
        assert_eq!(RawSource::parse(&source.to_string()), Some(source));
        assert_eq!(RawSource::parse("topic:x:1"), None);
        assert_eq!(RawSource::parse("topic"), None);
    }

    #[test]
    fn a_certified_enrolment_gives_one_fact_per_skill_with_target_checked() {
        let event = normalized(serde_json::json!({
            "event_id": "00000000-0000-4000-8000-000000000001", "occurred_at": "2025-06-01T00:00:00Z",
            "partner_id": "p", "schema_version": 1,
            "enrolment": {"learner_id": "l", "course_id": "c", "skills": ["3.4", "2.1"],
                "place": {"region": "11"}, "status": "CERTIFIED", "certified_level": 4,
                "profile": {"gender": "FEMALE", "employment_status": "JOBSEEKER"}}
        }));
        let recorded = facts_of(&event).unwrap();
        assert_eq!(recorded.kind, "enrolment");
        assert_eq!(recorded.region, "11");
        let facts = recorded.facts;
        assert_eq!(facts.enrolments.len(), 2);
        let programming = &facts.enrolments[0];
        assert_eq!(programming.skill, "3.4");
        assert!(!programming.at_target, "3.4 targets level 5");
        assert!(facts.enrolments[1].at_target, "2.1 targets level 4");
        let groups = programming.profile.expect("the event carried a profile");
        assert!(groups.woman && groups.jobseeker && !groups.rural);
    }

    #[test]
    fn demand_by_occupation_counts_for_each_mapped_skill() {
        let event = normalized(serde_json::json!({
            "event_id": "00000000-0000-4000-8000-000000000002", "occurred_at": "2025-06-01T00:00:00Z",
            "partner_id": "p", "schema_version": 1,
            "labour_demand": {"source": "s", "place": {"region": "11"}, "rome_code": "M1801", "openings": 10, "hard_to_fill": 3}
        }));
        let facts = facts_of(&event).unwrap().facts;
        let skills: Vec<_> = facts.demands.iter().map(|d| d.skill.as_str()).collect();
        assert_eq!(skills, ["4.1", "5.1"]);
        assert!(facts.demands.iter().all(|d| d.openings == 10 && d.hard_to_fill == 3));
    }

    #[test]
    fn malformed_normalized_events_are_errors() {
        let mut event = pb::NormalizedEvent { event_id: "x".into(), ..Default::default() };
        assert_eq!(facts_of(&event), Err(FactError::Missing("occurred_at")));
        event.occurred_at = Some(skills_proto::Timestamp { seconds: 1_700_000_000, nanos: 0 });
        event.region = "99".into();
        assert!(matches!(facts_of(&event), Err(FactError::Unknown(_))));
    }

    #[test]
    fn dead_letter_ids_depend_on_place_and_content() {
        let id = dead_letter_id("t", 0, 5, b"x");
        assert_eq!(id, dead_letter_id("t", 0, 5, b"x"));
        assert_ne!(id, dead_letter_id("t", 0, 6, b"x"));
        assert_ne!(id, dead_letter_id("t", 1, 5, b"x"));
        assert_ne!(id, dead_letter_id("t", 0, 5, b"y"));
        assert_eq!(id.len(), 32);
    }
}

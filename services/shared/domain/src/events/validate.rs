//! Validation of a decoded envelope: required fields, known codes, levels in
//! range, plausible event time. Places are resolved to their region and
//! occupations to skills here, so everything downstream sees known codes.

use super::rejection::{RejectReason, Rejection};
use super::{to_datetime, to_timestamp};
use crate::pseudonym::Pseudonymiser;
use crate::reference::{self, DIGCOMP_LEVELS, ECF_LEVELS, ReferenceError};
use chrono::{DateTime, Duration, TimeZone, Utc};
use skills_proto::v1 as pb;
use skills_proto::v1::event_envelope::Payload;

pub const SCHEMA_VERSION: u32 = 1;
const MAX_ID_LEN: usize = 256;
const MAX_OPENINGS: u32 = 1_000_000;

/// Limits applied to every raw event.
#[derive(Debug, Clone)]
pub struct IngestPolicy {
    pub max_message_bytes: usize,
    /// Events may be stamped this far in the future (clock skew).
    pub future_tolerance: Duration,
    /// Nothing before this instant is plausible.
    pub earliest: DateTime<Utc>,
}

impl Default for IngestPolicy {
    fn default() -> Self {
        IngestPolicy {
            max_message_bytes: 64 * 1024,
            future_tolerance: Duration::minutes(5),
            earliest: Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).single().expect("valid date"),
        }
    }
}

/// An envelope that passed validation, with its place resolved.
#[derive(Debug, Clone)]
pub struct ValidEvent {
    pub envelope: pb::EventEnvelope,
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub region: &'static str,
    /// Skills the event counts towards (demand: from the ROME map if needed).
    pub skills: Vec<&'static str>,
}

/// The event id as every stage stores it: a UUID, hyphenated, lower case.
pub fn canonical_event_id(text: &str) -> Result<String, Rejection> {
    let event_id = required_text("event_id", text)?;
    Ok(uuid::Uuid::parse_str(event_id)
        .map_err(|_| Rejection::invalid("event_id", format!("{event_id:?} is not a UUID")).with_value(event_id))?
        .hyphenated()
        .to_string())
}

pub fn validate(
    envelope: pb::EventEnvelope,
    policy: &IngestPolicy,
    now: DateTime<Utc>,
) -> Result<ValidEvent, Rejection> {
    let event_id = canonical_event_id(&envelope.event_id)?;
    let occurred_at = envelope.occurred_at.as_ref().ok_or_else(|| Rejection::missing("occurred_at"))?;
    let occurred_at =
        to_datetime(occurred_at).ok_or_else(|| Rejection::invalid("occurred_at", "timestamp out of range"))?;
    check_event_time(occurred_at, policy, now)?;
    required_text("partner_id", &envelope.partner_id)?;
    match envelope.schema_version {
        0 => return Err(Rejection::missing("schema_version")),
        SCHEMA_VERSION => {}
        other => {
            return Err(Rejection::new(
                RejectReason::UnsupportedSchemaVersion,
                format!("schema_version {other} is not supported (supported: {SCHEMA_VERSION})"),
            )
            .at("schema_version")
            .with_value(other));
        }
    }
    let (region, skills) = match &envelope.payload {
        None => {
            return Err(Rejection::new(
                RejectReason::UnknownKind,
                "event has no payload: expected one of enrolment, assessment, labour_demand",
            ));
        }
        Some(Payload::Enrolment(enrolment)) => validate_enrolment(enrolment, policy)?,
        Some(Payload::Assessment(assessment)) => validate_assessment(assessment)?,
        Some(Payload::LabourDemand(demand)) => validate_demand(demand)?,
    };
    Ok(ValidEvent { envelope, event_id, occurred_at, region, skills })
}

fn check_event_time(occurred_at: DateTime<Utc>, policy: &IngestPolicy, now: DateTime<Utc>) -> Result<(), Rejection> {
    if occurred_at < policy.earliest {
        return Err(Rejection::new(
            RejectReason::TimestampTooOld,
            format!("occurred_at {} is before {}", occurred_at.to_rfc3339(), policy.earliest.to_rfc3339()),
        )
        .at("occurred_at")
        .with_value(occurred_at.to_rfc3339()));
    }
    if occurred_at > now + policy.future_tolerance {
        return Err(Rejection::new(
            RejectReason::TimestampInFuture,
            format!("occurred_at {} is in the future (now {})", occurred_at.to_rfc3339(), now.to_rfc3339()),
        )
        .at("occurred_at")
        .with_value(occurred_at.to_rfc3339()));
    }
    Ok(())
}

fn validate_enrolment(
    enrolment: &pb::Enrolment,
    policy: &IngestPolicy,
) -> Result<(&'static str, Vec<&'static str>), Rejection> {
    required_text("enrolment.learner_id", &enrolment.learner_id)?;
    required_text("enrolment.course_id", &enrolment.course_id)?;
    let region = resolve_place("enrolment.place", enrolment.place.as_ref())?;
    if enrolment.skills.is_empty() {
        return Err(Rejection::missing("enrolment.skills"));
    }
    let skills = known_skills("enrolment.skills", &enrolment.skills)?;
    let status = pb::EnrolmentStatus::try_from(enrolment.status)
        .map_err(|_| unknown_enum("enrolment.status", enrolment.status))?;
    if status == pb::EnrolmentStatus::Unspecified {
        return Err(Rejection::missing("enrolment.status"));
    }
    if let Some(planned_end) = &enrolment.planned_end {
        let planned_end =
            to_datetime(planned_end).ok_or_else(|| Rejection::invalid("enrolment.planned_end", "out of range"))?;
        if planned_end < policy.earliest {
            return Err(Rejection::invalid(
                "enrolment.planned_end",
                format!("{} is before 2015", planned_end.to_rfc3339()),
            )
            .with_value(planned_end.to_rfc3339()));
        }
    }
    if let Some(satisfaction) = enrolment.satisfaction
        && !(1..=5).contains(&satisfaction)
    {
        return Err(Rejection::invalid("enrolment.satisfaction", format!("{satisfaction} is not in 1..5"))
            .with_value(satisfaction));
    }
    match (status, enrolment.certified_level) {
        (pb::EnrolmentStatus::Certified, None) => return Err(Rejection::missing("enrolment.certified_level")),
        (_, Some(level)) if !DIGCOMP_LEVELS.contains(&level) => {
            return Err(Rejection::new(
                RejectReason::LevelOutOfRange,
                format!("enrolment.certified_level {level} is not a DigComp level (1..8)"),
            )
            .at("enrolment.certified_level")
            .with_value(level));
        }
        _ => {}
    }
    if let Some(profile) = &enrolment.profile {
        check_enum::<pb::Gender>("enrolment.profile.gender", profile.gender)?;
        check_enum::<pb::AgeBand>("enrolment.profile.age_band", profile.age_band)?;
        check_enum::<pb::EmploymentStatus>("enrolment.profile.employment_status", profile.employment_status)?;
    }
    Ok((region, skills))
}

fn validate_assessment(assessment: &pb::Assessment) -> Result<(&'static str, Vec<&'static str>), Rejection> {
    required_text("assessment.learner_id", &assessment.learner_id)?;
    let skill = required_text("assessment.skill", &assessment.skill)?;
    let skills = known_skills("assessment.skill", &[skill.to_string()])?;
    let region = resolve_place("assessment.place", assessment.place.as_ref())?;
    let framework = pb::Framework::try_from(assessment.framework)
        .map_err(|_| unknown_enum("assessment.framework", assessment.framework))?;
    let levels = match framework {
        pb::Framework::Unspecified => return Err(Rejection::missing("assessment.framework")),
        pb::Framework::Digcomp22 | pb::Framework::DigcompFr => DIGCOMP_LEVELS,
        pb::Framework::Ecf => ECF_LEVELS,
    };
    if !levels.contains(&assessment.level) {
        return Err(Rejection::new(
            RejectReason::LevelOutOfRange,
            format!(
                "assessment.level {} is out of range for {} ({}..{})",
                assessment.level,
                framework.as_str_name(),
                levels.start(),
                levels.end()
            ),
        )
        .at("assessment.level")
        .with_value(assessment.level));
    }
    if !assessment.score.is_finite() || !(0.0..=100.0).contains(&assessment.score) {
        return Err(Rejection::invalid("assessment.score", format!("{} is not in 0..100", assessment.score))
            .with_value(assessment.score));
    }
    let phase = pb::AssessmentPhase::try_from(assessment.phase)
        .map_err(|_| unknown_enum("assessment.phase", assessment.phase))?;
    if phase == pb::AssessmentPhase::Unspecified {
        return Err(Rejection::missing("assessment.phase"));
    }
    Ok((region, skills))
}

fn validate_demand(demand: &pb::LabourDemand) -> Result<(&'static str, Vec<&'static str>), Rejection> {
    use pb::labour_demand::Target;
    required_text("labour_demand.source", &demand.source)?;
    let region = resolve_place("labour_demand.place", demand.place.as_ref())?;
    let skills = match &demand.target {
        None => return Err(Rejection::missing("labour_demand.skill or labour_demand.rome_code")),
        Some(Target::Skill(skill)) => known_skills("labour_demand.skill", std::slice::from_ref(skill))?,
        Some(Target::RomeCode(rome)) => reference::skills_of_rome(rome.trim())
            .map_err(|error| reference_rejection("labour_demand.rome_code", error))?
            .to_vec(),
    };
    if demand.openings == 0 || demand.openings > MAX_OPENINGS {
        return Err(Rejection::invalid(
            "labour_demand.openings",
            format!("{} is not in 1..{MAX_OPENINGS}", demand.openings),
        )
        .with_value(demand.openings));
    }
    if demand.hard_to_fill > demand.openings {
        return Err(Rejection::invalid(
            "labour_demand.hard_to_fill",
            format!("{} exceeds openings {}", demand.hard_to_fill, demand.openings),
        )
        .with_value(demand.hard_to_fill));
    }
    Ok((region, skills))
}

fn required_text<'a>(field: &str, value: &'a str) -> Result<&'a str, Rejection> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Rejection::missing(field));
    }
    if trimmed.len() > MAX_ID_LEN {
        return Err(Rejection::invalid(field, format!("longer than {MAX_ID_LEN} bytes")));
    }
    Ok(trimmed)
}

fn check_enum<E: TryFrom<i32>>(field: &str, value: i32) -> Result<(), Rejection> {
    E::try_from(value).map(|_| ()).map_err(|_| unknown_enum(field, value))
}

fn unknown_enum(field: &str, value: i32) -> Rejection {
    Rejection::invalid(field, format!("unknown value {value}")).with_value(value)
}

fn resolve_place(field: &str, place: Option<&pb::Place>) -> Result<&'static str, Rejection> {
    use pb::place::Code;
    let code = place.and_then(|place| place.code.as_ref()).ok_or_else(|| Rejection::missing(field))?;
    let region = match code {
        Code::Region(region) => reference::region(region.trim()),
        Code::Department(department) => reference::region_of_department(department.trim()),
        Code::Commune(commune) => reference::region_of_commune(commune.trim()),
    };
    region.map(|region| region.code).map_err(|error| reference_rejection(field, error))
}

/// Known skills, deduplicated, in the order given.
fn known_skills(field: &str, codes: &[String]) -> Result<Vec<&'static str>, Rejection> {
    let mut skills: Vec<&'static str> = Vec::with_capacity(codes.len());
    for code in codes {
        let skill = reference::skill(code.trim()).map_err(|error| reference_rejection(field, error))?;
        if !skills.contains(&skill.code) {
            skills.push(skill.code);
        }
    }
    Ok(skills)
}

fn reference_rejection(field: &str, error: ReferenceError) -> Rejection {
    let (reason, value) = match &error {
        ReferenceError::UnknownRegion(code) | ReferenceError::UnknownRegionName(code) => {
            (RejectReason::UnknownRegion, code)
        }
        ReferenceError::UnknownDepartment(code) => (RejectReason::UnknownDepartment, code),
        ReferenceError::MalformedCommune(code) => (RejectReason::MalformedCommune, code),
        ReferenceError::UnknownSkill(code) => (RejectReason::UnknownSkill, code),
        ReferenceError::UnknownRomeCode(code) => (RejectReason::UnknownRomeCode, code),
    };
    Rejection::new(reason, error.to_string()).at(field).with_value(value)
}

impl ValidEvent {
    /// The normalized envelope: region and skills resolved, learner
    /// pseudonymised. The raw learner id does not survive this call.
    pub fn into_normalized(self, pseudonymiser: &Pseudonymiser, ingested_at: DateTime<Utc>) -> pb::NormalizedEvent {
        use pb::normalized_event::Payload as Out;
        let partner_id = self.envelope.partner_id.trim().to_string();
        let skills: Vec<String> = self.skills.iter().map(|skill| skill.to_string()).collect();
        let payload = match self.envelope.payload.expect("validated events have a payload") {
            Payload::Enrolment(enrolment) => Out::Enrolment(pb::NormalizedEnrolment {
                learner: pseudonymiser.pseudonymise(&partner_id, enrolment.learner_id.trim()),
                course_id: enrolment.course_id.trim().to_string(),
                programme: enrolment.programme.trim().to_string(),
                skills,
                status: enrolment.status,
                planned_end: enrolment.planned_end,
                profile: enrolment.profile,
                satisfaction: enrolment.satisfaction,
                certified_level: enrolment.certified_level,
            }),
            Payload::Assessment(assessment) => Out::Assessment(pb::NormalizedAssessment {
                learner: pseudonymiser.pseudonymise(&partner_id, assessment.learner_id.trim()),
                skill: skills.into_iter().next().expect("an assessment has one skill"),
                framework: assessment.framework,
                level: assessment.level,
                score: assessment.score,
                phase: assessment.phase,
            }),
            Payload::LabourDemand(demand) => Out::Demand(pb::NormalizedDemand {
                source: demand.source.trim().to_string(),
                skills,
                openings: demand.openings,
                hard_to_fill: demand.hard_to_fill,
                rome_code: match demand.target {
                    Some(pb::labour_demand::Target::RomeCode(rome)) => rome.trim().to_string(),
                    _ => String::new(),
                },
            }),
        };
        pb::NormalizedEvent {
            event_id: self.event_id,
            occurred_at: Some(to_timestamp(self.occurred_at)),
            ingested_at: Some(to_timestamp(ingested_at)),
            partner_id,
            region: self.region.to_string(),
            payload: Some(payload),
        }
    }
}

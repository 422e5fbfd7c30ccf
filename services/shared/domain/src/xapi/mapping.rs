//! xAPI statements to partner events: the mapping documented in
//! docs/xapi.md. Pure: a statement, the partner that sent it and the time
//! the store received it in, an `EventEnvelope` or the reason it maps to
//! none (`unmapped_statement`).

use super::statement::Statement;
use crate::events::{RejectReason, Rejection, to_timestamp};
use crate::reference;
use chrono::{DateTime, Utc};
use serde_json::Value;
use skills_proto::v1 as pb;
use skills_proto::v1::event_envelope::Payload;

/// The agreed extension keys (in the result, the context or the activity
/// definition).
pub mod extensions {
    /// DigComp competence code, or a list of them: `"3.4"`, `["3.4", "5.1"]`.
    pub const COMPETENCE: &str = "urn:skills-monitor:xapi:competence";
    /// The level reached or measured (DigComp 1..8, e-CF 1..5).
    pub const LEVEL: &str = "urn:skills-monitor:xapi:level";
    /// `DIGCOMP_2_2` (the default), `DIGCOMP_FR` or `ECF`.
    pub const FRAMEWORK: &str = "urn:skills-monitor:xapi:framework";
    /// `initial`, `intermediate` or `final`.
    pub const PHASE: &str = "urn:skills-monitor:xapi:phase";
    /// The contract's Place: `{"region": "84"}`, `{"department": "69"}` or
    /// `{"commune": "69123"}`.
    pub const PLACE: &str = "urn:skills-monitor:xapi:place";
    /// The contract's LearnerProfile, in its JSON form.
    pub const PROFILE: &str = "urn:skills-monitor:xapi:profile";
    /// The programme label, e.g. `"GEN"`.
    pub const PROGRAMME: &str = "urn:skills-monitor:xapi:programme";
    /// The planned end of the course, RFC 3339.
    pub const PLANNED_END: &str = "urn:skills-monitor:xapi:planned-end";
}

/// What a verb becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mapped {
    Enrolment(pb::EnrolmentStatus),
    Assessment { default_phase: Option<pb::AssessmentPhase> },
}

const ADL: &str = "http://adlnet.gov/expapi/verbs/";

fn mapped_verb(verb: &str) -> Option<Mapped> {
    use pb::EnrolmentStatus as S;
    let adl = verb.strip_prefix(ADL);
    Some(match adl {
        Some("registered") => Mapped::Enrolment(S::Enrolled),
        Some("initialized") | Some("launched") => Mapped::Enrolment(S::Started),
        Some("completed") => Mapped::Enrolment(S::Completed),
        Some("passed") => Mapped::Enrolment(S::Certified),
        Some("failed") => Mapped::Assessment { default_phase: Some(pb::AssessmentPhase::Final) },
        Some("scored") => Mapped::Assessment { default_phase: None },
        // cmi5's verb for a learner who left without finishing.
        _ if verb == "https://w3id.org/xapi/adl/verbs/abandoned" => Mapped::Enrolment(S::DroppedOut),
        _ => return None,
    })
}

/// The event a statement stands for. `received_at` is when the store took
/// it: the event time when the statement has no timestamp.
pub fn to_envelope(
    statement: &Statement,
    partner_id: &str,
    received_at: DateTime<Utc>,
) -> Result<pb::EventEnvelope, Rejection> {
    let mapped = mapped_verb(&statement.verb.id)
        .ok_or_else(|| unmapped(format!("verb {} maps to no event (see docs/xapi.md)", statement.verb.id)))?;
    let activity = statement
        .object
        .id
        .as_deref()
        .filter(|_| statement.object.object_type.as_deref().is_none_or(|kind| kind == "Activity"));
    let activity = activity.ok_or_else(|| unmapped("the object is not an activity".into()))?;
    let occurred_at = match &statement.timestamp {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map_err(|_| Rejection::invalid("timestamp", format!("{text:?} is not an ISO 8601 date-time")))?
            .with_timezone(&Utc),
        None => received_at,
    };
    let skills = competences(statement, activity)?;
    let place = Some(place(statement)?);
    let level = level(statement)?;
    let payload = match mapped {
        Mapped::Enrolment(status) => {
            if status == pb::EnrolmentStatus::Certified && level.is_none() {
                return Err(unmapped(format!("passed without the level certified ({})", extensions::LEVEL)));
            }
            Payload::Enrolment(pb::Enrolment {
                learner_id: statement.learner_id(),
                course_id: activity.to_string(),
                programme: text_extension(statement, extensions::PROGRAMME)?.unwrap_or_default(),
                skills,
                place,
                status: status as i32,
                planned_end: planned_end(statement)?,
                profile: profile(statement)?,
                satisfaction: None,
                certified_level: level.filter(|_| status == pb::EnrolmentStatus::Certified),
            })
        }
        Mapped::Assessment { default_phase } => {
            let level = level.ok_or_else(|| unmapped(format!("no level measured ({})", extensions::LEVEL)))?;
            let phase = match (phase(statement)?, default_phase) {
                (Some(phase), _) | (None, Some(phase)) => phase,
                (None, None) => return Err(unmapped(format!("scored without its phase ({})", extensions::PHASE))),
            };
            let skill = match skills.as_slice() {
                [skill] => skill.clone(),
                _ => return Err(unmapped("an assessment measures one competence; this names several".into())),
            };
            Payload::Assessment(pb::Assessment {
                learner_id: statement.learner_id(),
                skill,
                framework: framework(statement)? as i32,
                level,
                score: score(statement),
                phase: phase as i32,
                place,
            })
        }
    };
    Ok(pb::EventEnvelope {
        event_id: statement.id.clone().unwrap_or_default(),
        occurred_at: Some(to_timestamp(occurred_at)),
        partner_id: partner_id.to_string(),
        schema_version: crate::events::SCHEMA_VERSION,
        payload: Some(payload),
    })
}

fn unmapped(message: String) -> Rejection {
    Rejection::new(RejectReason::UnmappedStatement, message)
}

/// The competences: the extension, else a DigComp code in the activity id
/// (`…/digcomp/3.4…`, `…DIGCOMP34…`).
fn competences(statement: &Statement, activity: &str) -> Result<Vec<String>, Rejection> {
    let codes: Vec<String> = match statement.extension(extensions::COMPETENCE) {
        Some(Value::String(code)) => vec![code.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| Rejection::invalid(extensions::COMPETENCE, "expected competence codes as strings"))?,
        Some(other) => {
            return Err(Rejection::invalid(extensions::COMPETENCE, format!("{other} is not a competence code")));
        }
        None => competence_in_iri(activity).into_iter().collect(),
    };
    if codes.is_empty() {
        return Err(unmapped(format!(
            "no DigComp competence: neither {} nor a code in the activity id {activity}",
            extensions::COMPETENCE
        )));
    }
    Ok(codes)
}

/// The last `digcomp` in the IRI followed, after an optional separator, by
/// a competence code with or without its dot, if it is a known one.
pub fn competence_in_iri(iri: &str) -> Option<String> {
    let lower = iri.to_ascii_lowercase();
    let start = lower.rfind("digcomp")? + "digcomp".len();
    let rest = lower[start..].trim_start_matches(['-', '_', '/', ':', '+', '=']).as_bytes();
    let (a, b, used) = match rest {
        [a, b'.', b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => (*a, *b, 3),
        [a, b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => (*a, *b, 2),
        _ => return None,
    };
    if rest.get(used).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let code = format!("{}.{}", a as char, b as char);
    reference::skill(&code).ok().map(|skill| skill.code.to_string())
}

fn place(statement: &Statement) -> Result<pb::Place, Rejection> {
    use pb::place::Code;
    let value = statement
        .extension(extensions::PLACE)
        .ok_or_else(|| unmapped(format!("no place: the extension {} is required", extensions::PLACE)))?;
    let invalid = || {
        Rejection::invalid(
            extensions::PLACE,
            format!("{value} is not one of {{\"region\"|\"department\"|\"commune\": code}}"),
        )
    };
    let object = value.as_object().filter(|object| object.len() == 1).ok_or_else(invalid)?;
    let (kind, code) = object.iter().next().ok_or_else(invalid)?;
    let code = code.as_str().ok_or_else(invalid)?.to_string();
    let code = match kind.as_str() {
        "region" => Code::Region(code),
        "department" => Code::Department(code),
        "commune" => Code::Commune(code),
        _ => return Err(invalid()),
    };
    Ok(pb::Place { code: Some(code) })
}

fn level(statement: &Statement) -> Result<Option<u32>, Rejection> {
    match statement.extension(extensions::LEVEL) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
            .and_then(|level| u32::try_from(level).ok())
            .map(Some)
            .ok_or_else(|| Rejection::invalid(extensions::LEVEL, format!("{value} is not a level")).with_value(value)),
    }
}

fn text_extension(statement: &Statement, key: &str) -> Result<Option<String>, Rejection> {
    match statement.extension(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(Rejection::invalid(key, format!("{other} is not text"))),
    }
}

fn framework(statement: &Statement) -> Result<pb::Framework, Rejection> {
    let Some(name) = text_extension(statement, extensions::FRAMEWORK)? else { return Ok(pb::Framework::Digcomp22) };
    let upper = name.trim().to_ascii_uppercase();
    pb::Framework::from_str_name(&upper)
        .or_else(|| pb::Framework::from_str_name(&format!("FRAMEWORK_{upper}")))
        .ok_or_else(|| {
            Rejection::invalid(extensions::FRAMEWORK, format!("unknown framework {name:?}")).with_value(name)
        })
}

fn phase(statement: &Statement) -> Result<Option<pb::AssessmentPhase>, Rejection> {
    let Some(name) = text_extension(statement, extensions::PHASE)? else { return Ok(None) };
    let upper = name.trim().to_ascii_uppercase();
    pb::AssessmentPhase::from_str_name(&format!("ASSESSMENT_PHASE_{upper}"))
        .filter(|phase| *phase != pb::AssessmentPhase::Unspecified)
        .map(Some)
        .ok_or_else(|| Rejection::invalid(extensions::PHASE, format!("unknown phase {name:?}")).with_value(name))
}

fn planned_end(statement: &Statement) -> Result<Option<skills_proto::Timestamp>, Rejection> {
    let Some(text) = text_extension(statement, extensions::PLANNED_END)? else { return Ok(None) };
    let instant = DateTime::parse_from_rfc3339(&text).map_err(|_| {
        Rejection::invalid(extensions::PLANNED_END, format!("{text:?} is not RFC 3339")).with_value(&text)
    })?;
    Ok(Some(to_timestamp(instant.with_timezone(&Utc))))
}

fn profile(statement: &Statement) -> Result<Option<pb::LearnerProfile>, Rejection> {
    let Some(value) = statement.extension(extensions::PROFILE) else { return Ok(None) };
    skills_proto::json::from_json::<pb::LearnerProfile>(value.clone())
        .map(Some)
        .map_err(|error| Rejection::invalid(extensions::PROFILE, error))
}

/// The score on 0..100: `scaled` (0..1) × 100, else `raw` within
/// `min`..`max`, else `raw` itself; 0 when there is none. A negative
/// scaled score counts as 0.
fn score(statement: &Statement) -> f64 {
    let Some(score) = statement.result.as_ref().and_then(|result| result.score.as_ref()) else { return 0.0 };
    match (score.scaled, score.raw, score.min, score.max) {
        (Some(scaled), ..) => (scaled.clamp(0.0, 1.0)) * 100.0,
        (None, Some(raw), Some(min), Some(max)) if max > min => ((raw - min) / (max - min)).clamp(0.0, 1.0) * 100.0,
        (None, Some(raw), ..) => raw,
        _ => 0.0,
    }
}

//! The JSON form of the partner contract: the same snake_case field names as
//! the .proto files, timestamps as RFC 3339 strings, enums by name ("STARTED"
//! or "ENROLMENT_STATUS_STARTED", any case) or number. Unknown fields are
//! ignored, as protobuf does, so partners can add fields first.

use super::rejection::Rejection;
use super::to_timestamp;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use skills_proto::v1 as pb;

#[derive(Debug, Deserialize)]
pub struct JsonEnvelope {
    event_id: Option<String>,
    occurred_at: Option<String>,
    partner_id: Option<String>,
    schema_version: Option<u32>,
    enrolment: Option<JsonEnrolment>,
    assessment: Option<JsonAssessment>,
    labour_demand: Option<JsonLabourDemand>,
}

#[derive(Debug, Deserialize)]
struct JsonPlace {
    region: Option<String>,
    department: Option<String>,
    commune: Option<String>,
}

#[derive(Debug)]
enum EnumText {
    Name(String),
    Number(i32),
}

/// By hand rather than `untagged`, so that a wrong value is named in the
/// rejection ("invalid type: boolean `true`, expected ...").
impl<'de> Deserialize<'de> for EnumText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = EnumText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an enum value by name (e.g. \"STARTED\") or number")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<EnumText, E> {
                Ok(EnumText::Name(value.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<EnumText, E> {
                i32::try_from(value)
                    .map(EnumText::Number)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<EnumText, E> {
                i32::try_from(value)
                    .map(EnumText::Number)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(value), &self))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Deserialize)]
struct JsonProfile {
    gender: Option<EnumText>,
    age_band: Option<EnumText>,
    #[serde(default)]
    priority_neighbourhood: bool,
    #[serde(default)]
    rural_resident: bool,
    employment_status: Option<EnumText>,
}

#[derive(Debug, Deserialize)]
struct JsonEnrolment {
    learner_id: Option<String>,
    course_id: Option<String>,
    programme: Option<String>,
    #[serde(default)]
    skills: Vec<String>,
    place: Option<JsonPlace>,
    status: Option<EnumText>,
    planned_end: Option<String>,
    profile: Option<JsonProfile>,
    satisfaction: Option<u32>,
    certified_level: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct JsonAssessment {
    learner_id: Option<String>,
    skill: Option<String>,
    framework: Option<EnumText>,
    level: Option<u32>,
    score: Option<f64>,
    phase: Option<EnumText>,
    place: Option<JsonPlace>,
}

#[derive(Debug, Deserialize)]
struct JsonLabourDemand {
    source: Option<String>,
    place: Option<JsonPlace>,
    skill: Option<String>,
    rome_code: Option<String>,
    openings: Option<u32>,
    hard_to_fill: Option<u32>,
}

impl JsonEnvelope {
    pub fn into_envelope(self) -> Result<pb::EventEnvelope, Rejection> {
        let kinds = [self.enrolment.is_some(), self.assessment.is_some(), self.labour_demand.is_some()];
        if kinds.iter().filter(|present| **present).count() > 1 {
            return Err(Rejection::invalid("payload", "more than one of enrolment, assessment, labour_demand"));
        }
        let payload = match (self.enrolment, self.assessment, self.labour_demand) {
            (Some(enrolment), _, _) => Some(pb::event_envelope::Payload::Enrolment(enrolment.into_proto()?)),
            (None, Some(assessment), _) => Some(pb::event_envelope::Payload::Assessment(assessment.into_proto()?)),
            (None, None, Some(demand)) => Some(pb::event_envelope::Payload::LabourDemand(demand.into_proto())),
            (None, None, None) => None,
        };
        Ok(pb::EventEnvelope {
            event_id: self.event_id.unwrap_or_default(),
            occurred_at: parse_time("occurred_at", self.occurred_at)?,
            partner_id: self.partner_id.unwrap_or_default(),
            schema_version: self.schema_version.unwrap_or_default(),
            payload,
        })
    }
}

impl JsonEnrolment {
    fn into_proto(self) -> Result<pb::Enrolment, Rejection> {
        let profile = match self.profile {
            None => None,
            Some(profile) => Some(pb::LearnerProfile {
                gender: enum_field("enrolment.profile.gender", profile.gender, "GENDER_", |n| {
                    pb::Gender::from_str_name(n).map(|v| v as i32)
                })?,
                age_band: enum_field("enrolment.profile.age_band", profile.age_band, "AGE_BAND_", |n| {
                    pb::AgeBand::from_str_name(n).map(|v| v as i32)
                })?,
                priority_neighbourhood: profile.priority_neighbourhood,
                rural_resident: profile.rural_resident,
                employment_status: enum_field(
                    "enrolment.profile.employment_status",
                    profile.employment_status,
                    "EMPLOYMENT_STATUS_",
                    |n| pb::EmploymentStatus::from_str_name(n).map(|v| v as i32),
                )?,
            }),
        };
        Ok(pb::Enrolment {
            learner_id: self.learner_id.unwrap_or_default(),
            course_id: self.course_id.unwrap_or_default(),
            programme: self.programme.unwrap_or_default(),
            skills: self.skills,
            place: self.place.map(JsonPlace::into_proto),
            status: enum_field("enrolment.status", self.status, "ENROLMENT_STATUS_", |n| {
                pb::EnrolmentStatus::from_str_name(n).map(|v| v as i32)
            })?,
            planned_end: parse_time("enrolment.planned_end", self.planned_end)?,
            profile,
            satisfaction: self.satisfaction,
            certified_level: self.certified_level,
        })
    }
}

impl JsonAssessment {
    fn into_proto(self) -> Result<pb::Assessment, Rejection> {
        Ok(pb::Assessment {
            learner_id: self.learner_id.unwrap_or_default(),
            skill: self.skill.unwrap_or_default(),
            framework: enum_field("assessment.framework", self.framework, "FRAMEWORK_", |n| {
                pb::Framework::from_str_name(n).map(|v| v as i32)
            })?,
            level: self.level.unwrap_or_default(),
            score: self.score.unwrap_or_default(),
            phase: enum_field("assessment.phase", self.phase, "ASSESSMENT_PHASE_", |n| {
                pb::AssessmentPhase::from_str_name(n).map(|v| v as i32)
            })?,
            place: self.place.map(JsonPlace::into_proto),
        })
    }
}

impl JsonLabourDemand {
    fn into_proto(self) -> pb::LabourDemand {
        let target = match (self.skill, self.rome_code) {
            (Some(skill), _) => Some(pb::labour_demand::Target::Skill(skill)),
            (None, Some(rome)) => Some(pb::labour_demand::Target::RomeCode(rome)),
            (None, None) => None,
        };
        pb::LabourDemand {
            source: self.source.unwrap_or_default(),
            place: self.place.map(JsonPlace::into_proto),
            target,
            openings: self.openings.unwrap_or_default(),
            hard_to_fill: self.hard_to_fill.unwrap_or_default(),
        }
    }
}

impl JsonPlace {
    fn into_proto(self) -> pb::Place {
        use pb::place::Code;
        let code = match (self.region, self.department, self.commune) {
            (Some(region), _, _) => Some(Code::Region(region)),
            (None, Some(department), _) => Some(Code::Department(department)),
            (None, None, Some(commune)) => Some(Code::Commune(commune)),
            (None, None, None) => None,
        };
        pb::Place { code }
    }
}

fn parse_time(field: &str, text: Option<String>) -> Result<Option<skills_proto::Timestamp>, Rejection> {
    let Some(text) = text else { return Ok(None) };
    let instant: DateTime<Utc> = DateTime::parse_from_rfc3339(&text)
        .map_err(|_| Rejection::invalid(field, format!("{text:?} is not an RFC 3339 timestamp")))?
        .with_timezone(&Utc);
    Ok(Some(to_timestamp(instant)))
}

/// An enum by number, by its full proto name, or by its name without the
/// type prefix, in any case.
fn enum_field(
    field: &str,
    value: Option<EnumText>,
    prefix: &str,
    from_name: impl Fn(&str) -> Option<i32>,
) -> Result<i32, Rejection> {
    match value {
        None => Ok(0),
        Some(EnumText::Number(number)) => Ok(number),
        Some(EnumText::Name(name)) => {
            let upper = name.trim().to_ascii_uppercase();
            from_name(&upper)
                .or_else(|| from_name(&format!("{prefix}{upper}")))
                .ok_or_else(|| Rejection::invalid(field, format!("unknown value {name:?}")))
        }
    }
}

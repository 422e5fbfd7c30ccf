//! Messages as JSON in the canonical protobuf mapping (lowerCamelCase
//! names, 64-bit integers as strings, enums by name, timestamps in RFC
//! 3339, default values left out): the shape grpcurl prints and other
//! protobuf tools read. Reading goes by the compiled descriptors too, so
//! the JSON form follows the .proto files with no hand-kept copy.

use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
};
use serde_json::Value;
use std::fmt;
use std::sync::OnceLock;

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET).expect("the compiled descriptors decode"))
}

fn descriptor<M: prost::Name>() -> MessageDescriptor {
    pool()
        .get_message_by_name(&M::full_name())
        .unwrap_or_else(|| panic!("{} is in the compiled descriptors", M::full_name()))
}

/// `message` as pretty-printed canonical JSON.
pub fn to_json<M: prost::Message + prost::Name>(message: &M) -> String {
    let descriptor = descriptor::<M>();
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .expect("a message decodes as its own descriptor");
    serde_json::to_string_pretty(&dynamic).expect("a dynamic message serializes")
}

/// `message` as compact canonical JSON with every field present, those at
/// their default value too (`"suppressed": false`, `"openings": "0"`), so
/// that tables built from it have the same columns on every row. An unset
/// `optional` field stays absent: absent means "no value".
pub fn to_json_full<M: prost::Message + prost::Name>(message: &M) -> String {
    let descriptor = descriptor::<M>();
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .expect("a message decodes as its own descriptor");
    let options = prost_reflect::SerializeOptions::new().skip_default_fields(false);
    let mut out = serde_json::Serializer::new(Vec::new());
    dynamic.serialize_with_options(&mut out, &options).expect("a dynamic message serializes");
    String::from_utf8(out.into_inner()).expect("JSON is UTF-8")
}

/// Why a JSON value is not a message: where (a path such as
/// `labourDemand.openings`, or empty for the whole value), what, and the
/// value found there, as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub path: String,
    pub message: String,
    pub value: Option<String>,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path.as_str() {
            "" => f.write_str(&self.message),
            path => write!(f, "{path}: {}", self.message),
        }
    }
}

impl std::error::Error for JsonError {}

/// Reads a message from JSON in the canonical mapping: field names in
/// lowerCamelCase or as written in the .proto file, integers as numbers or
/// strings, enums by name or number, well-known types in their JSON form.
/// Two leniencies, for people writing JSON by hand: an enum name may leave
/// out its type's prefix and be in any case (`"started"` for
/// `ENROLMENT_STATUS_STARTED`), and unknown fields are ignored, as protobuf
/// does, so that a sender can add fields before the reader knows them. An
/// unknown enum name is an error, not a silent default.
pub fn from_json<M: prost::Message + prost::Name + Default>(mut value: Value) -> Result<M, JsonError> {
    let descriptor = descriptor::<M>();
    relax_message(&mut value, &descriptor, "")?;
    let options = DeserializeOptions::new().deny_unknown_fields(false);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&value, &mut track);
    let dynamic = DynamicMessage::deserialize_with_options(descriptor, tracked, &options).map_err(|error| {
        let at = track.path();
        let found = value_at(&value, &at).map(|found| found.to_string());
        let path = at.to_string();
        let path = if path == "." { String::new() } else { path };
        JsonError { path, message: error.to_string(), value: found }
    })?;
    dynamic.transcode_to::<M>().map_err(|error| JsonError {
        path: String::new(),
        message: format!("does not fit {}: {error}", M::full_name()),
        value: None,
    })
}

/// Checks oneofs and spells enum names as the descriptors do, walking the
/// value along the message's fields; `path` is where `value` sits.
fn relax_message(value: &mut Value, message: &MessageDescriptor, path: &str) -> Result<(), JsonError> {
    let Value::Object(fields) = value else { return Ok(()) };
    for oneof in message.oneofs() {
        let present: Vec<&str> = fields
            .iter()
            .filter(|(key, value)| {
                !value.is_null() && find_field(message, key).is_some_and(|f| in_oneof(&f, oneof.name()))
            })
            .map(|(key, _)| key.as_str())
            .collect();
        if present.len() > 1 {
            let names: Vec<String> = oneof.fields().map(|field| field.name().to_string()).collect();
            return Err(JsonError {
                path: child(path, oneof.name()),
                message: format!("more than one of {} ({} given)", names.join(", "), present.join(", ")),
                value: None,
            });
        }
    }
    for (key, field_value) in fields.iter_mut() {
        let Some(field) = find_field(message, key) else { continue };
        if field.is_map() {
            continue;
        }
        let here = child(path, key);
        match (field.kind(), field_value) {
            (Kind::Enum(enumeration), Value::Array(items)) => {
                for (index, item) in items.iter_mut().enumerate() {
                    relax_enum(item, &enumeration, &format!("{here}[{index}]"))?;
                }
            }
            (Kind::Enum(enumeration), item) => relax_enum(item, &enumeration, &here)?,
            (Kind::Message(inner), _) if inner.full_name().starts_with("google.protobuf.") => {}
            (Kind::Message(inner), Value::Array(items)) => {
                for (index, item) in items.iter_mut().enumerate() {
                    relax_message(item, &inner, &format!("{here}[{index}]"))?;
                }
            }
            (Kind::Message(inner), item) => relax_message(item, &inner, &here)?,
            _ => {}
        }
    }
    Ok(())
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn find_field(message: &MessageDescriptor, key: &str) -> Option<FieldDescriptor> {
    message.get_field_by_json_name(key).or_else(|| message.get_field_by_name(key))
}

fn in_oneof(field: &FieldDescriptor, oneof: &str) -> bool {
    field.containing_oneof().is_some_and(|containing| containing.name() == oneof)
}

/// An enum value's name as the descriptor spells it, found with or without
/// the type prefix, in any case.
fn relax_enum(value: &mut Value, enumeration: &EnumDescriptor, path: &str) -> Result<(), JsonError> {
    let Value::String(name) = value else { return Ok(()) };
    if enumeration.get_value_by_name(name).is_some() {
        return Ok(());
    }
    let upper = name.trim().to_ascii_uppercase();
    let prefixed = format!("{}_{upper}", screaming_snake(enumeration.name()));
    match [upper, prefixed].into_iter().find(|candidate| enumeration.get_value_by_name(candidate).is_some()) {
        Some(known) => {
            *value = Value::String(known);
            Ok(())
        }
        None => Err(JsonError {
            path: path.to_string(),
            message: format!("unknown value {name:?} of {}", enumeration.full_name()),
            value: Some(value.to_string()),
        }),
    }
}

/// `EnrolmentStatus` → `ENROLMENT_STATUS`, the prefix protobuf style gives
/// an enum's values.
fn screaming_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (index, character) in name.chars().enumerate() {
        if character.is_ascii_uppercase() && index > 0 {
            out.push('_');
        }
        out.push(character.to_ascii_uppercase());
    }
    out
}

/// The value a serde path points at, if it is there.
fn value_at<'a>(value: &'a Value, path: &serde_path_to_error::Path) -> Option<&'a Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(value, |current, segment| match segment {
        Segment::Map { key } => current.get(key.as_str()),
        Segment::Seq { index } => current.get(*index),
        Segment::Enum { .. } | Segment::Unknown => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1 as pb;

    #[test]
    fn json_follows_the_canonical_mapping() {
        let response = pb::GetRegionIndicatorsResponse {
            meta: Some(pb::ResponseMeta {
                as_of: Some(prost_types::Timestamp { seconds: 1_764_633_600, nanos: 0 }),
                complete: true,
                suppression_k: 11,
                period: "2025".into(),
                ..Default::default()
            }),
            region: "84".into(),
            cells: vec![pb::CellIndicators { skill: "3.4".into(), openings: 96, ..Default::default() }],
            ..Default::default()
        };
        let json: serde_json::Value = serde_json::from_str(&to_json(&response)).unwrap();
        assert_eq!(json["meta"]["asOf"], "2025-12-02T00:00:00Z");
        assert_eq!(json["meta"]["suppressionK"], 11);
        assert_eq!(json["cells"][0]["openings"], "96", "uint64 as a string");
        assert!(json["cells"][0].get("learners").is_none(), "absent optional fields are left out");
        assert!(json["meta"].get("suppressedCells").is_none(), "zero values are left out");
    }

    fn envelope(json: serde_json::Value) -> Result<pb::EventEnvelope, JsonError> {
        from_json::<pb::EventEnvelope>(json)
    }

    #[test]
    fn camel_case_and_proto_names_read_alike() {
        let camel = serde_json::json!({
            "eventId": "e1", "occurredAt": "2025-03-03T09:00:00Z", "partnerId": "p", "schemaVersion": "1",
            "labourDemand": {"source": "board", "place": {"region": "84"}, "romeCode": "M1805",
                             "openings": "12", "hardToFill": 3}
        });
        let snake = serde_json::json!({
            "event_id": "e1", "occurred_at": "2025-03-03T09:00:00Z", "partner_id": "p", "schema_version": 1,
            "labour_demand": {"source": "board", "place": {"region": "84"}, "rome_code": "M1805",
                              "openings": 12, "hard_to_fill": "3"}
        });
        let (camel, snake) = (envelope(camel).unwrap(), envelope(snake).unwrap());
        assert_eq!(camel, snake);
        assert_eq!(camel.occurred_at.unwrap().seconds, 1_740_992_400);
        let Some(pb::event_envelope::Payload::LabourDemand(demand)) = camel.payload else { panic!("demand") };
        assert_eq!((demand.openings, demand.hard_to_fill), (12, 3), "integers as numbers or strings");
    }

    #[test]
    fn enums_by_full_name_short_name_any_case_or_number() {
        for status in [
            serde_json::json!("ENROLMENT_STATUS_COMPLETED"),
            serde_json::json!("COMPLETED"),
            serde_json::json!("completed"),
            serde_json::json!(3),
        ] {
            let parsed = envelope(serde_json::json!({"enrolment": {"status": status.clone()}})).unwrap();
            let Some(pb::event_envelope::Payload::Enrolment(enrolment)) = parsed.payload else { panic!() };
            assert_eq!(enrolment.status, pb::EnrolmentStatus::Completed as i32, "{status}");
        }
        let framework = envelope(serde_json::json!({"assessment": {"framework": "digcomp_2_2"}})).unwrap();
        let Some(pb::event_envelope::Payload::Assessment(assessment)) = framework.payload else { panic!() };
        assert_eq!(assessment.framework, pb::Framework::Digcomp22 as i32);
    }

    #[test]
    fn an_unknown_enum_name_is_an_error_at_its_path() {
        let error = envelope(serde_json::json!({"enrolment": {"profile": {"gender": "robot"}}})).unwrap_err();
        assert_eq!(error.path, "enrolment.profile.gender");
        assert_eq!(error.value.as_deref(), Some("\"robot\""));
        assert!(error.message.contains("skills.v1.Gender"), "{error}");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_with_its_path_and_value() {
        let error = envelope(serde_json::json!({"labourDemand": {"openings": "five"}})).unwrap_err();
        assert_eq!(error.path, "labourDemand.openings");
        assert_eq!(error.value.as_deref(), Some("\"five\""));
        let error = envelope(serde_json::json!({"enrolment": {"skills": ["3.4", 7]}})).unwrap_err();
        assert_eq!(error.path, "enrolment.skills[1]");
        assert_eq!(error.value.as_deref(), Some("7"));
    }

    #[test]
    fn two_members_of_a_oneof_are_refused_and_unknown_fields_ignored() {
        let error = envelope(serde_json::json!({"enrolment": {}, "labourDemand": {}})).unwrap_err();
        assert_eq!(error.path, "payload");
        assert!(error.message.contains("enrolment, assessment, labour_demand"), "{error}");
        let parsed = envelope(serde_json::json!({"eventId": "e", "addedLater": {"x": 1}})).unwrap();
        assert_eq!(parsed.event_id, "e");
    }

    #[test]
    fn what_to_json_writes_from_json_reads_back() {
        let event = pb::EventEnvelope {
            event_id: "e".into(),
            partner_id: "p".into(),
            schema_version: 1,
            occurred_at: Some(prost_types::Timestamp { seconds: 1_740_992_400, nanos: 5 }),
            payload: Some(pb::event_envelope::Payload::Enrolment(pb::Enrolment {
                skills: vec!["3.4".into()],
                status: pb::EnrolmentStatus::Certified as i32,
                certified_level: Some(0),
                ..Default::default()
            })),
        };
        let json: serde_json::Value = serde_json::from_str(&to_json(&event)).unwrap();
        assert_eq!(from_json::<pb::EventEnvelope>(json).unwrap(), event);
    }
}

//! Bytes to an `EventEnvelope`: protobuf, or JSON in the canonical
//! protobuf mapping, each possibly in the Schema Registry wire format.

use super::rejection::{RejectReason, Rejection};
use super::schema_registry;
use skills_proto::Message;
use skills_proto::json::JsonError;
use skills_proto::v1::EventEnvelope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Protobuf,
    Json,
    /// An xAPI statement as the gateway stored it (`crate::xapi::XapiRecord`).
    Xapi,
}

impl ContentType {
    /// Reads a content-type header value ("application/json",
    /// "application/x-protobuf", "application/protobuf").
    pub fn from_header(value: &str) -> Option<ContentType> {
        let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/json" | "json" => Some(ContentType::Json),
            crate::xapi::XAPI_CONTENT_TYPE => Some(ContentType::Xapi),
            "application/x-protobuf" | "application/protobuf" | "application/vnd.google.protobuf" | "protobuf" => {
                Some(ContentType::Protobuf)
            }
            _ => None,
        }
    }

    pub fn header_value(self) -> &'static str {
        match self {
            ContentType::Protobuf => "application/x-protobuf",
            ContentType::Json => "application/json",
            ContentType::Xapi => crate::xapi::XAPI_CONTENT_TYPE,
        }
    }

    /// Without a header, a payload whose first non-blank byte is `{` is JSON.
    fn sniff(payload: &[u8]) -> ContentType {
        match payload.iter().find(|byte| !byte.is_ascii_whitespace()) {
            Some(b'{') => ContentType::Json,
            _ => ContentType::Protobuf,
        }
    }
}

/// One raw event: protobuf, or JSON in the canonical protobuf mapping,
/// either possibly in the Schema Registry wire format. Without a content
/// type, JSON is recognised by its opening brace.
pub fn decode(payload: &[u8], content_type: Option<ContentType>) -> Result<EventEnvelope, Rejection> {
    let (payload, content_type) = match schema_registry::unwrap(payload)? {
        // The framing says which serializer wrote it; a header may not.
        Some(framed) => (framed.body, None),
        None => (payload, content_type),
    };
    match content_type.unwrap_or_else(|| ContentType::sniff(payload)) {
        ContentType::Protobuf => EventEnvelope::decode(payload).map_err(|error| {
            Rejection::new(RejectReason::Undecodable, format!("payload is not a protobuf EventEnvelope: {error}"))
        }),
        ContentType::Json => decode_json(payload),
        ContentType::Xapi => crate::xapi::decode_record(payload),
    }
}

/// JSON that is not one JSON object is undecodable; a value that does not
/// fit its field is an invalid field, named by its path in the .proto
/// spelling (`labour_demand.openings`) with the value found.
fn decode_json(payload: &[u8]) -> Result<EventEnvelope, Rejection> {
    if payload.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Rejection::new(RejectReason::Undecodable, "payload is not a JSON event: not a JSON object"));
    }
    let value: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|error| Rejection::new(RejectReason::Undecodable, format!("payload is not a JSON event: {error}")))?;
    skills_proto::json::from_json::<EventEnvelope>(value).map_err(json_rejection)
}

fn json_rejection(error: JsonError) -> Rejection {
    if error.path.is_empty() {
        return Rejection::new(RejectReason::Undecodable, format!("payload is not a JSON event: {}", error.message));
    }
    let field = snake_case(&error.path);
    // A learner id is never quoted back, even a malformed one.
    if field.ends_with("learner_id") {
        return Rejection::invalid(&field, "expected a string");
    }
    match error.value {
        Some(value) => Rejection::invalid(&field, format!("{value}: {}", error.message)).with_value(value),
        None => Rejection::invalid(&field, error.message),
    }
}

/// `labourDemand.openings` → `labour_demand.openings`: the .proto names,
/// which validation messages use too.
fn snake_case(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for character in path.chars() {
        if character.is_ascii_uppercase() {
            out.push('_');
            out.push(character.to_ascii_lowercase());
        } else {
            out.push(character);
        }
    }
    out
}

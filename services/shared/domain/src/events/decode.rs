//! Bytes to an `EventEnvelope`: protobuf, or JSON with the same field names.

use super::json::JsonEnvelope;
use super::rejection::{RejectReason, Rejection};
use skills_proto::Message;
use skills_proto::v1::EventEnvelope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Protobuf,
    Json,
}

impl ContentType {
    /// Reads a content-type header value ("application/json",
    /// "application/x-protobuf", "application/protobuf").
    pub fn from_header(value: &str) -> Option<ContentType> {
        let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/json" | "json" => Some(ContentType::Json),
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

pub fn decode(payload: &[u8], content_type: Option<ContentType>) -> Result<EventEnvelope, Rejection> {
    match content_type.unwrap_or_else(|| ContentType::sniff(payload)) {
        ContentType::Protobuf => EventEnvelope::decode(payload).map_err(|error| {
            Rejection::new(RejectReason::Undecodable, format!("payload is not a protobuf EventEnvelope: {error}"))
        }),
        ContentType::Json => decode_json(payload)?.into_envelope(),
    }
}

/// JSON that is not JSON is undecodable; JSON whose value has the wrong
/// type for its field is an invalid field, named by its path
/// (`labour_demand.openings`) with the value serde saw.
fn decode_json(payload: &[u8]) -> Result<JsonEnvelope, Rejection> {
    // serde would also read a struct from an array, by position.
    if payload.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Rejection::new(RejectReason::Undecodable, "payload is not a JSON event: not a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    let json = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if field != "." => Rejection::invalid(&field, inner),
            _ => Rejection::new(RejectReason::Undecodable, format!("payload is not a JSON event: {inner}")),
        }
    })?;
    // Trailing bytes after the object (`{..} x`) are not one event.
    deserializer
        .end()
        .map_err(|error| Rejection::new(RejectReason::Undecodable, format!("payload is not a JSON event: {error}")))?;
    Ok(json)
}

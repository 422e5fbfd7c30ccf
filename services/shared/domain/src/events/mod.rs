//! Partner events: decoding (protobuf or JSON, plain or in the Schema
//! Registry wire format), validation against the
//! reference data, and normalization into the envelope the aggregator reads.
//!
//! `normalize` is the whole ingestion step for one message, as a pure
//! function: bytes in, a `NormalizedEvent` or a `Rejection` with its reason.

mod decode;
mod rejection;
pub mod schema_registry;
mod validate;

pub use decode::{ContentType, decode};
pub use rejection::{RejectReason, Rejection};
pub use validate::{IngestPolicy, SCHEMA_VERSION, ValidEvent, canonical_event_id, validate};

use crate::pseudonym::Pseudonymiser;
use chrono::{DateTime, Utc};
use skills_proto::v1::NormalizedEvent;

/// The three kinds of partner event; each has a raw topic of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Enrolment,
    Assessment,
    LabourDemand,
}

impl EventKind {
    pub fn of(envelope: &skills_proto::v1::EventEnvelope) -> Option<EventKind> {
        use skills_proto::v1::event_envelope::Payload;
        Some(match envelope.payload.as_ref()? {
            Payload::Enrolment(_) => EventKind::Enrolment,
            Payload::Assessment(_) => EventKind::Assessment,
            Payload::LabourDemand(_) => EventKind::LabourDemand,
        })
    }

    /// The payload's field name in the contract.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Enrolment => "enrolment",
            EventKind::Assessment => "assessment",
            EventKind::LabourDemand => "labour_demand",
        }
    }
}

/// Decodes, validates and pseudonymises one raw message.
pub fn normalize(
    payload: &[u8],
    content_type: Option<ContentType>,
    policy: &IngestPolicy,
    pseudonymiser: &Pseudonymiser,
    now: DateTime<Utc>,
) -> Result<NormalizedEvent, Rejection> {
    if payload.len() > policy.max_message_bytes {
        return Err(Rejection::new(
            RejectReason::Oversized,
            format!("message of {} bytes exceeds the limit of {} bytes", payload.len(), policy.max_message_bytes),
        ));
    }
    let envelope = decode(payload, content_type)?;
    let valid = validate(envelope, policy, now)?;
    Ok(valid.into_normalized(pseudonymiser, now))
}

/// The partner a raw message says it comes from, when it decodes: a
/// rejected message is attributed to it (its dead letter, the partner's
/// status), though only a gateway's `partner-id` header is authenticated.
pub fn claimed_partner(payload: &[u8], content_type: Option<ContentType>) -> Option<String> {
    let envelope = decode(payload, content_type).ok()?;
    let partner = envelope.partner_id.trim();
    (!partner.is_empty()).then(|| partner.to_string())
}

/// An event a partner sends, checked as ingest checks it and as the
/// gateway does before accepting it: a partner publishes only as itself
/// (an empty `partner_id` is taken as `partner`'s), and `size` is the
/// event's size as sent.
pub fn check_partner_event(
    mut envelope: skills_proto::v1::EventEnvelope,
    partner: &str,
    size: usize,
    policy: &IngestPolicy,
    now: DateTime<Utc>,
) -> Result<ValidEvent, Rejection> {
    let named = envelope.partner_id.trim();
    if named.is_empty() {
        envelope.partner_id = partner.to_string();
    } else if named != partner {
        return Err(Rejection::new(
            RejectReason::PartnerMismatch,
            format!("partner_id {named:?} is not the partner sending it ({partner:?})"),
        )
        .at("partner_id")
        .with_value(named));
    }
    if size > policy.max_message_bytes {
        return Err(Rejection::new(
            RejectReason::Oversized,
            format!("event of {size} bytes exceeds the limit of {} bytes", policy.max_message_bytes),
        ));
    }
    validate(envelope, policy, now)
}

/// The id a raw message would be counted under, if it has one: what
/// reconciliation matches raw messages against counted events with.
pub fn event_id_of(payload: &[u8], content_type: Option<ContentType>) -> Option<String> {
    let envelope = decode(payload, content_type).ok()?;
    canonical_event_id(&envelope.event_id).ok()
}

/// Seconds since the Unix epoch of a protobuf timestamp.
pub fn to_datetime(timestamp: &skills_proto::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(timestamp.nanos).ok()?;
    DateTime::from_timestamp(timestamp.seconds, nanos)
}

pub fn to_timestamp(instant: DateTime<Utc>) -> skills_proto::Timestamp {
    skills_proto::Timestamp { seconds: instant.timestamp(), nanos: instant.timestamp_subsec_nanos() as i32 }
}

#[cfg(test)]
mod tests;

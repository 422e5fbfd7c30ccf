//! xAPI statements, as MOOC platforms (Open edX, Moodle) send them to a
//! learning record store: their checks, and their mapping to partner
//! events (docs/xapi.md).
//!
//! The gateway's store endpoint writes each accepted statement to a raw
//! topic as it came, wrapped with the partner that sent it and the time it
//! was stored (`XapiRecord`, content type `XAPI_CONTENT_TYPE`); ingestion
//! maps it with the same code, so a statement that maps to no event is
//! dead-lettered as `unmapped_statement`, with its reason, where
//! reconciliation sees it.

mod mapping;
mod statement;

pub use mapping::{competence_in_iri, extensions, to_envelope};
pub use statement::{InvalidStatement, Statement};

use crate::events::{RejectReason, Rejection};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use skills_proto::v1::EventEnvelope;

/// The content type of an `XapiRecord` on a raw topic.
pub const XAPI_CONTENT_TYPE: &str = "application/vnd.skills.xapi+json";

/// A statement as the gateway stored it, on a raw topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct XapiRecord {
    /// The partner whose credential sent it.
    pub partner_id: String,
    /// When the gateway stored it.
    pub stored: DateTime<Utc>,
    pub statement: serde_json::Value,
}

impl XapiRecord {
    /// The event the record stands for, or why it has none.
    pub fn to_envelope(&self) -> Result<EventEnvelope, Rejection> {
        let statement = Statement::parse(&self.statement)
            .map_err(|error| Rejection::new(RejectReason::Undecodable, format!("not an xAPI statement: {error}")))?;
        to_envelope(&statement, &self.partner_id, self.stored)
    }
}

/// Reads a raw-topic payload of content type `XAPI_CONTENT_TYPE`.
pub fn decode_record(payload: &[u8]) -> Result<EventEnvelope, Rejection> {
    let record: XapiRecord = serde_json::from_slice(payload)
        .map_err(|error| Rejection::new(RejectReason::Undecodable, format!("not an xAPI record: {error}")))?;
    record.to_envelope()
}

#[cfg(test)]
mod tests;

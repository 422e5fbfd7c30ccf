//! Why an event was rejected: a machine-readable reason (the dead-letter
//! header `reason`) and a human message naming the field and value.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    Oversized,
    Undecodable,
    UnsupportedSchemaVersion,
    UnknownKind,
    MissingField,
    InvalidField,
    UnknownRegion,
    UnknownDepartment,
    MalformedCommune,
    UnknownSkill,
    UnknownRomeCode,
    LevelOutOfRange,
    TimestampTooOld,
    TimestampInFuture,
    /// The gateway: an event names another partner than its credential's.
    PartnerMismatch,
    /// The gateway: an event id already accepted with other content.
    EventIdConflict,
    /// An xAPI statement that maps to no event (its verb, or a missing
    /// competence, place or level).
    UnmappedStatement,
}

impl RejectReason {
    pub const ALL: [RejectReason; 17] = [
        RejectReason::Oversized,
        RejectReason::Undecodable,
        RejectReason::UnsupportedSchemaVersion,
        RejectReason::UnknownKind,
        RejectReason::MissingField,
        RejectReason::InvalidField,
        RejectReason::UnknownRegion,
        RejectReason::UnknownDepartment,
        RejectReason::MalformedCommune,
        RejectReason::UnknownSkill,
        RejectReason::UnknownRomeCode,
        RejectReason::LevelOutOfRange,
        RejectReason::TimestampTooOld,
        RejectReason::TimestampInFuture,
        RejectReason::PartnerMismatch,
        RejectReason::EventIdConflict,
        RejectReason::UnmappedStatement,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RejectReason::Oversized => "oversized",
            RejectReason::Undecodable => "undecodable",
            RejectReason::UnsupportedSchemaVersion => "unsupported_schema_version",
            RejectReason::UnknownKind => "unknown_kind",
            RejectReason::MissingField => "missing_field",
            RejectReason::InvalidField => "invalid_field",
            RejectReason::UnknownRegion => "unknown_region",
            RejectReason::UnknownDepartment => "unknown_department",
            RejectReason::MalformedCommune => "malformed_commune",
            RejectReason::UnknownSkill => "unknown_skill",
            RejectReason::UnknownRomeCode => "unknown_rome_code",
            RejectReason::LevelOutOfRange => "level_out_of_range",
            RejectReason::TimestampTooOld => "timestamp_too_old",
            RejectReason::TimestampInFuture => "timestamp_in_future",
            RejectReason::PartnerMismatch => "partner_mismatch",
            RejectReason::EventIdConflict => "event_id_conflict",
            RejectReason::UnmappedStatement => "unmapped_statement",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why one event was refused: the reason code, a message for people, and,
/// when one is at fault, the field (a path such as `labour_demand.openings`)
/// and its value as text. A learner id is never quoted as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub message: String,
    pub field: Option<String>,
    pub value: Option<String>,
}

impl Rejection {
    pub fn new(reason: RejectReason, message: impl Into<String>) -> Self {
        Rejection { reason, message: message.into(), field: None, value: None }
    }

    pub fn missing(field: &str) -> Self {
        Rejection::new(RejectReason::MissingField, format!("missing required field {field}")).at(field)
    }

    pub fn invalid(field: &str, detail: impl fmt::Display) -> Self {
        Rejection::new(RejectReason::InvalidField, format!("invalid {field}: {detail}")).at(field)
    }

    /// The field at fault.
    pub fn at(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    /// The value at fault, as text.
    pub fn with_value(mut self, value: impl fmt::Display) -> Self {
        self.value = Some(value.to_string());
        self
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

impl std::error::Error for Rejection {}

//! `[ingest]` and `[pseudonymisation]` configuration.

use serde::{Deserialize, Serialize};
use skills_bus::topics;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Consumer group of the ingest instances.
    pub group_id: String,
    /// Raw topics this instance serves, so kinds can scale apart.
    pub raw_topics: Vec<String>,
    pub normalized_topic: String,
    pub dead_letter_topic: String,
    /// Largest batch taken from the bus at once.
    pub batch_max_events: usize,
    /// How long a poll waits for the first event, in milliseconds.
    pub batch_max_wait_ms: u64,
    /// Larger raw messages are dead-lettered as `oversized`.
    pub max_message_bytes: usize,
    /// Events stamped further in the future are rejected.
    pub future_tolerance_secs: i64,
    /// Recent event ids remembered to drop duplicates (downstream is
    /// idempotent anyway; this saves it the work).
    pub dedup_window: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            group_id: "skills-ingest".into(),
            raw_topics: vec![topics::ENROLMENTS.into(), topics::ASSESSMENTS.into(), topics::DEMAND.into()],
            normalized_topic: topics::NORMALIZED.into(),
            dead_letter_topic: topics::DEAD_LETTERS.into(),
            batch_max_events: 2_000,
            batch_max_wait_ms: 100,
            max_message_bytes: 64 * 1024,
            future_tolerance_secs: 300,
            dedup_window: 200_000,
        }
    }
}

impl IngestConfig {
    /// The limits every raw event is checked against: by ingest, and by
    /// the gateway before it accepts an event.
    pub fn policy(&self) -> skills_domain::events::IngestPolicy {
        skills_domain::events::IngestPolicy {
            max_message_bytes: self.max_message_bytes,
            future_tolerance: chrono::Duration::seconds(self.future_tolerance_secs),
            ..skills_domain::events::IngestPolicy::default()
        }
    }
}

/// Where the pseudonymisation key comes from. The environment variable
/// wins over the file; keys never live in the repository.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PseudonymisationConfig {
    /// Environment variable holding the master key as hex (64+ digits).
    pub key_env: String,
    /// File holding the master key as hex.
    pub key_file: Option<PathBuf>,
    /// Version of the master key, stamped on its pseudonyms ("k1:...").
    pub key_version: u32,
    /// Rotation keys by version (`"2" = "/path/rotation-2.key"`, hex),
    /// applied after the master key in version order; see README, "Rotating
    /// pseudonymisation keys".
    pub rotation_key_files: BTreeMap<String, PathBuf>,
    /// The version new pseudonyms are made under; 0: the highest key held.
    pub current_version: u32,
    /// Create a random key file when none exists. Unset: the all-in-one
    /// process does (the embedded default), `skills-ingest` does not, since
    /// its replicas must share one key.
    pub generate_if_missing: Option<bool>,
}

impl Default for PseudonymisationConfig {
    fn default() -> Self {
        PseudonymisationConfig {
            key_env: "SKILLS_PSEUDONYM_KEY".into(),
            key_file: None,
            key_version: 1,
            rotation_key_files: BTreeMap::new(),
            current_version: 0,
            generate_if_missing: None,
        }
    }
}

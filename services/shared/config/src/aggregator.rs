//! `[aggregator]` configuration.

use serde::{Deserialize, Serialize};
use skills_bus::topics;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AggregatorConfig {
    pub group_id: String,
    pub normalized_topic: String,
    pub dead_letter_topic: String,
    /// Largest batch written to the store at once. ClickHouse writes one
    /// part per month partition per insert, so on a backlog spanning two
    /// years a bigger batch means fewer parts and merges: 100,000 halved
    /// the server's CPU per event against 20,000 (BENCHMARKS.md, session 9).
    pub batch_max_events: usize,
    /// Largest payload written to the store at once, in bytes.
    pub batch_max_bytes: usize,
    /// How long a poll waits for the first event, in milliseconds; bounds
    /// how stale the served indicators can be under light load.
    pub batch_max_wait_ms: u64,
    /// A store write without an answer by then is retried as an outage.
    pub store_timeout_ms: u64,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        AggregatorConfig {
            group_id: "skills-aggregator".into(),
            normalized_topic: topics::NORMALIZED.into(),
            dead_letter_topic: topics::DEAD_LETTERS.into(),
            batch_max_events: 100_000,
            batch_max_bytes: 64 << 20,
            batch_max_wait_ms: 200,
            store_timeout_ms: 30_000,
        }
    }
}

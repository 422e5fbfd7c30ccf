//! skills-ingest: reads raw partner events, validates, deduplicates,
//! pseudonymises and enriches them, and produces the normalized envelope
//! (keyed by region) or a dead letter with its reason.
//!
//! Offsets are committed only after every message made from a batch is
//! acknowledged, so a crash replays rather than loses.

pub mod app;
pub mod config;
pub mod dedup;
pub mod keys;
pub mod pipeline;
pub mod service;
pub mod stats;

pub use app::IngestService;
pub use config::IngestConfig;
pub use service::{IngestError, run};
pub use stats::IngestStats;

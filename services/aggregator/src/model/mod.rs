//! skills-model: the read model of a ClickHouse deployment.
//!
//! Its state is an embedded store on local disk, exactly the single-process
//! default's: facts and model cells change in one SQLite transaction per
//! batch, a learner's history is one indexed lookup away, and every
//! promise the embedded model is tested for (counted once, late events,
//! erasure, key rotation) holds here by construction. After each batch the
//! cells that changed are copied to ClickHouse as absolute sums under a
//! higher version (`model_cells`, ReplacingMergeTree), so a repeated copy
//! changes nothing and reads take the newest version of each cell.
//!
//! One instance per deployment: its consumer group must have one member
//! (the state is not split by partition; docs/READ_MODEL.md says how it
//! would be). It reads the normalized topic on its own; the aggregator
//! still writes the facts that reconciliation, recounts and
//! `skills verify-model` read.

pub mod app;
pub mod config;
mod materializer;
mod service;
mod stats;

pub use app::ModelService;
pub use config::ModelConfig;
pub use materializer::Materializer;
pub use service::{ModelError, run};
pub use stats::ModelStats;

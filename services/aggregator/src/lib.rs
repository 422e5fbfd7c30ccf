//! skills-aggregator: applies normalized events and dead letters to the
//! metrics store, counted once.
//!
//! Each batch goes to the store in one atomic write that also records the
//! consumer's offsets; offsets are committed to the bus only afterwards.
//! Facts are keyed by event id, so a batch replayed after a crash changes
//! nothing. While the store is down the loop retries the same batch and
//! polls nothing new: back-pressure, not loss. `write` tells an outage from
//! data the store refuses, which is dead-lettered instead of retried forever.

pub mod app;
pub mod batch;
pub mod config;
pub mod model;
pub mod service;
pub mod stats;
pub mod write;

pub use app::AggregatorService;
pub use config::AggregatorConfig;
pub use service::{AggregatorError, run};
pub use stats::AggregatorStats;

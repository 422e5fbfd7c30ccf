//! Aggregator counters, shared with the metrics endpoint.

use skills_runtime::metrics::Exposition;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct AggregatorStats {
    pub batches: AtomicU64,
    pub events_applied: AtomicU64,
    pub duplicates: AtomicU64,
    pub dead_letters: AtomicU64,
    pub store_errors: AtomicU64,
    /// Sum of store write latencies, for the mean.
    pub store_write_micros: AtomicU64,
}

impl AggregatorStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        Exposition::default()
            .counter("skills_aggregator_batches_total", "Batches written to the store.", Self::get(&self.batches))
            .counter("skills_aggregator_events_applied_total", "New events counted.", Self::get(&self.events_applied))
            .counter(
                "skills_aggregator_duplicates_total",
                "Events already counted (replays).",
                Self::get(&self.duplicates),
            )
            .counter("skills_aggregator_dead_letters_total", "Dead letters recorded.", Self::get(&self.dead_letters))
            .counter(
                "skills_aggregator_store_errors_total",
                "Failed store writes (retried).",
                Self::get(&self.store_errors),
            )
            .counter(
                "skills_aggregator_store_write_seconds_micros_total",
                "Time spent writing batches, in microseconds.",
                Self::get(&self.store_write_micros),
            )
            .finish()
    }
}

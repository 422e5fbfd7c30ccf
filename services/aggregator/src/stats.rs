//! Aggregator counters, shared with the metrics endpoint.

use skills_runtime::metrics::{Exposition, LatencyHistogram};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct AggregatorStats {
    pub batches: AtomicU64,
    /// Records read from the bus and written (events and dead letters).
    pub records: AtomicU64,
    pub events_applied: AtomicU64,
    pub duplicates: AtomicU64,
    pub dead_letters: AtomicU64,
    /// Failed store writes, retried.
    pub store_errors: AtomicU64,
    /// Events the store refused for good, dead-lettered.
    pub store_rejected: AtomicU64,
    /// Time to store a batch, retries included.
    pub store_write: LatencyHistogram,
    /// Records not yet committed in this member's partitions.
    pub lag: AtomicI64,
}

impl AggregatorStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    pub fn record_batch(&self, records: u64, elapsed: Duration) {
        Self::add(&self.batches, 1);
        Self::add(&self.records, records);
        self.store_write.observe(elapsed);
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        Exposition::default()
            .counter("skills_aggregator_batches_total", "Batches written to the store.", Self::get(&self.batches))
            .counter("skills_aggregator_records_total", "Records read and stored.", Self::get(&self.records))
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
                "skills_aggregator_store_rejected_total",
                "Events the store refused, dead-lettered as store_rejected.",
                Self::get(&self.store_rejected),
            )
            .histogram(
                "skills_aggregator_store_write_seconds",
                "Time to store one batch, retries included.",
                &self.store_write,
            )
            .gauge("skills_aggregator_lag", "Records not yet committed.", self.lag.load(Ordering::Relaxed))
            .finish()
    }
}

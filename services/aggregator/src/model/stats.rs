//! skills-model counters, shared with the metrics endpoint.

use skills_runtime::metrics::{Exposition, LatencyHistogram};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct ModelStats {
    pub batches: AtomicU64,
    pub records: AtomicU64,
    /// Normalized records that are not events (the aggregator dead-letters them).
    pub skipped: AtomicU64,
    /// Cell rows copied to ClickHouse.
    pub cells_mirrored: AtomicU64,
    /// The version of the last copy.
    pub version: AtomicU64,
    /// Failed batches, retried.
    pub errors: AtomicU64,
    /// Time to apply a batch to the state and copy its cells.
    pub batch_time: LatencyHistogram,
}

impl ModelStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        Exposition::default()
            .counter("skills_model_batches_total", "Batches applied to the state.", Self::get(&self.batches))
            .counter("skills_model_records_total", "Records read.", Self::get(&self.records))
            .counter("skills_model_skipped_total", "Normalized records that are not events.", Self::get(&self.skipped))
            .counter(
                "skills_model_cells_mirrored_total",
                "Cell rows copied to ClickHouse.",
                Self::get(&self.cells_mirrored),
            )
            .counter("skills_model_errors_total", "Failed batches (retried).", Self::get(&self.errors))
            .gauge("skills_model_version", "Version of the last copy to ClickHouse.", Self::get(&self.version) as i64)
            .histogram("skills_model_batch_seconds", "Time to apply one batch and copy its cells.", &self.batch_time)
            .finish()
    }
}

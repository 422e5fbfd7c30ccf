//! Ingestion counters, shared with the metrics endpoint.

use skills_runtime::metrics::Exposition;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct IngestStats {
    pub consumed: AtomicU64,
    pub produced: AtomicU64,
    pub duplicates: AtomicU64,
    pub batches: AtomicU64,
    pub bus_errors: AtomicU64,
    /// Raw records not yet committed by this instance's group member.
    pub lag: AtomicI64,
    dead_lettered: Mutex<BTreeMap<&'static str, u64>>,
}

impl IngestStats {
    pub fn add_dead_letter(&self, reason: &'static str) {
        *self.dead_lettered.lock().expect("stats lock").entry(reason).or_default() += 1;
    }

    pub fn dead_lettered(&self) -> BTreeMap<&'static str, u64> {
        self.dead_lettered.lock().expect("stats lock").clone()
    }

    pub fn dead_lettered_total(&self) -> u64 {
        self.dead_lettered().values().sum()
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let dead_lettered = self.dead_lettered();
        Exposition::default()
            .counter("skills_ingest_consumed_total", "Raw records read.", Self::get(&self.consumed))
            .counter("skills_ingest_produced_total", "Normalized events produced.", Self::get(&self.produced))
            .counter(
                "skills_ingest_duplicates_total",
                "Events dropped as duplicates of recent ones.",
                Self::get(&self.duplicates),
            )
            .labelled_counter(
                "skills_ingest_dead_lettered_total",
                "Raw records sent to the dead-letter topic, by reason.",
                "reason",
                dead_lettered.iter().map(|(reason, n)| (*reason, *n)),
            )
            .counter("skills_ingest_batches_total", "Batches processed and committed.", Self::get(&self.batches))
            .counter(
                "skills_ingest_bus_errors_total",
                "Failed polls, produces and commits (retried).",
                Self::get(&self.bus_errors),
            )
            .gauge(
                "skills_ingest_lag",
                "Raw records not yet committed by this member.",
                self.lag.load(Ordering::Relaxed),
            )
            .finish()
    }
}

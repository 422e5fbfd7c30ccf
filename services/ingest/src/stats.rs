//! Ingestion counters, shared with whoever reports them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct IngestStats {
    pub consumed: AtomicU64,
    pub produced: AtomicU64,
    pub duplicates: AtomicU64,
    pub batches: AtomicU64,
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
}

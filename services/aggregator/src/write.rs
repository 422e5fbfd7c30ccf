//! Writing a batch to the store, and what to do when the store says no.
//!
//! Three kinds of failure, told apart here and nowhere else:
//! - the store is unreachable (or a read fails too): wait with backoff and
//!   retry the same batch for as long as it takes; nothing new is polled
//!   meanwhile, so the lag grows and drains afterwards;
//! - the schema does not match: retrying cannot help; stop with the error;
//! - the store is healthy but refuses this batch a few times in a row:
//!   bisect the batch until the refused events are alone, dead-letter each
//!   of them with reason `store_rejected`, and store the rest. If even the
//!   dead letters are refused, stop with the error rather than loop.

use crate::batch::{Item, batch_of, rejected_letter};
use crate::stats::AggregatorStats;
use skills_bus::Record;
use skills_bus::retry::Backoff;
use skills_runtime::Shutdown;
use skills_store::{ApplyOutcome, Batch, Checkpoint, ErrorKind, MetricsStore, StoreError};
use std::time::Duration;
use tracing::{error, warn};

/// Refusals by a healthy store before a batch counts as rejected data.
const REFUSALS_BEFORE_ISOLATING: u32 = 3;

#[derive(Debug)]
pub enum WriteError {
    /// Shutdown came first; the batch is not stored and will be replayed.
    Interrupted,
    /// Retrying cannot fix this (schema mismatch, or the store refuses even
    /// the dead letters).
    Fatal(String),
}

enum Attempt {
    Stored(ApplyOutcome),
    Refused(String),
}

pub struct Writer<'a> {
    pub store: &'a dyn MetricsStore,
    pub stats: &'a AggregatorStats,
    pub shutdown: Shutdown,
    pub backoff: Backoff,
    /// A store call without an answer by then counts as an outage (a server
    /// stopped mid-request may never answer).
    pub timeout: Duration,
}

impl Writer<'_> {
    /// Stores the items and then the checkpoints, isolating what the store
    /// refuses.
    pub async fn write(
        &self,
        items: Vec<Item>,
        records: &[Record],
        checkpoints: Vec<Checkpoint>,
    ) -> Result<ApplyOutcome, WriteError> {
        let whole = batch_of(&items, checkpoints.clone());
        let reason = match self.attempt(whole).await? {
            Attempt::Stored(outcome) => return Ok(outcome),
            Attempt::Refused(reason) => reason,
        };
        warn!(items = items.len(), %reason, "the store refuses this batch; isolating the refused events");
        let mut total = ApplyOutcome::default();
        let mut letters = Vec::new();
        let mut pending = vec![items];
        while let Some(part) = pending.pop() {
            let refusal = match self.attempt(batch_of(&part, Vec::new())).await? {
                Attempt::Stored(outcome) => {
                    add(&mut total, outcome);
                    continue;
                }
                Attempt::Refused(refusal) => refusal,
            };
            if part.len() > 1 {
                let mut first = part;
                let second = first.split_off(first.len() / 2);
                pending.push(second);
                pending.push(first);
            } else if let Some(item) = part.into_iter().next() {
                error!(item = item.describe(), reason = %refusal, "dead-lettering an event the store refuses");
                letters.push(rejected_letter(&item, records, &refusal));
            }
        }
        AggregatorStats::add(&self.stats.store_rejected, letters.len() as u64);
        let last = Batch { dead_letters: letters, checkpoints, ..Batch::default() };
        match self.attempt(last).await? {
            Attempt::Stored(outcome) => {
                add(&mut total, outcome);
                Ok(total)
            }
            Attempt::Refused(reason) => {
                Err(WriteError::Fatal(format!("the store refuses even the dead letters: {reason}")))
            }
        }
    }

    /// One batch until it is stored or refused by a healthy store.
    async fn attempt(&self, batch: Batch) -> Result<Attempt, WriteError> {
        let mut delay = self.backoff.first;
        let mut refusals = 0;
        loop {
            let error = match self.bounded(self.store.apply(batch.clone())).await {
                Ok(outcome) => return Ok(Attempt::Stored(outcome)),
                Err(error) => error,
            };
            AggregatorStats::add(&self.stats.store_errors, 1);
            let message = error.to_string();
            match error.kind() {
                ErrorKind::Schema => return Err(WriteError::Fatal(message)),
                ErrorKind::Unavailable => {
                    warn!(error = %message, code = error.code(), retry_in_ms = delay.as_millis() as u64, "store unavailable; holding the batch");
                }
                ErrorKind::Query => {
                    // A read that fails too means an outage, not bad data.
                    if let Err(probe) = self.bounded(self.store.status()).await {
                        warn!(error = %message, probe = %probe, "store write and read fail; holding the batch");
                    } else {
                        refusals += 1;
                        if refusals >= REFUSALS_BEFORE_ISOLATING {
                            return Ok(Attempt::Refused(message));
                        }
                        warn!(error = %message, refusals, "store refused the batch; retrying");
                    }
                }
            }
            self.pause(delay).await?;
            delay = (delay * 2).min(self.backoff.max);
        }
    }

    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, call).await.unwrap_or_else(|_| {
            Err(StoreError::unavailable(format!("no answer within {} ms", self.timeout.as_millis())))
        })
    }

    async fn pause(&self, delay: Duration) -> Result<(), WriteError> {
        let mut stop = self.shutdown.clone();
        tokio::select! {
            _ = stop.wait() => Err(WriteError::Interrupted),
            _ = tokio::time::sleep(delay) => Ok(()),
        }
    }
}

fn add(total: &mut ApplyOutcome, outcome: ApplyOutcome) {
    total.new_events += outcome.new_events;
    total.duplicate_events += outcome.duplicate_events;
    total.new_dead_letters += outcome.new_dead_letters;
}

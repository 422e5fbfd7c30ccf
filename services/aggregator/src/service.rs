//! The aggregation loop: poll, build the batch, write it atomically (with
//! retries), then commit.

use crate::batch::build_batch;
use crate::config::AggregatorConfig;
use crate::stats::AggregatorStats;
use skills_bus::retry::{Backoff, retry_until};
use skills_bus::{Bus, BusError, next_batch, positions_after};
use skills_runtime::Shutdown;
use skills_store::Batch;
use skills_store::MetricsStore;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{debug, error, info, warn};

#[derive(Debug, Error)]
pub enum AggregatorError {
    #[error("bus: {0}")]
    Bus(#[from] BusError),
    #[error("stopped before the batch was stored; it will be replayed")]
    Interrupted,
}

pub async fn run(
    config: AggregatorConfig,
    bus: Arc<dyn Bus>,
    store: Arc<dyn MetricsStore>,
    stats: Arc<AggregatorStats>,
    mut shutdown: Shutdown,
) -> Result<(), AggregatorError> {
    let topics = vec![config.normalized_topic.clone(), config.dead_letter_topic.clone()];
    bus.ensure_topics(&topics).await?;
    let mut consumer = bus.consumer(&config.group_id, &topics)?;
    let wait = Duration::from_millis(config.batch_max_wait_ms);
    info!(topics = ?topics, group = %config.group_id, "aggregator started");
    loop {
        let records = match next_batch(&mut *consumer, config.batch_max_events, wait, shutdown.wait()).await {
            None => break,
            Some(Ok(records)) if records.is_empty() => continue,
            Some(Ok(records)) => records,
            Some(Err(error)) => {
                warn!(%error, "poll failed; retrying");
                continue;
            }
        };
        let batch = build_batch(&records, &config.normalized_topic, &config.group_id);
        store_batch(batch, &*store, &stats, &shutdown).await?;
        // The store already holds these offsets with the data; a failed bus
        // commit only means a replay, which the store ignores.
        if let Err(error) = consumer.commit(&positions_after(&records)).await {
            warn!(%error, "commit failed; the batch will be replayed");
        }
    }
    info!("aggregator stopped");
    Ok(())
}

/// Writes one batch, retrying the same batch until the store takes it.
#[tracing::instrument(name = "aggregate_batch", skip_all, fields(events = batch.events.len(), dead_letters = batch.dead_letters.len()))]
async fn store_batch(
    batch: Batch,
    store: &dyn MetricsStore,
    stats: &AggregatorStats,
    shutdown: &Shutdown,
) -> Result<(), AggregatorError> {
    let started = Instant::now();
    let mut stop = shutdown.clone();
    let outcome = retry_until(
        Backoff::default(),
        || store.apply(batch.clone()),
        |attempt, e| {
            AggregatorStats::add(&stats.store_errors, 1);
            error!(attempt, error = %e, "store write failed, retrying the same batch");
        },
        async move { stop.wait().await },
    )
    .await
    .map_err(|_| AggregatorError::Interrupted)?;
    debug!(
        new_events = outcome.new_events,
        duplicates = outcome.duplicate_events,
        new_dead_letters = outcome.new_dead_letters,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "batch stored"
    );
    AggregatorStats::add(&stats.store_write_micros, started.elapsed().as_micros() as u64);
    AggregatorStats::add(&stats.batches, 1);
    AggregatorStats::add(&stats.events_applied, outcome.new_events);
    AggregatorStats::add(&stats.duplicates, outcome.duplicate_events);
    AggregatorStats::add(&stats.dead_letters, outcome.new_dead_letters);
    Ok(())
}

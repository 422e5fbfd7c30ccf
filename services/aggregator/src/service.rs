//! The aggregation loop: poll, build the batch, write it (see `write`), then
//! commit.

use crate::batch::{checkpoints_of, chunks_by_bytes, items_of};
use crate::config::AggregatorConfig;
use crate::stats::AggregatorStats;
use crate::write::{WriteError, Writer};
use skills_bus::retry::Backoff;
use skills_bus::{Bus, BusError, Record, next_batch, positions_after};
use skills_runtime::Shutdown;
use skills_store::MetricsStore;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{debug, info, warn};

#[derive(Debug, Error)]
pub enum AggregatorError {
    #[error("bus: {0}")]
    Bus(#[from] BusError),
    #[error("stopped before the batch was stored; it will be replayed")]
    Interrupted,
    #[error("{0}; not retrying")]
    Store(String),
}

impl From<WriteError> for AggregatorError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Interrupted => AggregatorError::Interrupted,
            WriteError::Fatal(message) => AggregatorError::Store(message),
        }
    }
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
    let writer = Writer {
        store: &*store,
        stats: &stats,
        shutdown: shutdown.clone(),
        backoff: Backoff::default(),
        timeout: Duration::from_millis(config.store_timeout_ms),
    };
    info!(topics = ?topics, group = %config.group_id, "aggregator started");
    loop {
        let records = match next_batch(&mut *consumer, config.batch_max_events, wait, shutdown.wait()).await {
            None => break,
            Some(Ok(records)) => records,
            Some(Err(error)) => {
                warn!(%error, "poll failed; retrying");
                continue;
            }
        };
        // Cheap: the bus keeps the lag current off this loop.
        if let Ok(lag) = consumer.lag().await {
            stats.lag.store(lag, Ordering::Relaxed);
        }
        for chunk in chunks_by_bytes(&records, config.batch_max_bytes) {
            store_chunk(chunk, &config, &writer, &stats).await?;
            // The store already holds these offsets with the data; a failed
            // bus commit only means a replay, which the store ignores.
            if let Err(error) = consumer.commit(&positions_after(chunk)).await {
                warn!(%error, "commit failed; the batch will be replayed");
            }
        }
    }
    info!("aggregator stopped");
    Ok(())
}

#[tracing::instrument(name = "aggregate_batch", skip_all, fields(records = records.len()))]
async fn store_chunk(
    records: &[Record],
    config: &AggregatorConfig,
    writer: &Writer<'_>,
    stats: &AggregatorStats,
) -> Result<(), AggregatorError> {
    let started = Instant::now();
    let items = items_of(records, &config.normalized_topic);
    let outcome = writer.write(items, records, checkpoints_of(records, &config.group_id)).await?;
    let elapsed = started.elapsed();
    debug!(
        new_events = outcome.new_events,
        duplicates = outcome.duplicate_events,
        new_dead_letters = outcome.new_dead_letters,
        elapsed_ms = elapsed.as_millis() as u64,
        "batch stored"
    );
    stats.record_batch(records.len() as u64, elapsed);
    AggregatorStats::add(&stats.events_applied, outcome.new_events);
    AggregatorStats::add(&stats.duplicates, outcome.duplicate_events);
    AggregatorStats::add(&stats.dead_letters, outcome.new_dead_letters);
    Ok(())
}

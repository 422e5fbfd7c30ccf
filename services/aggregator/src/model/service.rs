//! The skills-model loop: poll, apply to the state, copy to ClickHouse,
//! then commit. While ClickHouse or the state fails, the same batch is
//! retried (applying it again changes nothing) and nothing new is polled.

use super::{Materializer, ModelConfig, ModelStats};
use skills_bus::retry::Backoff;
use skills_bus::{Bus, BusError, Record, next_batch, positions_after};
use skills_domain::facts::{EventFacts, facts_of};
use skills_proto::Message as _;
use skills_proto::v1::NormalizedEvent;
use skills_runtime::Shutdown;
use skills_store::{ErrorKind, StoreError};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// When idle, how often erasures are looked for.
const IDLE_CHECK: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("bus: {0}")]
    Bus(#[from] BusError),
    /// Retrying cannot fix it (the ClickHouse schema does not match).
    #[error("{0}; not retrying")]
    Store(StoreError),
}

pub async fn run(
    config: ModelConfig,
    bus: Arc<dyn Bus>,
    mut materializer: Materializer,
    stats: Arc<ModelStats>,
    mut shutdown: Shutdown,
) -> Result<(), ModelError> {
    let topics = vec![config.normalized_topic.clone()];
    bus.ensure_topics(&topics).await?;
    let mut consumer = bus.consumer(&config.group_id, &topics)?;
    let wait = Duration::from_millis(config.batch_max_wait_ms);
    let backoff = Backoff::default();
    let mut last_check = Instant::now();
    info!(topic = %config.normalized_topic, group = %config.group_id, "skills-model started");
    loop {
        let records = match next_batch(&mut *consumer, config.batch_max_events, wait, shutdown.wait()).await {
            None => break,
            Some(Ok(records)) => records,
            Some(Err(error)) => {
                warn!(%error, "poll failed; retrying");
                continue;
            }
        };
        if records.is_empty() && last_check.elapsed() < IDLE_CHECK {
            continue;
        }
        last_check = Instant::now();
        let events = events_of(&records, &stats);
        let started = Instant::now();
        let mut delay = backoff.first;
        let mirrored = loop {
            match materializer.apply(events.clone()).await {
                Ok(mirrored) => break mirrored,
                Err(error) if error.kind() == ErrorKind::Schema => return Err(ModelError::Store(error)),
                Err(error) => {
                    ModelStats::add(&stats.errors, 1);
                    warn!(%error, code = error.code(), retry_in_ms = delay.as_millis() as u64, "model batch failed; retrying it");
                    let mut stop = shutdown.clone();
                    tokio::select! {
                        _ = stop.wait() => {
                            info!("skills-model stopped before the batch was copied; it will be replayed");
                            return Ok(());
                        }
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(backoff.max);
                }
            }
        };
        if !records.is_empty() {
            ModelStats::add(&stats.batches, 1);
            ModelStats::add(&stats.records, records.len() as u64);
            stats.batch_time.observe(started.elapsed());
            if let Err(error) = consumer.commit(&positions_after(&records)).await {
                warn!(%error, "commit failed; the batch will be replayed");
            }
        }
        ModelStats::add(&stats.cells_mirrored, mirrored.cells as u64);
        stats.version.store(mirrored.version, Ordering::Relaxed);
        debug!(records = records.len(), cells = mirrored.cells, version = mirrored.version, "model batch copied");
    }
    info!("skills-model stopped");
    Ok(())
}

/// The events of a batch; a record that is not one is left to the
/// aggregator, which dead-letters it, and a duplicate notice (nothing to
/// count) is passed over.
fn events_of(records: &[Record], stats: &ModelStats) -> Vec<EventFacts> {
    let mut events = Vec::with_capacity(records.len());
    for record in records {
        if record.message.header(skills_bus::headers::DUPLICATE_OF).is_some() {
            continue;
        }
        let decoded = NormalizedEvent::decode(record.message.payload.as_slice()).ok();
        match decoded.as_ref().map(facts_of) {
            Some(Ok(facts)) => events.push(facts),
            _ => ModelStats::add(&stats.skipped, 1),
        }
    }
    events
}

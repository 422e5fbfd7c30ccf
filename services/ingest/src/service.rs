//! The ingest loop: poll, process, produce, then commit.

use crate::config::IngestConfig;
use crate::dedup::DedupWindow;
use crate::pipeline::{BatchOutput, Pipeline};
use crate::stats::IngestStats;
use chrono::Utc;
use skills_bus::retry::{Backoff, retry_until};
use skills_bus::{Bus, BusError, Message, next_batch, positions_after};
use skills_domain::events::IngestPolicy;
use skills_domain::pseudonym::Pseudonymiser;
use skills_runtime::Shutdown;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{info, warn};

#[derive(Debug, Error)]
pub enum IngestError {
    #[error("bus: {0}")]
    Bus(#[from] BusError),
    #[error("stopped before the batch was acknowledged; it will be replayed")]
    Interrupted,
}

pub async fn run(
    config: IngestConfig,
    bus: Arc<dyn Bus>,
    pseudonymiser: Pseudonymiser,
    stats: Arc<IngestStats>,
    mut shutdown: Shutdown,
) -> Result<(), IngestError> {
    let mut topics = config.raw_topics.clone();
    topics.extend([config.normalized_topic.clone(), config.dead_letter_topic.clone()]);
    bus.ensure_topics(&topics).await?;
    let mut consumer = bus.consumer(&config.group_id, &config.raw_topics)?;
    let producer = bus.producer();
    let policy = IngestPolicy {
        max_message_bytes: config.max_message_bytes,
        future_tolerance: chrono::Duration::seconds(config.future_tolerance_secs),
        ..IngestPolicy::default()
    };
    let pipeline = Pipeline { policy: &policy, pseudonymiser: &pseudonymiser };
    let mut recent = DedupWindow::new(config.dedup_window);
    let wait = Duration::from_millis(config.batch_max_wait_ms);
    info!(topics = ?config.raw_topics, group = %config.group_id, "ingest started");
    loop {
        // Cheap: the bus keeps the lag current off this loop.
        if let Ok(lag) = consumer.lag().await {
            stats.lag.store(lag, Ordering::Relaxed);
        }
        let poll_started = Instant::now();
        let records = match next_batch(&mut *consumer, config.batch_max_events, wait, shutdown.wait()).await {
            None => break,
            Some(Ok(records)) if records.is_empty() => continue,
            Some(Ok(records)) => records,
            Some(Err(error)) => {
                IngestStats::add(&stats.bus_errors, 1);
                warn!(%error, "poll failed; retrying");
                continue;
            }
        };
        IngestStats::add(&stats.consumed, records.len() as u64);
        let polled_in = poll_started.elapsed();
        let BatchOutput { normalized, dead_letters, rejection_reasons, produced_ids, duplicates } =
            pipeline.process(&records, &recent, Utc::now());
        let processed_in = poll_started.elapsed() - polled_in;
        let produced = publish(Outgoing { normalized, dead_letters }, &*producer, &config, &stats, &shutdown).await?;
        let published_in = poll_started.elapsed() - polled_in - processed_in;
        // A failed commit only means these records come again: downstream
        // is idempotent, so it is logged, not fatal.
        if let Err(error) = consumer.commit(&positions_after(&records)).await {
            IngestStats::add(&stats.bus_errors, 1);
            warn!(%error, "commit failed; the batch will be replayed");
        }
        tracing::debug!(
            records = records.len(),
            poll_ms = polled_in.as_millis() as u64,
            process_ms = processed_in.as_millis() as u64,
            produce_ms = published_in.as_millis() as u64,
            commit_ms = (poll_started.elapsed() - polled_in - processed_in - published_in).as_millis() as u64,
            "batch done"
        );
        for reason in rejection_reasons {
            stats.add_dead_letter(reason);
        }
        IngestStats::add(&stats.produced, produced as u64);
        IngestStats::add(&stats.duplicates, duplicates);
        IngestStats::add(&stats.batches, 1);
        for id in produced_ids {
            recent.remember(id);
        }
    }
    info!("ingest stopped");
    Ok(())
}

/// The messages of a batch, by destination.
struct Outgoing {
    normalized: Vec<Message>,
    dead_letters: Vec<Message>,
}

/// Produces a batch's messages; returns how many normalized events went out.
#[tracing::instrument(name = "ingest_batch", skip_all, fields(normalized = outgoing.normalized.len(), dead_letters = outgoing.dead_letters.len()))]
async fn publish(
    outgoing: Outgoing,
    producer: &dyn skills_bus::Producer,
    config: &IngestConfig,
    stats: &IngestStats,
    shutdown: &Shutdown,
) -> Result<usize, IngestError> {
    let produced = outgoing.normalized.len();
    send(producer, &config.normalized_topic, outgoing.normalized, stats, shutdown).await?;
    send(producer, &config.dead_letter_topic, outgoing.dead_letters, stats, shutdown).await?;
    Ok(produced)
}

/// Sends until acknowledged; the batch is not committed otherwise.
async fn send(
    producer: &dyn skills_bus::Producer,
    topic: &str,
    messages: Vec<Message>,
    stats: &IngestStats,
    shutdown: &Shutdown,
) -> Result<(), IngestError> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut stop = shutdown.clone();
    retry_until(
        Backoff::default(),
        || producer.send_ref(topic, &messages),
        |attempt, error| {
            IngestStats::add(&stats.bus_errors, 1);
            warn!(topic, attempt, error = %error, "produce failed, retrying");
        },
        async move { stop.wait().await },
    )
    .await
    .map_err(|_| IngestError::Interrupted)
}

//! The ingest loop: poll, process, produce, then commit.

use crate::config::IngestConfig;
use crate::dedup::DedupWindow;
use crate::pipeline::{BatchOutput, Pipeline};
use crate::stats::{BatchTally, IngestStats};
use chrono::Utc;
use skills_bus::retry::{Backoff, retry_until};
use skills_bus::{Bus, BusError, Message, next_batch, positions_after};
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
    let policy = config.policy();
    let pipeline = Pipeline { policy: &policy, pseudonymiser: &pseudonymiser };
    let mut recent = DedupWindow::new(config.dedup_window);
    let wait = Duration::from_millis(config.batch_max_wait_ms);
    info!(topics = ?config.raw_topics, group = %config.group_id, "ingest started");
    // One batch is published while the next is polled and processed; its
    // commit waits for its acknowledgement, so offsets are committed only
    // for what the broker has, in order.
    let mut in_flight: Option<InFlight> = None;
    loop {
        // Cheap: the bus keeps the lag current off this loop.
        if let Ok(lag) = consumer.lag().await {
            stats.lag.store(lag, Ordering::Relaxed);
        }
        let poll_started = Instant::now();
        let records = match next_batch(&mut *consumer, config.batch_max_events, wait, shutdown.wait()).await {
            None => break,
            Some(Ok(records)) if records.is_empty() => {
                if let Some(batch) = in_flight.take() {
                    batch.finish(&mut *consumer, &stats, Commit::Background).await?;
                }
                continue;
            }
            Some(Ok(records)) => records,
            Some(Err(error)) => {
                IngestStats::add(&stats.bus_errors, 1);
                warn!(%error, "poll failed; retrying");
                continue;
            }
        };
        IngestStats::add(&stats.consumed, records.len() as u64);
        let polled_in = poll_started.elapsed();
        let BatchOutput { normalized, dead_letters, rejections, produced_ids, duplicates, produced_by_partner } =
            pipeline.process(&records, &recent, Utc::now());
        // Remembered now, before the publish completes, so that the next
        // batch (processed while this one is in flight) sees them: the
        // publish retries until acknowledged or the process stops, and
        // the window does not outlive the process.
        for (id, source) in produced_ids {
            recent.remember(id, source);
        }
        tracing::debug!(
            records = records.len(),
            poll_ms = polled_in.as_millis() as u64,
            process_ms = (poll_started.elapsed() - polled_in).as_millis() as u64,
            "batch processed"
        );
        if let Some(batch) = in_flight.take() {
            batch.finish(&mut *consumer, &stats, Commit::Background).await?;
        }
        let publish = tokio::spawn(publish(
            Outgoing { normalized, dead_letters },
            producer.clone(),
            config.clone(),
            stats.clone(),
            shutdown.clone(),
        ));
        in_flight = Some(InFlight {
            publish,
            positions: positions_after(&records),
            records: records.len(),
            tally: BatchTally { produced_by_partner, duplicates, rejections },
            started: Instant::now(),
        });
    }
    if let Some(batch) = in_flight.take() {
        batch.finish(&mut *consumer, &stats, Commit::Wait).await?;
    }
    info!("ingest stopped");
    Ok(())
}

/// How a finished batch's offsets are committed: in the background while
/// running (a lost commit only replays records, which downstream counts
/// once), waited for at the stop.
#[derive(Clone, Copy)]
enum Commit {
    Background,
    Wait,
}

/// A batch being published, and what to do once the broker has it.
struct InFlight {
    publish: tokio::task::JoinHandle<Result<(), IngestError>>,
    positions: Vec<(String, skills_bus::Position)>,
    records: usize,
    tally: BatchTally,
    started: Instant,
}

impl InFlight {
    /// Waits for the acknowledgement, commits, counts.
    async fn finish(
        self,
        consumer: &mut dyn skills_bus::Consumer,
        stats: &IngestStats,
        commit: Commit,
    ) -> Result<(), IngestError> {
        self.publish.await.map_err(|_| IngestError::Interrupted)??;
        let published_in = self.started.elapsed();
        // A failed commit only means these records come again: downstream
        // is idempotent, so it is logged, not fatal.
        let committed = match commit {
            Commit::Background => consumer.commit_in_background(&self.positions).await,
            Commit::Wait => consumer.commit(&self.positions).await,
        };
        if let Err(error) = committed {
            IngestStats::add(&stats.bus_errors, 1);
            warn!(%error, "commit failed; the batch will be replayed");
        }
        tracing::debug!(
            records = self.records,
            produce_ms = published_in.as_millis() as u64,
            commit_ms = (self.started.elapsed() - published_in).as_millis() as u64,
            "batch done"
        );
        stats.add_batch(self.tally);
        Ok(())
    }
}

/// The messages of a batch, by destination.
struct Outgoing {
    normalized: Vec<Message>,
    dead_letters: Vec<Message>,
}

/// Produces a batch's messages, both topics at once.
#[tracing::instrument(name = "ingest_batch", skip_all, fields(normalized = outgoing.normalized.len(), dead_letters = outgoing.dead_letters.len()))]
async fn publish(
    outgoing: Outgoing,
    producer: Arc<dyn skills_bus::Producer>,
    config: IngestConfig,
    stats: Arc<IngestStats>,
    shutdown: Shutdown,
) -> Result<(), IngestError> {
    tokio::try_join!(
        send(&*producer, &config.normalized_topic, outgoing.normalized, &stats, &shutdown),
        send(&*producer, &config.dead_letter_topic, outgoing.dead_letters, &stats, &shutdown),
    )?;
    Ok(())
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

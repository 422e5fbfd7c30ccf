//! A consumer-group member that commits only when told to.

use super::gather::gather;
use super::{KafkaConfig, kafka_error};
use crate::{BusError, Consumer, Header, Message, Position, Record};
use async_trait::async_trait;
use rdkafka::consumer::{CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message as _};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Logs rebalances; offsets need no handling here because the service
/// commits after every batch, before it polls again.
pub(super) struct GroupContext {
    group: String,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn post_rebalance(&self, _: &rdkafka::consumer::BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                tracing::info!(group = %self.group, partitions = partitions.count(), "partitions assigned")
            }
            Rebalance::Revoke(partitions) => {
                tracing::info!(group = %self.group, partitions = partitions.count(), "partitions revoked")
            }
            Rebalance::Error(error) => tracing::warn!(group = %self.group, %error, "rebalance error"),
        }
    }

    /// Results of background commits (synchronous ones return theirs).
    fn commit_callback(&self, result: rdkafka::error::KafkaResult<()>, _: &TopicPartitionList) {
        if let Err(error) = result {
            tracing::warn!(group = %self.group, %error, "background commit failed; records after the last commit will come again");
        }
    }
}

pub(super) struct KafkaConsumer {
    consumer: Arc<StreamConsumer<GroupContext>>,
    linger: Duration,
    /// Refreshed by a background thread: measuring asks the broker, which
    /// must never stall the poll loop.
    lag: Arc<AtomicI64>,
    /// What it was made from, to make a new client after a fatal error.
    config: KafkaConfig,
    group: String,
    topics: Vec<String>,
}

/// How often the background thread measures the lag.
const LAG_INTERVAL: Duration = Duration::from_secs(5);

impl KafkaConsumer {
    pub(super) fn subscribe(config: &KafkaConfig, group: &str, topics: &[String]) -> Result<Self, BusError> {
        let mut client = config.client_config();
        client
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000");
        if !config.instance_id.is_empty() {
            client.set("group.instance.id", &config.instance_id);
        }
        let consumer: StreamConsumer<GroupContext> =
            client.create_with_context(GroupContext { group: group.to_string() }).map_err(kafka_error)?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&names).map_err(kafka_error)?;
        let consumer = Arc::new(consumer);
        let lag = Arc::new(AtomicI64::new(0));
        spawn_lag_thread(Arc::downgrade(&consumer), lag.clone());
        Ok(KafkaConsumer {
            consumer,
            linger: Duration::from_millis(config.batch_linger_ms),
            lag,
            config: config.clone(),
            group: group.to_string(),
            topics: topics.to_vec(),
        })
    }

    /// A fatal error leaves librdkafka's client unusable for good: a
    /// static member fenced after the broker restarted (its session lapsed
    /// while the broker was away and the rejoin took a new member id) is
    /// the case seen. A new client rejoins the group and resumes from the
    /// committed offsets; whatever comes again is a repeat, recognised
    /// downstream. Returns the error to report for this poll.
    async fn recover_if_fatal(&mut self, error: rdkafka::error::KafkaError) -> BusError {
        let reason = match self.consumer.client().fatal_error() {
            Some((_, reason)) => reason,
            None if matches!(error, rdkafka::error::KafkaError::MessageConsumptionFatal(_)) => error.to_string(),
            None => return kafka_error(error),
        };
        tracing::error!(group = %self.group, %reason, "fatal consumer error; rejoining with a new client");
        match Self::subscribe(&self.config, &self.group, &self.topics) {
            Ok(fresh) => {
                let old = std::mem::replace(self, fresh);
                // Closing the old client may wait on the network: off the runtime.
                tokio::task::spawn_blocking(move || drop(old));
                BusError::Kafka(format!("fatal consumer error ({reason}); rejoined with a new client"))
            }
            Err(rebuild) => BusError::Kafka(format!("fatal consumer error ({reason}); new client failed: {rebuild}")),
        }
    }
}

/// Measures the group member's lag until the consumer is dropped.
fn spawn_lag_thread(consumer: Weak<StreamConsumer<GroupContext>>, lag: Arc<AtomicI64>) {
    let spawned = std::thread::Builder::new().name("kafka-lag".into()).spawn(move || {
        loop {
            std::thread::sleep(LAG_INTERVAL);
            let Some(consumer) = consumer.upgrade() else { return };
            match measure_lag(&consumer) {
                Ok(value) => lag.store(value, Ordering::Relaxed),
                Err(error) => tracing::debug!(%error, "cannot measure consumer lag"),
            }
        }
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "no lag measurement: cannot start its thread");
    }
}

fn measure_lag(consumer: &StreamConsumer<GroupContext>) -> Result<i64, BusError> {
    let timeout = Duration::from_secs(5);
    let committed = consumer.committed(timeout).map_err(kafka_error)?;
    let mut lag = 0;
    for element in committed.elements() {
        let (low, high) =
            consumer.fetch_watermarks(element.topic(), element.partition(), timeout).map_err(kafka_error)?;
        let done = match element.offset() {
            Offset::Offset(offset) => offset,
            _ => low,
        };
        lag += (high - done).max(0);
    }
    Ok(lag)
}

pub(super) fn to_record(message: &BorrowedMessage<'_>) -> Record {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| Header { name: h.key.to_string(), value: h.value.map(<[u8]>::to_vec).unwrap_or_default() })
                .collect()
        })
        .unwrap_or_default();
    Record {
        topic: message.topic().to_string(),
        partition: message.partition(),
        offset: message.offset(),
        message: Message {
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers,
        },
    }
}

#[async_trait]
impl Consumer for KafkaConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Record>, BusError> {
        let consumer = self.consumer.clone();
        let next = || {
            let consumer = consumer.clone();
            async move { consumer.recv().await.map(|message| to_record(&message)) }
        };
        let is_fatal = |error: &rdkafka::error::KafkaError| {
            matches!(error, rdkafka::error::KafkaError::MessageConsumptionFatal(_))
                || self.consumer.client().fatal_error().is_some()
        };
        let gathered = gather(next, is_fatal, max, wait, self.linger).await;
        if let Some(error) = gathered.fatal {
            return Err(self.recover_if_fatal(error).await);
        }
        let Some(first) = gathered.first_error else { return Ok(gathered.records) };
        let errors = gathered.errors;
        let last = gathered.last_error.map(|e| format!("; the last: {e}")).unwrap_or_default();
        if gathered.records.is_empty() {
            return Err(BusError::Kafka(format!("{first}{last} ({errors} consumer errors and no message)")));
        }
        tracing::warn!(group = %self.group, errors, %first, %last, records = gathered.records.len(), "non-fatal consumer errors while polling; records returned");
        Ok(gathered.records)
    }

    async fn commit(&mut self, positions: &[(String, Position)]) -> Result<(), BusError> {
        let list = offsets(positions)?;
        let consumer = self.consumer.clone();
        tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync))
            .await
            .map_err(|e| BusError::Kafka(format!("commit task failed: {e}")))?
            .map_err(kafka_error)
    }

    async fn commit_in_background(&mut self, positions: &[(String, Position)]) -> Result<(), BusError> {
        // librdkafka queues the commit and returns; a failure is logged by
        // the consumer context's commit callback.
        self.consumer.commit(&offsets(positions)?, CommitMode::Async).map_err(kafka_error)
    }

    async fn lag(&mut self) -> Result<i64, BusError> {
        Ok(self.lag.load(Ordering::Relaxed))
    }
}

fn offsets(positions: &[(String, Position)]) -> Result<TopicPartitionList, BusError> {
    let mut list = TopicPartitionList::new();
    for (topic, position) in positions {
        list.add_partition_offset(topic, position.partition, Offset::Offset(position.next_offset))
            .map_err(kafka_error)?;
    }
    Ok(list)
}

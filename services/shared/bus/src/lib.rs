//! The event bus the services talk through. Services see only the traits
//! here; `embedded` is the in-process default, Kafka comes behind the same
//! traits.
//!
//! Delivery is at-least-once: a consumer commits offsets only after what it
//! made of a batch is safely downstream, and whatever was polled but not
//! committed is delivered again after a restart.

pub mod config;
pub mod embedded;
pub mod kafka;
pub mod retry;

pub use config::{BusConfig, BusKind, connect, connect_shared};

/// Default topic names (configurable per service).
pub mod topics {
    pub const ENROLMENTS: &str = "skills.enrolments.v1";
    pub const ASSESSMENTS: &str = "skills.assessments.v1";
    pub const DEMAND: &str = "skills.demand.v1";
    pub const NORMALIZED: &str = "skills.events.v1";
    pub const DEAD_LETTERS: &str = "skills.dlq.v1";

    /// The raw topic of a payload kind as the contract names it
    /// ("enrolment", "assessment", "labour_demand"); anything else goes
    /// with the enrolments, where ingest dead-letters what it cannot read.
    pub fn raw_for_kind(kind: &str) -> &'static str {
        match kind {
            "assessment" => ASSESSMENTS,
            "labour_demand" => DEMAND,
            _ => ENROLMENTS,
        }
    }
}

/// Header names shared by producers and consumers.
pub mod headers {
    /// "application/json" or "application/x-protobuf" on raw events.
    pub const CONTENT_TYPE: &str = "content-type";
    /// Raw events from the gateway: the partner whose credential sent them.
    /// Ingestion sets it on dead letters and duplicate notices too (from
    /// the event's own `partner_id` when the raw record had no header).
    pub const PARTNER_ID: &str = "partner-id";
    /// Duplicate notices on the normalized topic: the raw record
    /// (`topic:partition:offset`) the event was first produced from. A
    /// notice has no payload; `EVENT_ID` names the event.
    pub const DUPLICATE_OF: &str = "duplicate-of";
    pub const EVENT_ID: &str = "event-id";
    /// Dead letters: machine-readable reason code.
    pub const DLQ_REASON: &str = "dlq-reason";
    /// Dead letters: human message naming the field and value.
    pub const DLQ_MESSAGE: &str = "dlq-message";
    pub const DLQ_SOURCE_TOPIC: &str = "dlq-source-topic";
    pub const DLQ_SOURCE_PARTITION: &str = "dlq-source-partition";
    pub const DLQ_SOURCE_OFFSET: &str = "dlq-source-offset";
    /// Normalized events: the raw message they were made from.
    pub const SOURCE_TOPIC: &str = "source-topic";
    pub const SOURCE_PARTITION: &str = "source-partition";
    pub const SOURCE_OFFSET: &str = "source-offset";
}

use async_trait::async_trait;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

/// A message to produce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: Vec<Header>,
}

impl Message {
    pub fn new(payload: Vec<u8>) -> Self {
        Message { key: None, payload, headers: Vec::new() }
    }

    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(Header { name: name.to_string(), value: value.into() });
        self
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|h| h.name == name).map(|h| h.value.as_slice())
    }
}

/// A consumed message and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub message: Message,
}

/// The next offset to read in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub partition: i32,
    pub next_offset: i64,
}

/// What to commit: the highest position seen per topic and partition.
pub fn positions_after(records: &[Record]) -> Vec<(String, Position)> {
    let mut positions: Vec<(String, Position)> = Vec::new();
    for record in records {
        let next = Position { partition: record.partition, next_offset: record.offset + 1 };
        match positions.iter_mut().find(|(topic, p)| *topic == record.topic && p.partition == record.partition) {
            Some((_, position)) => position.next_offset = position.next_offset.max(next.next_offset),
            None => positions.push((record.topic.clone(), next)),
        }
    }
    positions
}

#[derive(Debug, Error)]
pub enum BusError {
    #[error("bus is closed")]
    Closed,
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    #[error("consumer group {group:?} already reads topic {topic:?} in this process")]
    GroupBusy { group: String, topic: String },
    #[error("bus configuration: {0}")]
    Config(String),
    #[error("kafka: {0}")]
    Kafka(String),
    #[error("bus error: {0}")]
    Other(String),
}

/// Pause after a failed poll, so a broker outage does not spin a loop.
const POLL_ERROR_PAUSE: Duration = Duration::from_millis(500);

/// The next batch of a service loop, or None once `stop` resolves first.
/// A failed poll is returned after a short pause; the caller logs it and
/// polls again.
pub async fn next_batch(
    consumer: &mut dyn Consumer,
    max: usize,
    wait: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> Option<Result<Vec<Record>, BusError>> {
    let polled = tokio::select! {
        biased;
        _ = stop => return None,
        polled = consumer.poll(max, wait) => polled,
    };
    if polled.is_err() {
        tokio::time::sleep(POLL_ERROR_PAUSE).await;
    }
    Some(polled)
}

/// Produces batches; returns once every message is acknowledged.
#[async_trait]
pub trait Producer: Send + Sync {
    async fn send(&self, topic: &str, messages: Vec<Message>) -> Result<(), BusError>;

    /// The same, from borrowed messages, for callers that keep them to
    /// retry; a bus that does not need ownership avoids the copy.
    async fn send_ref(&self, topic: &str, messages: &[Message]) -> Result<(), BusError> {
        self.send(topic, messages.to_vec()).await
    }
}

/// Reads a set of topics as one member of a consumer group.
#[async_trait]
pub trait Consumer: Send {
    /// Up to `max` records, waiting at most `wait` for the first one.
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Record>, BusError>;
    /// Marks everything before these positions as done for the group.
    async fn commit(&mut self, positions: &[(String, Position)]) -> Result<(), BusError>;
    /// The same, without waiting for the group coordinator: for a loop
    /// whose replays are harmless, which commits with `commit` when it
    /// stops. A commit lost this way only means records come again.
    async fn commit_in_background(&mut self, positions: &[(String, Position)]) -> Result<(), BusError> {
        self.commit(positions).await
    }
    /// Records of this member's partitions not yet committed, as last
    /// measured; cheap enough to call on every loop turn.
    async fn lag(&mut self) -> Result<i64, BusError>;
}

/// A bus: hands out producers and consumers.
#[async_trait]
pub trait Bus: Send + Sync {
    fn producer(&self) -> std::sync::Arc<dyn Producer>;
    fn consumer(&self, group: &str, topics: &[String]) -> Result<Box<dyn Consumer>, BusError>;
    /// Creates the topics that do not exist yet.
    async fn ensure_topics(&self, topics: &[String]) -> Result<(), BusError>;
}

//! The Kafka bus (librdkafka through rdkafka).
//!
//! - Producers are idempotent with `acks=all`; `send` returns once every
//!   message of the batch is acknowledged.
//! - Consumers never auto-commit: the service commits after what it made of
//!   a batch is acknowledged downstream (at-least-once end to end). A
//!   rebalance between two commits hands the uncommitted records to the new
//!   owner, which processes them again; downstream is idempotent.
//! - Any librdkafka setting (`security.protocol`, `sasl.*`, `ssl.*`, …)
//!   passes through `bus.kafka.client`.

mod admin;
mod consumer;
mod gather;
mod producer;
pub mod scan;

use crate::{Bus, BusError, Consumer, Producer};
use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::producer::FutureProducer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Extra librdkafka settings for every client (security, tuning).
    pub client: BTreeMap<String, String>,
    /// Partitions of topics this service creates when missing.
    pub partitions: i32,
    /// Per-topic partition counts, overriding `partitions`.
    pub topic_partitions: BTreeMap<String, i32>,
    pub replication_factor: i32,
    /// Create missing topics at start-up.
    pub create_topics: bool,
    /// After the first record, how long a poll keeps gathering a batch.
    pub batch_linger_ms: u64,
    /// Static group membership (`group.instance.id`): a stable name per
    /// replica (a pod name, a host name). A replica restarted under the same
    /// name gets its partitions back at once instead of after a rebalance
    /// that waits out the dead member's session. Empty: dynamic membership.
    pub instance_id: String,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            client: BTreeMap::new(),
            partitions: 6,
            topic_partitions: BTreeMap::new(),
            replication_factor: 1,
            create_topics: true,
            batch_linger_ms: 5,
            instance_id: String::new(),
        }
    }
}

impl KafkaConfig {
    fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.client {
            config.set(key, value);
        }
        config
    }
}

pub(crate) fn kafka_error(error: rdkafka::error::KafkaError) -> BusError {
    BusError::Kafka(error.to_string())
}

/// Connects lazily: librdkafka reconnects by itself, so a broker that is
/// down at start-up only delays the first batch.
pub struct KafkaBus {
    config: KafkaConfig,
    producer: Arc<producer::KafkaProducer>,
}

impl KafkaBus {
    pub fn new(config: KafkaConfig) -> Result<Self, BusError> {
        let mut client = config.client_config();
        client
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "300000");
        let producer: FutureProducer = client.create().map_err(kafka_error)?;
        Ok(KafkaBus { config, producer: Arc::new(producer::KafkaProducer::new(producer)) })
    }
}

#[async_trait]
impl Bus for KafkaBus {
    fn producer(&self) -> Arc<dyn Producer> {
        self.producer.clone()
    }

    fn consumer(&self, group: &str, topics: &[String]) -> Result<Box<dyn Consumer>, BusError> {
        Ok(Box::new(consumer::KafkaConsumer::subscribe(&self.config, group, topics)?))
    }

    async fn ensure_topics(&self, topics: &[String]) -> Result<(), BusError> {
        if !self.config.create_topics {
            return Ok(());
        }
        admin::ensure_topics(&self.config, topics).await
    }
}

//! Creating missing topics with their configured partition counts.

use super::{KafkaConfig, kafka_error};
use crate::BusError;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

pub(super) async fn ensure_topics(config: &KafkaConfig, topics: &[String]) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> = config.client_config().create().map_err(kafka_error)?;
    let partitions: Vec<i32> =
        topics.iter().map(|t| config.topic_partitions.get(t).copied().unwrap_or(config.partitions)).collect();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&partitions)
        .map(|(topic, partitions)| {
            NewTopic::new(topic, *partitions, TopicReplication::Fixed(config.replication_factor))
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics(&new_topics, &options).await.map_err(kafka_error)?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(topic, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(BusError::Kafka(format!("cannot create topic {topic}: {code}"))),
        }
    }
    Ok(())
}

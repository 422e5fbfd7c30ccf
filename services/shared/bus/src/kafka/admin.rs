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
    // KRaft answers a creation before every partition has a leader in the
    // broker's metadata; a consumer subscribing before then may not see
    // the topic until librdkafka's next metadata refresh (minutes).
    let topics = topics.to_vec();
    tokio::task::spawn_blocking(move || wait_for_leaders(&admin, &topics))
        .await
        .map_err(|e| BusError::Kafka(format!("waiting for topic leaders failed: {e}")))?
}

/// Until every topic has partitions, each with a leader (at most 30 s).
fn wait_for_leaders(admin: &AdminClient<DefaultClientContext>, topics: &[String]) -> Result<(), BusError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for topic in topics {
        loop {
            let metadata = admin.inner().fetch_metadata(Some(topic), Duration::from_secs(5));
            let ready = metadata.is_ok_and(|metadata| {
                metadata.topics().iter().any(|t| {
                    t.name() == topic
                        && t.error().is_none()
                        && !t.partitions().is_empty()
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            });
            if ready {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(BusError::Kafka(format!("topic {topic} has no leader for every partition after 30 s")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

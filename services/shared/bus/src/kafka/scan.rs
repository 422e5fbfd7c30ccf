//! Reading a topic's partitions over a time range outside any consumer
//! group, for audits (`skills reconcile`). Blocking: call it from a
//! blocking task.

use super::consumer::to_record;
use super::{KafkaConfig, kafka_error};
use crate::{BusError, Record};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The offsets [start, end) of one partition whose records fall in a time
/// range (by record timestamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRange {
    pub topic: String,
    pub partition: i32,
    pub start: i64,
    pub end: i64,
}

fn reader(config: &KafkaConfig) -> Result<BaseConsumer, BusError> {
    let mut client = config.client_config();
    client
        .set("group.id", "skills-reconcile")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    client.create().map_err(kafka_error)
}

/// Every partition of `topic`, cut to the records timestamped in
/// [since, until) (milliseconds since the epoch; None: unbounded).
pub fn partition_ranges(
    config: &KafkaConfig,
    topic: &str,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
) -> Result<Vec<PartitionRange>, BusError> {
    let consumer = reader(config)?;
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT).map_err(kafka_error)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(BusError::UnknownTopic(topic.to_string()));
    }
    let mut ranges = Vec::new();
    for partition in partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, TIMEOUT).map_err(kafka_error)?;
        let offset_at = |time: Option<i64>, default: i64| -> Result<i64, BusError> {
            let Some(time) = time else { return Ok(default) };
            let mut list = TopicPartitionList::new();
            list.add_partition_offset(topic, partition, Offset::Offset(time)).map_err(kafka_error)?;
            let found = consumer.offsets_for_times(list, TIMEOUT).map_err(kafka_error)?;
            // No record at or after `time`: the range ends at the high mark.
            Ok(match found.find_partition(topic, partition).map(|e| e.offset()) {
                Some(Offset::Offset(offset)) => offset,
                _ => high,
            })
        };
        let start = offset_at(since_ms, low)?.max(low);
        let end = offset_at(until_ms, high)?.min(high);
        ranges.push(PartitionRange { topic: topic.to_string(), partition, start, end: end.max(start) });
    }
    Ok(ranges)
}

/// Calls `visit` with every record of the range, in offset order.
pub fn scan(config: &KafkaConfig, range: &PartitionRange, mut visit: impl FnMut(Record)) -> Result<(), BusError> {
    if range.start >= range.end {
        return Ok(());
    }
    let consumer = reader(config)?;
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(&range.topic, range.partition, Offset::Offset(range.start)).map_err(kafka_error)?;
    consumer.assign(&list).map_err(kafka_error)?;
    let mut last_progress = Instant::now();
    let mut next = range.start;
    while next < range.end {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(message)) => {
                if message.offset() >= range.end {
                    break;
                }
                next = message.offset() + 1;
                last_progress = Instant::now();
                visit(to_record(&message));
            }
            Some(Err(error)) => return Err(kafka_error(error)),
            None if last_progress.elapsed() > TIMEOUT => {
                return Err(BusError::Kafka(format!(
                    "{} partition {}: no record after offset {next} for {} s (range ends at {})",
                    range.topic,
                    range.partition,
                    TIMEOUT.as_secs(),
                    range.end
                )));
            }
            None => {}
        }
    }
    Ok(())
}

//! Records to a store batch: normalized events become facts, dead letters
//! keep their reason. A normalized record that cannot become facts is itself
//! dead-lettered, never dropped.

use skills_bus::{Record, headers};
use skills_domain::facts::{dead_letter_id, facts_of};
use skills_proto::Message as _;
use skills_proto::v1::NormalizedEvent;
use skills_store::{Batch, Checkpoint, DeadLetter};

pub fn build_batch(records: &[Record], normalized_topic: &str, consumer: &str) -> Batch {
    let mut batch = Batch::default();
    for record in records {
        if record.topic == normalized_topic {
            let facts = NormalizedEvent::decode(record.message.payload.as_slice())
                .map_err(|e| format!("normalized record is not a NormalizedEvent: {e}"))
                .and_then(|event| facts_of(&event).map_err(|e| e.to_string()));
            match facts {
                Ok(facts) => batch.events.push(facts),
                Err(message) => batch.dead_letters.push(letter(record, "invalid_normalized", message)),
            }
        } else {
            batch.dead_letters.push(from_dead_letter_topic(record));
        }
    }
    batch.checkpoints = skills_bus::positions_after(records)
        .into_iter()
        .map(|(topic, position)| Checkpoint {
            consumer: consumer.to_string(),
            topic,
            partition: position.partition,
            next_offset: position.next_offset,
        })
        .collect();
    batch
}

fn text_header(record: &Record, name: &str) -> Option<String> {
    record.message.header(name).map(|value| String::from_utf8_lossy(value).into_owned())
}

/// A dead letter produced by ingestion: its identity is where the raw
/// message was read, so replays record it once.
fn from_dead_letter_topic(record: &Record) -> DeadLetter {
    let source_topic = text_header(record, headers::DLQ_SOURCE_TOPIC);
    let source_partition = text_header(record, headers::DLQ_SOURCE_PARTITION).and_then(|v| v.parse().ok());
    let source_offset = text_header(record, headers::DLQ_SOURCE_OFFSET).and_then(|v| v.parse().ok());
    let (Some(source_topic), Some(source_partition), Some(source_offset)) =
        (source_topic, source_partition, source_offset)
    else {
        return letter(record, "invalid_dead_letter", "dead letter without its source headers".to_string());
    };
    DeadLetter {
        id: dead_letter_id(&source_topic, source_partition, source_offset, &record.message.payload),
        source_topic,
        source_partition,
        source_offset,
        reason: text_header(record, headers::DLQ_REASON).unwrap_or_else(|| "unknown".into()),
        message: text_header(record, headers::DLQ_MESSAGE).unwrap_or_default(),
        payload: record.message.payload.clone(),
    }
}

/// A dead letter for a record the aggregator itself could not use.
fn letter(record: &Record, reason: &str, message: String) -> DeadLetter {
    DeadLetter {
        id: dead_letter_id(&record.topic, record.partition, record.offset, &record.message.payload),
        source_topic: record.topic.clone(),
        source_partition: record.partition,
        source_offset: record.offset,
        reason: reason.to_string(),
        message,
        payload: record.message.payload.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skills_bus::Message;

    fn record(topic: &str, offset: i64, message: Message) -> Record {
        Record { topic: topic.into(), partition: 0, offset, message }
    }

    #[test]
    fn sorts_records_into_facts_and_dead_letters_with_checkpoints() {
        let event = NormalizedEvent {
            event_id: "e1".into(),
            occurred_at: Some(skills_proto::Timestamp { seconds: 1_740_000_000, nanos: 0 }),
            region: "84".into(),
            payload: Some(skills_proto::v1::normalized_event::Payload::Demand(skills_proto::v1::NormalizedDemand {
                source: "s".into(),
                skills: vec!["3.4".into()],
                openings: 3,
                hard_to_fill: 1,
                rome_code: String::new(),
            })),
            ..Default::default()
        };
        let dlq = Message::new(b"raw".to_vec())
            .with_header(headers::DLQ_REASON, "unknown_skill")
            .with_header(headers::DLQ_MESSAGE, "unknown skill code \"9.9\"")
            .with_header(headers::DLQ_SOURCE_TOPIC, "skills.demand.v1")
            .with_header(headers::DLQ_SOURCE_PARTITION, "0")
            .with_header(headers::DLQ_SOURCE_OFFSET, "41");
        let records = [
            record("norm", 0, Message::new(event.encode_to_vec())),
            record("norm", 1, Message::new(b"junk".to_vec())),
            record("dlq", 7, dlq),
            record("dlq", 8, Message::new(b"no headers".to_vec())),
        ];
        let batch = build_batch(&records, "norm", "agg");
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.events[0].facts.demands[0].openings, 3);
        let reasons: Vec<_> = batch.dead_letters.iter().map(|d| d.reason.as_str()).collect();
        assert_eq!(reasons, ["invalid_normalized", "unknown_skill", "invalid_dead_letter"]);
        assert_eq!(batch.dead_letters[1].source_offset, 41);
        assert_eq!(batch.dead_letters[1].source_topic, "skills.demand.v1");
        let mut next: Vec<_> = batch.checkpoints.iter().map(|c| (c.topic.as_str(), c.next_offset)).collect();
        next.sort();
        assert_eq!(next, [("dlq", 9), ("norm", 2)]);
    }
}

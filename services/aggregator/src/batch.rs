//! Records to a store batch: normalized events become facts, dead letters
//! keep their reason. A normalized record that cannot become facts is itself
//! dead-lettered, never dropped.

use skills_bus::{Record, headers};
use skills_domain::facts::{DuplicateEvent, EventFacts, RawSource, dead_letter_id, facts_of};
use skills_proto::Message as _;
use skills_proto::v1::NormalizedEvent;
use skills_store::{Batch, Checkpoint, DeadLetter};

/// One unit of a store batch, remembering the record it came from so that
/// an event the store refuses can be dead-lettered with its origin.
#[derive(Debug, Clone)]
pub enum Item {
    Event {
        facts: EventFacts,
        record: usize,
    },
    Letter(DeadLetter),
    /// Ingestion's notice of a partner's repeat: recorded, never counted.
    Duplicate {
        duplicate: DuplicateEvent,
        record: usize,
    },
}

impl Item {
    pub fn describe(&self) -> String {
        match self {
            Item::Event { facts, .. } => format!("event {}", facts.event_id),
            Item::Letter(letter) => format!("dead letter {}", letter.id),
            Item::Duplicate { duplicate, .. } => format!("duplicate of event {}", duplicate.event_id),
        }
    }
}

/// Sorts records into events and dead letters.
pub fn items_of(records: &[Record], normalized_topic: &str) -> Vec<Item> {
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            if record.topic != normalized_topic {
                return Item::Letter(from_dead_letter_topic(record));
            }
            if record.message.header(headers::DUPLICATE_OF).is_some() {
                return match duplicate_of(record) {
                    Some(duplicate) => Item::Duplicate { duplicate, record: index },
                    None => Item::Letter(letter(
                        record,
                        "invalid_normalized",
                        "duplicate notice without its event id or raw source".to_string(),
                    )),
                };
            }
            let facts = NormalizedEvent::decode(record.message.payload.as_slice())
                .map_err(|e| format!("normalized record is not a NormalizedEvent: {e}"))
                .and_then(|event| facts_of(&event).map_err(|e| e.to_string()));
            match facts {
                Ok(mut facts) => {
                    facts.source = raw_source(record);
                    Item::Event { facts, record: index }
                }
                Err(message) => Item::Letter(letter(record, "invalid_normalized", message)),
            }
        })
        .collect()
}

/// Where the consumer is after these records, to store with the data.
pub fn checkpoints_of(records: &[Record], consumer: &str) -> Vec<Checkpoint> {
    skills_bus::positions_after(records)
        .into_iter()
        .map(|(topic, position)| Checkpoint {
            consumer: consumer.to_string(),
            topic,
            partition: position.partition,
            next_offset: position.next_offset,
        })
        .collect()
}

pub fn batch_of(items: &[Item], checkpoints: Vec<Checkpoint>) -> Batch {
    let mut batch = Batch { checkpoints, ..Batch::default() };
    for item in items {
        match item {
            Item::Event { facts, .. } => batch.events.push(facts.clone()),
            Item::Letter(letter) => batch.dead_letters.push(letter.clone()),
            Item::Duplicate { duplicate, .. } => batch.duplicates.push(duplicate.clone()),
        }
    }
    batch
}

/// The dead letter for an item the store refuses.
pub fn rejected_letter(item: &Item, records: &[Record], reason: &str) -> DeadLetter {
    let message: String = format!("the store refused it: {reason}").chars().take(1_000).collect();
    match item {
        Item::Event { record, .. } | Item::Duplicate { record, .. } => {
            letter(&records[*record], "store_rejected", message)
        }
        Item::Letter(original) => DeadLetter { reason: "store_rejected".into(), message, ..original.clone() },
    }
}

/// Consecutive slices of at most `max_bytes` of payload each (at least one
/// record per slice), so one store write stays bounded in bytes too.
pub fn chunks_by_bytes(records: &[Record], max_bytes: usize) -> Vec<&[Record]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, record) in records.iter().enumerate() {
        let size = record.message.payload.len();
        if index > start && bytes + size > max_bytes {
            chunks.push(&records[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < records.len() {
        chunks.push(&records[start..]);
    }
    chunks
}

fn text_header(record: &Record, name: &str) -> Option<String> {
    record.message.header(name).map(|value| String::from_utf8_lossy(value).into_owned())
}

/// The raw record ingestion made a normalized record from (its headers).
fn raw_source(record: &Record) -> Option<RawSource> {
    Some(RawSource {
        topic: text_header(record, headers::SOURCE_TOPIC)?,
        partition: text_header(record, headers::SOURCE_PARTITION)?.parse().ok()?,
        offset: text_header(record, headers::SOURCE_OFFSET)?.parse().ok()?,
    })
}

/// A duplicate notice: the event, its partner, and the raw record of the
/// repeat (the first record, in `duplicate-of`, is for people reading it).
fn duplicate_of(record: &Record) -> Option<DuplicateEvent> {
    Some(DuplicateEvent {
        event_id: text_header(record, headers::EVENT_ID).filter(|id| !id.is_empty())?,
        partner_id: text_header(record, headers::PARTNER_ID).unwrap_or_default(),
        source: raw_source(record)?,
    })
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
        partner_id: text_header(record, headers::PARTNER_ID).unwrap_or_default(),
    }
}

/// A dead letter for a record the aggregator itself could not use. It is
/// filed under the raw message the record was made from (headers set by
/// ingestion), so that reconciliation finds it; else under the record.
fn letter(record: &Record, reason: &str, message: String) -> DeadLetter {
    let source = (
        text_header(record, headers::SOURCE_TOPIC),
        text_header(record, headers::SOURCE_PARTITION).and_then(|v| v.parse().ok()),
        text_header(record, headers::SOURCE_OFFSET).and_then(|v| v.parse().ok()),
    );
    // Filed under its raw record, its identity is that record alone: the
    // normalized payload holds the ingestion time, so a replayed record
    // would otherwise get a second letter.
    let (topic, partition, offset, identity) = match source {
        (Some(topic), Some(partition), Some(offset)) => (topic, partition, offset, &[][..]),
        _ => (record.topic.clone(), record.partition, record.offset, record.message.payload.as_slice()),
    };
    DeadLetter {
        id: dead_letter_id(&topic, partition, offset, identity),
        source_topic: topic,
        source_partition: partition,
        source_offset: offset,
        reason: reason.to_string(),
        message,
        payload: record.message.payload.clone(),
        partner_id: partner_of(record),
    }
}

/// The partner of a normalized record the aggregator dead-letters: its
/// header (duplicate notices), else the event's own, if it decodes.
fn partner_of(record: &Record) -> String {
    text_header(record, headers::PARTNER_ID)
        .or_else(|| NormalizedEvent::decode(record.message.payload.as_slice()).ok().map(|event| event.partner_id))
        .unwrap_or_default()
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
            .with_header(headers::PARTNER_ID, "board")
            .with_header(headers::DLQ_REASON, "unknown_skill")
            .with_header(headers::DLQ_MESSAGE, "unknown skill code \"9.9\"")
            .with_header(headers::DLQ_SOURCE_TOPIC, "skills.demand.v1")
            .with_header(headers::DLQ_SOURCE_PARTITION, "0")
            .with_header(headers::DLQ_SOURCE_OFFSET, "41");
        let from_raw = |message: Message, offset: &str| {
            message
                .with_header(headers::SOURCE_TOPIC, "skills.demand.v1")
                .with_header(headers::SOURCE_PARTITION, "0")
                .with_header(headers::SOURCE_OFFSET, offset)
        };
        let notice = from_raw(Message::new(Vec::new()), "50")
            .with_header(headers::DUPLICATE_OF, "skills.demand.v1:0:40")
            .with_header(headers::EVENT_ID, "e1")
            .with_header(headers::PARTNER_ID, "board");
        let records = [
            record("norm", 0, from_raw(Message::new(event.encode_to_vec()), "40")),
            record("norm", 1, Message::new(b"junk".to_vec())),
            record("dlq", 7, dlq),
            record("dlq", 8, Message::new(b"no headers".to_vec())),
            record("norm", 2, notice),
            record("norm", 3, Message::new(Vec::new()).with_header(headers::DUPLICATE_OF, "x:0:1")),
        ];
        let items = items_of(&records, "norm");
        let batch = batch_of(&items, checkpoints_of(&records, "agg"));
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.events[0].facts.demands[0].openings, 3);
        let source = RawSource { topic: "skills.demand.v1".into(), partition: 0, offset: 40 };
        assert_eq!(batch.events[0].source, Some(source), "the raw record, from the headers");
        assert_eq!(batch.duplicates.len(), 1);
        assert_eq!((batch.duplicates[0].event_id.as_str(), batch.duplicates[0].partner_id.as_str()), ("e1", "board"));
        assert_eq!(batch.duplicates[0].source.offset, 50, "filed under the repeat's own raw record");
        assert_eq!(batch.dead_letters[1].partner_id, "board");
        let reasons: Vec<_> = batch.dead_letters.iter().map(|d| d.reason.as_str()).collect();
        assert_eq!(reasons, ["invalid_normalized", "unknown_skill", "invalid_dead_letter", "invalid_normalized"]);
        assert_eq!(batch.dead_letters[1].source_offset, 41);
        assert_eq!(batch.dead_letters[1].source_topic, "skills.demand.v1");
        let mut next: Vec<_> = batch.checkpoints.iter().map(|c| (c.topic.as_str(), c.next_offset)).collect();
        next.sort();
        assert_eq!(next, [("dlq", 9), ("norm", 4)]);
    }

    #[test]
    fn a_letter_for_a_normalized_record_names_its_raw_source() {
        let message = Message::new(b"junk".to_vec())
            .with_header(headers::SOURCE_TOPIC, "skills.demand.v1")
            .with_header(headers::SOURCE_PARTITION, "3")
            .with_header(headers::SOURCE_OFFSET, "77");
        let items = items_of(&[record("norm", 5, message)], "norm");
        let Item::Letter(letter) = &items[0] else { panic!("expected a dead letter, got {items:?}") };
        assert_eq!(
            (letter.source_topic.as_str(), letter.source_partition, letter.source_offset),
            ("skills.demand.v1", 3, 77)
        );
        let replayed = Message::new(b"junk, ingested again later".to_vec())
            .with_header(headers::SOURCE_TOPIC, "skills.demand.v1")
            .with_header(headers::SOURCE_PARTITION, "3")
            .with_header(headers::SOURCE_OFFSET, "77");
        let again = items_of(&[record("norm", 9, replayed)], "norm");
        let Item::Letter(again) = &again[0] else { panic!("expected a dead letter, got {again:?}") };
        assert_eq!(again.id, letter.id, "a replayed raw record is one dead letter");
        let rejected = rejected_letter(&items[0], &[], "Code: 1");
        assert_eq!(rejected.reason, "store_rejected");
        assert_eq!(rejected.id, letter.id, "same identity, so a replay records it once");
    }

    #[test]
    fn chunks_stay_under_the_byte_bound_but_hold_at_least_one_record() {
        let records: Vec<Record> = [10, 10, 10, 50, 5]
            .iter()
            .enumerate()
            .map(|(i, n)| record("t", i as i64, Message::new(vec![0; *n])))
            .collect();
        let sizes: Vec<usize> = chunks_by_bytes(&records, 25).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [2, 1, 1, 1]);
        assert_eq!(chunks_by_bytes(&records, 1_000).len(), 1);
        assert!(chunks_by_bytes(&[], 10).is_empty());
    }
}

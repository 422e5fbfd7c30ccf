//! One batch of raw records in, the messages to produce out. Pure apart
//! from the clock passed in: the service does the I/O around it.

use crate::dedup::DedupWindow;
use chrono::{DateTime, Utc};
use skills_bus::{Message, Record, headers};
use skills_domain::events::{ContentType, IngestPolicy, Rejection, claimed_partner, normalize};
use skills_domain::facts::RawSource;
use skills_domain::pseudonym::Pseudonymiser;
use skills_proto::Message as _;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct BatchOutput {
    /// Normalized envelopes and duplicate notices, keyed by region.
    pub normalized: Vec<Message>,
    pub dead_letters: Vec<Message>,
    /// Partner (empty when unknown) and reason code of each dead letter,
    /// for the counters.
    pub rejections: Vec<(String, &'static str)>,
    /// Ids of the normalized events and their raw records, to remember
    /// once produced.
    pub produced_ids: Vec<(String, RawSource)>,
    /// The partner of each duplicate notice.
    pub duplicates: Vec<String>,
    /// Events produced, by partner.
    pub produced_by_partner: HashMap<String, u64>,
}

pub struct Pipeline<'a> {
    pub policy: &'a IngestPolicy,
    pub pseudonymiser: &'a Pseudonymiser,
}

impl Pipeline<'_> {
    pub fn process(&self, records: &[Record], recent: &DedupWindow, now: DateTime<Utc>) -> BatchOutput {
        let mut output = BatchOutput::default();
        // Ids produced earlier in this batch: a map, since a batch holds
        // thousands (a linear scan here was a fifth of ingest's CPU).
        let mut in_batch: HashMap<String, RawSource> = HashMap::with_capacity(records.len());
        for record in records {
            let content_type = content_type_of(record);
            let source = RawSource { topic: record.topic.clone(), partition: record.partition, offset: record.offset };
            match normalize(&record.message.payload, content_type, self.policy, self.pseudonymiser, now) {
                Ok(event) => {
                    // The same raw record again (a replay after a rebalance)
                    // is produced again: the store counts it once.
                    let first = recent.source_of(&event.event_id).or_else(|| in_batch.get(&event.event_id));
                    if let Some(first) = first.filter(|first| **first != source) {
                        output.normalized.push(duplicate_notice(&event, first, &source));
                        output.duplicates.push(event.partner_id);
                        continue;
                    }
                    in_batch.entry(event.event_id.clone()).or_insert_with(|| source.clone());
                    let message =
                        Message::new(event.encode_to_vec()).with_key(event.region.clone()).with_source(&source);
                    match output.produced_by_partner.get_mut(&event.partner_id) {
                        Some(count) => *count += 1,
                        None => _ = output.produced_by_partner.insert(event.partner_id.clone(), 1),
                    }
                    output.produced_ids.push((event.event_id, source));
                    output.normalized.push(message);
                }
                Err(rejection) => {
                    let letter = dead_letter(record, &rejection, content_type, self.policy.max_message_bytes);
                    let partner = letter.header(headers::PARTNER_ID).map(|p| String::from_utf8_lossy(p).into_owned());
                    output.rejections.push((partner.unwrap_or_default(), rejection.reason.code()));
                    output.dead_letters.push(letter);
                }
            }
        }
        output
    }
}

fn content_type_of(record: &Record) -> Option<ContentType> {
    record
        .message
        .header(headers::CONTENT_TYPE)
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(ContentType::from_header)
}

trait WithSource {
    fn with_source(self, source: &RawSource) -> Self;
}

impl WithSource for Message {
    fn with_source(self, source: &RawSource) -> Self {
        self.with_header(headers::SOURCE_TOPIC, source.topic.as_str())
            .with_header(headers::SOURCE_PARTITION, source.partition.to_string())
            .with_header(headers::SOURCE_OFFSET, source.offset.to_string())
    }
}

/// In place of a partner's repeat of an event produced from another raw
/// record: no payload, only which event, whose, and where it came first,
/// so the aggregator records the duplicate without counting it.
fn duplicate_notice(event: &skills_proto::v1::NormalizedEvent, first: &RawSource, source: &RawSource) -> Message {
    Message::new(Vec::new())
        .with_key(event.region.clone())
        .with_header(headers::DUPLICATE_OF, first.to_string())
        .with_header(headers::EVENT_ID, event.event_id.as_str())
        .with_header(headers::PARTNER_ID, event.partner_id.as_str())
        .with_source(source)
}

/// The original bytes and headers, plus where they came from, why they
/// were rejected and, when known, which partner sent them (the payload is
/// decoded for it only up to `decode_limit` bytes: an oversized one is not).
pub fn dead_letter(
    record: &Record,
    rejection: &Rejection,
    content_type: Option<ContentType>,
    decode_limit: usize,
) -> Message {
    let mut message = record.message.clone();
    message.key = Some(record.topic.as_bytes().to_vec());
    if message.header(headers::PARTNER_ID).is_none()
        && message.payload.len() <= decode_limit
        && let Some(partner) = claimed_partner(&message.payload, content_type)
    {
        message = message.with_header(headers::PARTNER_ID, partner);
    }
    message
        .with_header(headers::DLQ_REASON, rejection.reason.code())
        .with_header(headers::DLQ_MESSAGE, rejection.message.as_str())
        .with_header(headers::DLQ_SOURCE_TOPIC, record.topic.as_str())
        .with_header(headers::DLQ_SOURCE_PARTITION, record.partition.to_string())
        .with_header(headers::DLQ_SOURCE_OFFSET, record.offset.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use skills_domain::pseudonym::SecretKey;
    use skills_proto::v1::NormalizedEvent;

    fn source(offset: i64) -> RawSource {
        RawSource { topic: "raw".into(), partition: 2, offset }
    }

    fn record(offset: i64, payload: &str) -> Record {
        Record { topic: "raw".into(), partition: 2, offset, message: Message::new(payload.as_bytes().to_vec()) }
    }

    fn demand(id: u32) -> String {
        serde_json::json!({
            "event_id": format!("00000000-0000-4000-8000-{id:012}"), "occurred_at": "2025-01-01T00:00:00Z",
            "partner_id": "p", "schema_version": 1,
            "labour_demand": {"source": "s", "place": {"department": "35"}, "skill": "3.4", "openings": 2}
        })
        .to_string()
    }

    #[test]
    fn splits_a_batch_into_normalized_dead_letters_and_duplicates() {
        let policy = IngestPolicy::default();
        let pseudonymiser = Pseudonymiser::single(SecretKey::from_bytes(vec![1; 32]).unwrap(), 1);
        let pipeline = Pipeline { policy: &policy, pseudonymiser: &pseudonymiser };
        let mut recent = DedupWindow::new(10);
        let earlier = RawSource { topic: "raw".into(), partition: 0, offset: 7 };
        recent.remember("00000000-0000-4000-8000-000000000009".into(), earlier);
        recent.remember("00000000-0000-4000-8000-000000000008".into(), RawSource { offset: 4, ..source(0) });
        let records = [
            record(0, &demand(1)),
            record(1, "garbage"),
            record(2, &demand(1)),
            record(3, &demand(9)),
            record(4, &demand(8)),
        ];
        let output = pipeline.process(&records, &recent, "2026-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(output.produced_ids.len(), 2, "the first event, and the replayed record 4");
        assert_eq!(output.produced_ids[1].1, source(4));
        assert_eq!(output.produced_by_partner.get("p"), Some(&2));
        assert_eq!(output.duplicates, ["p", "p"], "one within the batch, one remembered");
        let notices: Vec<&Message> = output.normalized.iter().filter(|m| m.payload.is_empty()).collect();
        assert_eq!(notices.len(), 2);
        assert_eq!(notices[0].header(headers::DUPLICATE_OF), Some(&b"raw:2:0"[..]), "names the first record");
        assert_eq!(notices[0].header(headers::SOURCE_OFFSET), Some(&b"2"[..]));
        assert_eq!(notices[1].header(headers::DUPLICATE_OF), Some(&b"raw:0:7"[..]));
        assert_eq!(notices[1].header(headers::EVENT_ID), Some(&b"00000000-0000-4000-8000-000000000009"[..]));
        assert_eq!(notices[1].header(headers::PARTNER_ID), Some(&b"p"[..]));
        assert_eq!(output.normalized[0].key.as_deref(), Some(&b"53"[..]), "keyed by region");
        assert_eq!(output.normalized[0].header(headers::SOURCE_OFFSET), Some(&b"0"[..]), "names its raw source");
        let event = NormalizedEvent::decode(output.normalized[0].payload.as_slice()).unwrap();
        assert_eq!(event.region, "53");
        let letter = &output.dead_letters[0];
        assert_eq!(letter.payload, b"garbage");
        assert_eq!(letter.header(headers::DLQ_REASON), Some(&b"undecodable"[..]));
        assert_eq!(letter.header(headers::DLQ_SOURCE_OFFSET), Some(&b"1"[..]));
        assert_eq!(letter.header(headers::DLQ_SOURCE_PARTITION), Some(&b"2"[..]));
        assert_eq!(letter.header(headers::PARTNER_ID), None, "garbage names no partner");
        assert_eq!(output.rejections, [(String::new(), "undecodable")]);
    }

    #[test]
    fn a_dead_letter_names_its_partner_from_the_header_or_the_event() {
        let policy = IngestPolicy::default();
        let pseudonymiser = Pseudonymiser::single(SecretKey::from_bytes(vec![1; 32]).unwrap(), 1);
        let pipeline = Pipeline { policy: &policy, pseudonymiser: &pseudonymiser };
        let unknown_skill = demand(1).replace("\"3.4\"", "\"9.9\"");
        let mut from_gateway = record(1, &unknown_skill);
        from_gateway.message = from_gateway.message.with_header(headers::PARTNER_ID, "gw-partner");
        let records = [record(0, &unknown_skill), from_gateway];
        let output = pipeline.process(&records, &DedupWindow::new(10), "2026-01-01T00:00:00Z".parse().unwrap());
        let partners: Vec<&str> = output.rejections.iter().map(|(partner, _)| partner.as_str()).collect();
        assert_eq!(partners, ["p", "gw-partner"], "the authenticated header wins over the event's claim");
        assert_eq!(output.dead_letters[0].header(headers::PARTNER_ID), Some(&b"p"[..]));
    }
}

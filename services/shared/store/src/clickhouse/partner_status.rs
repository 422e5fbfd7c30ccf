//! One partner's status read from ClickHouse. Every count is of distinct
//! keys, so rows a replay wrote twice (not yet merged) count once.

use super::store_error;
use crate::{DEAD_LETTER_EXAMPLES, DeadLetterExample, PartnerDeadLetters, PartnerStatus, StoreError};
use chrono::{DateTime, Utc};
use clickhouse::Client;

pub(super) async fn read(client: &Client, db: &str, partner: &str) -> Result<PartnerStatus, StoreError> {
    let (counted, last_received, last_occurred): (u64, u32, u32) = client
        .query(&format!(
            "SELECT uniqExact(event_id), toUInt32(max(ingested_at)), toUInt32(max(occurred_at))
             FROM {db}.applied_events WHERE partner_id = ?"
        ))
        .bind(partner)
        .fetch_one()
        .await
        .map_err(store_error)?;
    let duplicates: u64 = client
        .query(&format!(
            "SELECT uniqExact(source_topic, source_partition, source_offset) FROM {db}.duplicate_events WHERE partner_id = ?"
        ))
        .bind(partner)
        .fetch_one()
        .await
        .map_err(store_error)?;
    let reasons: Vec<(String, u64)> = client
        .query(&format!(
            "SELECT reason, uniqExact(dead_letter_id) FROM {db}.dead_letters
             WHERE partner_id = ? AND partner_id != '' GROUP BY reason ORDER BY reason"
        ))
        .bind(partner)
        .fetch_all()
        .await
        .map_err(store_error)?;
    let examples: Vec<(String, String, i32, i64, String, u32)> = client
        .query(&format!(
            "SELECT letter_reason, letter_topic, letter_partition, letter_offset, letter_message, toUInt32(letter_at)
             FROM (
                 SELECT dead_letter_id, any(reason) AS letter_reason, any(source_topic) AS letter_topic,
                     any(source_partition) AS letter_partition, any(source_offset) AS letter_offset,
                     any(message) AS letter_message, min(recorded_at) AS letter_at
                 FROM {db}.dead_letters WHERE partner_id = ? AND partner_id != '' GROUP BY dead_letter_id
             )
             ORDER BY letter_reason, letter_at DESC, letter_offset DESC LIMIT {DEAD_LETTER_EXAMPLES} BY letter_reason"
        ))
        .bind(partner)
        .fetch_all()
        .await
        .map_err(store_error)?;
    let dead_letters = reasons
        .into_iter()
        .map(|(reason, count)| {
            let examples = examples
                .iter()
                .filter(|example| example.0 == reason)
                .map(|(_, topic, partition, offset, message, recorded_at)| DeadLetterExample {
                    source_topic: topic.clone(),
                    source_partition: *partition,
                    source_offset: *offset,
                    message: message.clone(),
                    recorded_at: time(*recorded_at),
                })
                .collect();
            PartnerDeadLetters { reason, count, examples }
        })
        .collect();
    Ok(PartnerStatus {
        counted,
        duplicates,
        dead_letters,
        last_received_at: (counted > 0).then(|| time(last_received)).flatten(),
        last_occurred_at: (counted > 0).then(|| time(last_occurred)).flatten(),
    })
}

fn time(seconds: u32) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::from(seconds), 0)
}

//! One partner's status read from the embedded store: its counted events,
//! the duplicates recorded for it, and its dead letters by reason.

use crate::{DEAD_LETTER_EXAMPLES, DeadLetterExample, PartnerDeadLetters, PartnerStatus, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use skills_domain::facts::RawSource;

pub(super) fn read(c: &Connection, partner: &str) -> Result<PartnerStatus, StoreError> {
    let (counted, last_received, last_occurred): (u64, Option<i64>, Option<i64>) = c
        .prepare_cached(
            "SELECT COUNT(*), MAX(ingested_at), MAX(occurred_at) FROM applied_events WHERE partner_id = ?1",
        )?
        .query_row(params![partner], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    let duplicates: u64 = c
        .prepare_cached("SELECT COUNT(*) FROM duplicate_events WHERE partner_id = ?1")?
        .query_row(params![partner], |row| row.get(0))?;
    let reasons: Vec<(String, u64)> = c
        .prepare_cached(
            "SELECT reason, COUNT(*) FROM dead_letters WHERE partner_id = ?1 AND partner_id != '' GROUP BY reason ORDER BY reason",
        )?
        .query_map(params![partner], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut examples = c.prepare_cached(
        "SELECT source_topic, source_partition, source_offset, message, recorded_at FROM dead_letters
         WHERE partner_id = ?1 AND reason = ?2 ORDER BY recorded_at DESC, source_offset DESC LIMIT ?3",
    )?;
    let mut dead_letters = Vec::with_capacity(reasons.len());
    for (reason, count) in reasons {
        let examples = examples
            .query_map(params![partner, reason, DEAD_LETTER_EXAMPLES as i64], |row| {
                Ok(DeadLetterExample {
                    source_topic: row.get(0)?,
                    source_partition: row.get(1)?,
                    source_offset: row.get(2)?,
                    message: row.get(3)?,
                    recorded_at: time(row.get(4)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        dead_letters.push(PartnerDeadLetters { reason, count, examples });
    }
    Ok(PartnerStatus {
        counted,
        duplicates,
        dead_letters,
        last_received_at: last_received.and_then(time),
        last_occurred_at: last_occurred.and_then(time),
    })
}

/// The raw record a counted event was read from ('' and -1 for events
/// counted before raw records were kept), or None if it is not counted.
pub(super) fn counted_source(
    transaction: &rusqlite::Transaction<'_>,
    event_id: &str,
) -> Result<Option<RawSource>, StoreError> {
    Ok(transaction
        .prepare_cached("SELECT source_topic, source_partition, source_offset FROM applied_events WHERE event_id = ?1")?
        .query_row(params![event_id], |row| {
            Ok(RawSource { topic: row.get(0)?, partition: row.get(1)?, offset: row.get(2)? })
        })
        .optional()?)
}

fn time(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

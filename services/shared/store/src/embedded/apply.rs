//! One batch, one transaction: new events with their facts, the read
//! model's changes, dead letters, checkpoints, and the data version bump
//! that invalidates caches.

use crate::{ApplyOutcome, Batch, StoreError};
use rusqlite::{Connection, params};

pub(super) fn apply_batch(connection: &mut Connection, batch: &Batch) -> Result<ApplyOutcome, StoreError> {
    let transaction = connection.transaction()?;
    let mut outcome = ApplyOutcome::default();
    {
        let mut insert_event = transaction.prepare_cached(
            "INSERT OR IGNORE INTO applied_events (event_id, kind, partner_id, region, occurred_at, ingested_at,
                 source_topic, source_partition, source_offset)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut insert_enrolment = transaction.prepare_cached(
            "INSERT OR IGNORE INTO enrolment_facts (event_id, skill, learner, course_id, region, occurred_at, status,
                 planned_end, certified_level, at_target, woman, priority, rural, under_26, jobseeker, profiled)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
        let mut insert_assessment = transaction.prepare_cached(
            "INSERT OR IGNORE INTO assessment_facts (event_id, learner, skill, region, occurred_at, framework, level, phase)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut insert_demand = transaction.prepare_cached(
            "INSERT OR IGNORE INTO demand_facts (event_id, skill, region, occurred_at, openings, hard_to_fill)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut insert_duplicate = transaction.prepare_cached(
            "INSERT OR IGNORE INTO duplicate_events (source_topic, source_partition, source_offset, event_id,
                 partner_id, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, strftime('%s', 'now'))",
        )?;
        let mut new_events = Vec::new();
        for event in &batch.events {
            let source = event.source.as_ref();
            let inserted = insert_event.execute(params![
                event.event_id,
                event.kind,
                event.partner_id,
                event.region,
                event.occurred_at,
                event.ingested_at,
                source.map_or("", |s| s.topic.as_str()),
                source.map_or(-1, |s| s.partition),
                source.map_or(-1, |s| s.offset)
            ])?;
            if inserted == 0 {
                outcome.duplicate_events += 1;
                // From another raw record, a partner's duplicate; from the
                // same one, a replay (nothing to record).
                if let Some(source) = source {
                    let first = super::partner_status::counted_source(&transaction, &event.event_id)?;
                    if first.as_ref() != Some(source) {
                        insert_duplicate.execute(params![
                            source.topic,
                            source.partition,
                            source.offset,
                            event.event_id,
                            event.partner_id
                        ])?;
                    }
                }
                continue;
            }
            outcome.new_events += 1;
            new_events.push(event);
            for fact in &event.facts.enrolments {
                let groups = fact.profile.unwrap_or_default();
                insert_enrolment.execute(params![
                    fact.event_id,
                    fact.skill,
                    fact.learner,
                    fact.course_id,
                    fact.region,
                    fact.occurred_at,
                    fact.status,
                    fact.planned_end,
                    fact.certified_level,
                    fact.at_target,
                    groups.woman,
                    groups.priority_neighbourhood,
                    groups.rural,
                    groups.under_26,
                    groups.jobseeker,
                    fact.profile.is_some()
                ])?;
            }
            for fact in &event.facts.assessments {
                insert_assessment.execute(params![
                    fact.event_id,
                    fact.learner,
                    fact.skill,
                    fact.region,
                    fact.occurred_at,
                    fact.framework,
                    fact.level,
                    fact.phase
                ])?;
            }
            for fact in &event.facts.demands {
                insert_demand.execute(params![
                    fact.event_id,
                    fact.skill,
                    fact.region,
                    fact.occurred_at,
                    fact.openings,
                    fact.hard_to_fill
                ])?;
            }
        }
        super::read_model::apply_new_events(&transaction, &new_events)?;
        // Ingestion's notices, less any naming the record its event was
        // counted from (ingestion may have seen the copies in another order
        // than the store: a replay after a crash).
        for duplicate in &batch.duplicates {
            let counted = super::partner_status::counted_source(&transaction, &duplicate.event_id)?;
            if counted.as_ref() == Some(&duplicate.source) {
                continue;
            }
            insert_duplicate.execute(params![
                duplicate.source.topic,
                duplicate.source.partition,
                duplicate.source.offset,
                duplicate.event_id,
                duplicate.partner_id
            ])?;
        }
        let mut insert_dead_letter = transaction.prepare_cached(
            "INSERT OR IGNORE INTO dead_letters (dead_letter_id, source_topic, source_partition, source_offset,
                 reason, message, recorded_at, payload, partner_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, strftime('%s', 'now'), ?7, ?8)",
        )?;
        for letter in &batch.dead_letters {
            outcome.new_dead_letters += insert_dead_letter.execute(params![
                letter.id,
                letter.source_topic,
                letter.source_partition,
                letter.source_offset,
                letter.reason,
                letter.message,
                letter.payload,
                letter.partner_id
            ])? as u64;
        }
        let mut upsert_checkpoint = transaction.prepare_cached(
            "INSERT INTO checkpoints (consumer, topic, partition, next_offset) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (consumer, topic, partition) DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)",
        )?;
        for checkpoint in &batch.checkpoints {
            upsert_checkpoint.execute(params![
                checkpoint.consumer,
                checkpoint.topic,
                checkpoint.partition,
                checkpoint.next_offset
            ])?;
        }
        if outcome.new_events > 0 || outcome.new_dead_letters > 0 {
            bump_data_version(&transaction)?;
            let mut add = transaction.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
            )?;
            add.execute(params!["status_events", outcome.new_events as i64])?;
            add.execute(params!["status_dead_letters", outcome.new_dead_letters as i64])?;
            let mut raise = transaction.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
            )?;
            if let Some(newest) = new_events.iter().map(|e| e.ingested_at).max() {
                raise.execute(params!["status_newest_ingested_at", newest])?;
            }
            if let Some(newest_event) = new_events.iter().map(|e| e.occurred_at).max() {
                raise.execute(params!["status_newest_occurred_at", newest_event])?;
            }
            let mut lower = transaction.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = MIN(value, excluded.value)",
            )?;
            if let Some(oldest_event) = new_events.iter().map(|e| e.occurred_at).min() {
                lower.execute(params!["status_oldest_occurred_at", oldest_event])?;
            }
        }
    }
    transaction.commit()?;
    Ok(outcome)
}

/// Counted data changed: caches keyed on the version drop their copies.
pub(super) fn bump_data_version(transaction: &rusqlite::Transaction<'_>) -> rusqlite::Result<usize> {
    transaction.execute(
        "INSERT INTO meta (key, value) VALUES ('data_version', 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1",
        [],
    )
}

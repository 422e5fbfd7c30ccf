//! The embedded store's read model (tables `cell_tallies`, `cell_finishing`,
//! and each partner's part of them in `partner_tallies`, `partner_finishing`):
//! changed in the transaction of the batch that changes it, read in
//! O(cells served). The arithmetic is `skills_domain::read_model`'s.

use crate::model::{self, ModelCell};
use crate::{CounterWindow, PartnerCell, StoreError};
use chrono::{DateTime, Datelike};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use skills_domain::Period;
use skills_domain::facts::{AssessmentFact, EnrolmentFact, EventFacts, Groups};
use skills_domain::indicators::CellCounters;
use skills_domain::read_model::{
    CellKey, CellTally, TALLY_COLUMNS, demand_tallies, learner_tallies, profile_reach, touched_from,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The last year whose periods hold stocks (meta key).
const LAST_YEAR: &str = "read_model_last_year";
/// Meta keys of change tracking (migration 5): on/off, and the last seq.
pub(super) const TRACKING: &str = "model_tracking";
pub(super) const SEQ: &str = "model_seq";

/// Cell changes summed over a batch before they are written: the cells,
/// and the part of them of the partner whose learners or postings changed
/// (pseudonyms are partner-scoped: a learner has one partner).
#[derive(Default)]
pub(super) struct Changes {
    cells: HashMap<CellKey, CellTally>,
    partners: HashMap<(String, CellKey), CellTally>,
}

impl Changes {
    fn add(&mut self, partner: &str, tallies: impl IntoIterator<Item = (CellKey, CellTally)>, sign: i64) {
        for (key, tally) in tallies {
            self.partners.entry((partner.to_string(), key.clone())).or_default().add(&tally, sign);
            self.cells.entry(key).or_default().add(&tally, sign);
        }
    }
}

/// Updates the model for the newly stored events of a batch (their facts
/// are already in the transaction).
pub(super) fn apply_new_events(transaction: &Transaction<'_>, events: &[&EventFacts]) -> Result<(), StoreError> {
    let Some(newest_year) = events.iter().filter_map(|e| year_of(e.occurred_at)).max() else { return Ok(()) };
    let last_year = extend_to(transaction, newest_year)?;
    let mut new_events_of: HashMap<&str, (i64, HashSet<&str>, &str)> = HashMap::new();
    let mut changes = Changes::default();
    for event in events {
        let learners =
            event.facts.enrolments.iter().map(|f| &f.learner).chain(event.facts.assessments.iter().map(|f| &f.learner));
        let reach = profile_reach(event.occurred_at, event.facts.enrolments.iter().any(|f| f.profile.is_some()));
        for learner in learners {
            let entry = new_events_of.entry(learner).or_insert((reach, HashSet::new(), &event.partner_id));
            entry.0 = entry.0.min(reach);
            entry.1.insert(&event.event_id);
        }
        for fact in &event.facts.demands {
            changes.add(&event.partner_id, demand_tallies(fact), 1);
        }
    }
    for (learner, (earliest, new_ids, partner)) in new_events_of {
        if is_erased(transaction, learner)? {
            continue;
        }
        let (enrolments, assessments) = learner_facts(transaction, learner)?;
        let periods = touched_from(earliest, last_year);
        let old_enrolments: Vec<_> =
            enrolments.iter().filter(|f| !new_ids.contains(f.event_id.as_str())).cloned().collect();
        let old_assessments: Vec<_> =
            assessments.iter().filter(|f| !new_ids.contains(f.event_id.as_str())).cloned().collect();
        changes.add(partner, learner_tallies(&enrolments, &assessments, &periods), 1);
        changes.add(partner, learner_tallies(&old_enrolments, &old_assessments, &periods), -1);
    }
    write(transaction, changes)
}

/// Takes a learner's whole contribution out (erasure, before the facts go).
pub(super) fn remove_learner(transaction: &Transaction<'_>, learner: &str) -> Result<(), StoreError> {
    let Some(last_year) = last_year(transaction)? else { return Ok(()) };
    let (enrolments, assessments) = learner_facts(transaction, learner)?;
    let earliest = enrolments.iter().map(|f| f.occurred_at).chain(assessments.iter().map(|f| f.occurred_at)).min();
    let Some(earliest) = earliest else { return Ok(()) };
    let any_event = enrolments.iter().map(|f| &f.event_id).chain(assessments.iter().map(|f| &f.event_id)).next();
    let partner = match any_event {
        Some(event_id) => partner_of_event(transaction, event_id)?,
        None => String::new(),
    };
    let mut changes = Changes::default();
    changes.add(&partner, learner_tallies(&enrolments, &assessments, &touched_from(earliest, last_year)), -1);
    write(transaction, changes)
}

/// The partner that sent an event ("" for an event the store has no
/// record of, which a consistent store never has).
fn partner_of_event(transaction: &Transaction<'_>, event_id: &str) -> Result<String, StoreError> {
    let mut statement = transaction.prepare_cached("SELECT partner_id FROM applied_events WHERE event_id = ?1")?;
    Ok(statement.query_row([event_id], |row| row.get(0)).optional()?.unwrap_or_default())
}

/// Builds the model again from the facts (migration, or repair).
pub(super) fn rebuild(transaction: &Transaction<'_>) -> Result<(), StoreError> {
    transaction.execute_batch(
        "DELETE FROM cell_tallies; DELETE FROM cell_finishing; DELETE FROM partner_tallies; DELETE FROM partner_finishing;",
    )?;
    transaction.execute("DELETE FROM meta WHERE key = ?1", [LAST_YEAR])?;
    let newest: Option<i64> = transaction.query_row(
        "SELECT MAX(t) FROM (SELECT MAX(occurred_at) AS t FROM enrolment_facts
             UNION ALL SELECT MAX(occurred_at) FROM assessment_facts
             UNION ALL SELECT MAX(occurred_at) FROM demand_facts)",
        [],
        |row| row.get(0),
    )?;
    let Some(newest_year) = newest.and_then(year_of) else { return Ok(()) };
    let last_year = extend_to(transaction, newest_year)?;
    // Each learner with the partner of one of its events (all are the same).
    let learners: Vec<(String, String)> = {
        let mut statement = transaction.prepare(
            "SELECT f.learner, COALESCE(MIN(a.partner_id), '')
             FROM (SELECT learner, MIN(event_id) AS event_id FROM enrolment_facts GROUP BY learner
                   UNION ALL SELECT learner, MIN(event_id) FROM assessment_facts GROUP BY learner) f
             LEFT JOIN applied_events a ON a.event_id = f.event_id
             WHERE f.learner NOT IN (SELECT learner FROM erased_learners)
             GROUP BY f.learner",
        )?;
        statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?
    };
    let mut changes = Changes::default();
    for (index, (learner, partner)) in learners.iter().enumerate() {
        let (enrolments, assessments) = learner_facts(transaction, learner)?;
        let earliest = enrolments.iter().map(|f| f.occurred_at).chain(assessments.iter().map(|f| f.occurred_at)).min();
        if let Some(earliest) = earliest {
            changes.add(partner, learner_tallies(&enrolments, &assessments, &touched_from(earliest, last_year)), 1);
        }
        if index % 10_000 == 9_999 {
            write(transaction, std::mem::take(&mut changes))?;
        }
    }
    let mut statement = transaction.prepare(
        "SELECT d.event_id, d.skill, d.region, d.occurred_at, d.openings, d.hard_to_fill, COALESCE(a.partner_id, '')
         FROM demand_facts d LEFT JOIN applied_events a ON a.event_id = d.event_id",
    )?;
    let demands = statement.query_map([], |row| {
        let fact = skills_domain::facts::DemandFact {
            event_id: row.get(0)?,
            skill: row.get(1)?,
            region: row.get(2)?,
            occurred_at: row.get(3)?,
            openings: row.get(4)?,
            hard_to_fill: row.get(5)?,
        };
        Ok((fact, row.get::<_, String>(6)?))
    })?;
    for demand in demands {
        let (fact, partner) = demand?;
        changes.add(&partner, demand_tallies(&fact), 1);
    }
    write(transaction, changes)?;
    mark_all(transaction)
}

/// With tracking on: every cell, present or gone, changed now (after a
/// rebuild, or when tracking starts on a store that has data).
pub(super) fn mark_all(transaction: &Transaction<'_>) -> Result<(), StoreError> {
    let Some(seq) = next_seq(transaction)? else { return Ok(()) };
    transaction.execute("UPDATE model_changes SET seq = ?1", [seq])?;
    transaction.execute(
        "INSERT INTO model_changes (period, region, skill, seq)
         SELECT period, region, skill, ?1 FROM cell_tallies
         UNION SELECT period, region, skill, ?1 FROM cell_finishing WHERE true
         ON CONFLICT (period, region, skill) DO NOTHING",
        [seq],
    )?;
    Ok(())
}

/// The seq of a change being written, when tracking is on.
fn next_seq(transaction: &Transaction<'_>) -> Result<Option<i64>, StoreError> {
    let value = |key: &str| -> Result<Option<i64>, StoreError> {
        let mut statement = transaction.prepare_cached("SELECT value FROM meta WHERE key = ?1")?;
        Ok(statement.query_row([key], |row| row.get(0)).optional()?)
    };
    if value(TRACKING)? != Some(1) {
        return Ok(None);
    }
    let seq = value(SEQ)?.unwrap_or(0) + 1;
    transaction.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![SEQ, seq],
    )?;
    Ok(Some(seq))
}

/// The counters of a calendar-period window, from the model; None when the
/// window is not one the model answers (the caller counts from the facts).
pub(super) fn counters(
    connection: &Connection,
    window: &CounterWindow,
) -> Result<Option<Vec<CellCounters>>, StoreError> {
    let Some((period, horizon_month)) = model::model_window(window) else { return Ok(None) };
    let Some(last_year) = last_year(connection)? else { return Ok(Some(Vec::new())) };
    let (source, stock_only) = model::model_source(period, last_year);
    let skill_test = if window.by_skill { "skill <> '*'" } else { "skill = '*'" };
    let filters =
        format!("period = ?1 AND {skill_test} AND (?2 IS NULL OR region = ?2) AND (?3 IS NULL OR skill = ?3)");
    let mut finishing: HashMap<(String, String), i64> = HashMap::new();
    {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT region, skill, SUM(learners) FROM cell_finishing
             WHERE {filters} AND planned_end_month < ?4 GROUP BY region, skill"
        ))?;
        let rows = statement
            .query_map(params![source.to_string(), window.region, window.skill, horizon_month], |row| {
                Ok(((row.get(0)?, row.get(1)?), row.get(2)?))
            })?;
        for row in rows {
            let (key, learners) = row?;
            finishing.insert(key, learners);
        }
    }
    let mut statement = connection.prepare_cached(&format!(
        "SELECT region, skill, {} FROM cell_tallies WHERE {filters} ORDER BY region, skill",
        TALLY_COLUMNS.join(", ")
    ))?;
    let rows = statement.query_map(params![source.to_string(), window.region, window.skill], |row| {
        let mut values = [0i64; TALLY_COLUMNS.len()];
        for (index, value) in values.iter_mut().enumerate() {
            *value = row.get(index + 2)?;
        }
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, CellTally::from_scalars(values)))
    })?;
    let mut cells = Vec::new();
    for row in rows {
        let (region, skill, mut tally) = row?;
        // The finishing histogram was summed in SQL up to the horizon.
        if let Some(learners) = finishing.get(&(region.clone(), skill.clone())).filter(|l| **l != 0) {
            tally.finishing.insert(horizon_month - 1, *learners);
        }
        cells.extend(model::served(&region, &skill, tally, stock_only, horizon_month));
    }
    Ok(Some(cells))
}

/// Cells changed after seq `after` (tracking on), whole: sums and
/// finishing histogram; a cell that is gone reads as zeros.
pub(super) fn changes_since(connection: &Connection, after: i64) -> Result<Vec<ModelCell>, StoreError> {
    let columns: Vec<String> = TALLY_COLUMNS.iter().map(|c| format!("COALESCE(t.{c}, 0)")).collect();
    let mut statement = connection.prepare_cached(&format!(
        "SELECT c.period, c.region, c.skill, {} FROM model_changes c
         LEFT JOIN cell_tallies t ON t.period = c.period AND t.region = c.region AND t.skill = c.skill
         WHERE c.seq > ?1 ORDER BY c.period, c.region, c.skill",
        columns.join(", ")
    ))?;
    let rows = statement.query_map([after], |row| {
        let mut values = [0i64; TALLY_COLUMNS.len()];
        for (index, value) in values.iter_mut().enumerate() {
            *value = row.get(index + 3)?;
        }
        Ok(ModelCell {
            period: row.get(0)?,
            region: row.get(1)?,
            skill: row.get(2)?,
            tally: CellTally::from_scalars(values),
            partners: Vec::new(),
        })
    })?;
    let mut cells: Vec<ModelCell> = rows.collect::<Result<_, _>>()?;
    let mut partners = changed_partner_parts(connection, after)?;
    let mut statement = connection.prepare_cached(
        "SELECT c.period, c.region, c.skill, f.planned_end_month, f.learners FROM model_changes c
         JOIN cell_finishing f ON f.period = c.period AND f.region = c.region AND f.skill = c.skill
         WHERE c.seq > ?1 AND f.learners <> 0",
    )?;
    let mut finishing: HashMap<(String, String, String), BTreeMap<i32, i64>> = HashMap::new();
    let rows = statement.query_map([after], |row| {
        Ok(((row.get(0)?, row.get(1)?, row.get(2)?), row.get::<_, i32>(3)?, row.get::<_, i64>(4)?))
    })?;
    for row in rows {
        let (key, month, learners) = row?;
        finishing.entry(key).or_default().insert(month, learners);
    }
    for cell in &mut cells {
        if let Some(histogram) = finishing.remove(&(cell.period.clone(), cell.region.clone(), cell.skill.clone())) {
            cell.tally.finishing = histogram;
        }
        if let Some(parts) = partners.remove(&(cell.period.clone(), cell.region.clone(), cell.skill.clone())) {
            cell.partners = parts.into_iter().filter(|(_, tally)| !tally.is_empty()).collect();
        }
    }
    Ok(cells)
}

/// Parts of cells by (period, region, skill), then partner.
type PartsByCell = HashMap<(String, String, String), BTreeMap<String, CellTally>>;

/// Each partner's part of the cells changed after seq `after`, with its
/// finishing histogram, by cell (parts of zero included; the caller drops them).
fn changed_partner_parts(connection: &Connection, after: i64) -> Result<PartsByCell, StoreError> {
    let columns: Vec<String> = TALLY_COLUMNS.iter().map(|c| format!("p.{c}")).collect();
    let mut statement = connection.prepare_cached(&format!(
        "SELECT c.period, c.region, c.skill, p.partner, {} FROM model_changes c
         JOIN partner_tallies p INDEXED BY partner_tallies_by_cell ON p.period = c.period AND p.region = c.region AND p.skill = c.skill
         WHERE c.seq > ?1",
        columns.join(", ")
    ))?;
    let mut parts = PartsByCell::new();
    let rows = statement.query_map([after], |row| {
        let mut values = [0i64; TALLY_COLUMNS.len()];
        for (index, value) in values.iter_mut().enumerate() {
            *value = row.get(index + 4)?;
        }
        Ok(((row.get(0)?, row.get(1)?, row.get(2)?), row.get::<_, String>(3)?, CellTally::from_scalars(values)))
    })?;
    for row in rows {
        let (key, partner, tally) = row?;
        parts.entry(key).or_default().insert(partner, tally);
    }
    let mut statement = connection.prepare_cached(
        "SELECT c.period, c.region, c.skill, f.partner, f.planned_end_month, f.learners FROM model_changes c
         JOIN partner_finishing f INDEXED BY partner_finishing_by_cell ON f.period = c.period AND f.region = c.region AND f.skill = c.skill
         WHERE c.seq > ?1 AND f.learners <> 0",
    )?;
    let rows = statement.query_map([after], |row| {
        Ok((
            (row.get(0)?, row.get(1)?, row.get(2)?),
            row.get::<_, String>(3)?,
            row.get::<_, i32>(4)?,
            row.get::<_, i64>(5)?,
        ))
    })?;
    for row in rows {
        let (key, partner, month, learners) = row?;
        parts.entry(key).or_default().entry(partner).or_default().finishing.insert(month, learners);
    }
    Ok(parts)
}

fn year_of(seconds: i64) -> Option<i32> {
    DateTime::from_timestamp(seconds, 0).map(|t| t.year())
}

pub(super) fn last_year(connection: &Connection) -> Result<Option<i32>, StoreError> {
    Ok(connection.query_row("SELECT value FROM meta WHERE key = ?1", [LAST_YEAR], |row| row.get(0)).optional()?)
}

/// Makes the model hold stocks through `year`: each new year's periods
/// start from the previous December's stock. Returns the last year held.
fn extend_to(transaction: &Transaction<'_>, year: i32) -> Result<i32, StoreError> {
    let Some(last) = last_year(transaction)? else {
        transaction.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![LAST_YEAR, year])?;
        return Ok(year);
    };
    for new_year in (last + 1)..=year {
        let december = Period::Month(new_year - 1, 12).to_string();
        let periods = Period::all_of_year(new_year);
        let zeros = vec!["0"; TALLY_COLUMNS.len() - 2].join(", ");
        for period in periods {
            transaction.execute(
                &format!(
                    "INSERT INTO cell_tallies (period, region, skill, learners, active, {}, {})
                     SELECT ?1, region, skill, active, active, {zeros} FROM cell_tallies WHERE period = ?2 AND active <> 0",
                    TALLY_COLUMNS[1],
                    TALLY_COLUMNS[3..].join(", ")
                ),
                params![period.to_string(), december],
            )?;
            transaction.execute(
                "INSERT INTO cell_finishing (period, region, skill, planned_end_month, learners)
                 SELECT ?1, region, skill, planned_end_month, learners FROM cell_finishing WHERE period = ?2",
                params![period.to_string(), december],
            )?;
            transaction.execute(
                &format!(
                    "INSERT INTO partner_tallies (partner, period, region, skill, learners, active, {}, {})
                     SELECT partner, ?1, region, skill, active, active, {zeros} FROM partner_tallies
                     WHERE period = ?2 AND active <> 0",
                    TALLY_COLUMNS[1],
                    TALLY_COLUMNS[3..].join(", ")
                ),
                params![period.to_string(), december],
            )?;
            transaction.execute(
                "INSERT INTO partner_finishing (partner, period, region, skill, planned_end_month, learners)
                 SELECT partner, ?1, region, skill, planned_end_month, learners FROM partner_finishing WHERE period = ?2",
                params![period.to_string(), december],
            )?;
        }
    }
    if year > last
        && let Some(seq) = next_seq(transaction)?
    {
        for new_year in (last + 1)..=year {
            for period in Period::all_of_year(new_year) {
                transaction.execute(
                    "INSERT INTO model_changes (period, region, skill, seq)
                     SELECT period, region, skill, ?2 FROM cell_tallies WHERE period = ?1
                     UNION SELECT period, region, skill, ?2 FROM cell_finishing WHERE period = ?1
                     ON CONFLICT (period, region, skill) DO UPDATE SET seq = excluded.seq",
                    params![period.to_string(), seq],
                )?;
            }
        }
    }
    let last = last.max(year);
    transaction.execute("UPDATE meta SET value = ?2 WHERE key = ?1", params![LAST_YEAR, last])?;
    Ok(last)
}

fn is_erased(transaction: &Transaction<'_>, learner: &str) -> Result<bool, StoreError> {
    let mut statement = transaction.prepare_cached("SELECT 1 FROM erased_learners WHERE learner = ?1")?;
    Ok(statement.exists([learner])?)
}

fn learner_facts(
    transaction: &Transaction<'_>,
    learner: &str,
) -> Result<(Vec<EnrolmentFact>, Vec<AssessmentFact>), StoreError> {
    let mut statement = transaction.prepare_cached(
        "SELECT event_id, skill, course_id, region, occurred_at, status, planned_end, certified_level, at_target,
             woman, priority, rural, under_26, jobseeker, profiled
         FROM enrolment_facts WHERE learner = ?1",
    )?;
    let enrolments = statement
        .query_map([learner], |row| {
            Ok(EnrolmentFact {
                event_id: row.get(0)?,
                skill: row.get(1)?,
                learner: learner.to_string(),
                course_id: row.get(2)?,
                region: row.get(3)?,
                occurred_at: row.get(4)?,
                status: row.get(5)?,
                planned_end: row.get(6)?,
                certified_level: row.get(7)?,
                at_target: row.get(8)?,
                profile: row.get::<_, bool>(14)?.then_some(Groups {
                    woman: row.get(9)?,
                    priority_neighbourhood: row.get(10)?,
                    rural: row.get(11)?,
                    under_26: row.get(12)?,
                    jobseeker: row.get(13)?,
                }),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut statement = transaction.prepare_cached(
        "SELECT event_id, skill, region, occurred_at, framework, level, phase FROM assessment_facts WHERE learner = ?1",
    )?;
    let assessments = statement
        .query_map([learner], |row| {
            Ok(AssessmentFact {
                event_id: row.get(0)?,
                learner: learner.to_string(),
                skill: row.get(1)?,
                region: row.get(2)?,
                occurred_at: row.get(3)?,
                framework: row.get(4)?,
                level: row.get(5)?,
                phase: row.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((enrolments, assessments))
}

/// Adds the changes to the tables. A cell whose sums fall to zero stays
/// as a row of zeros, which reads skip (deleting it would cost a statement
/// per changed cell on every batch).
fn write(transaction: &Transaction<'_>, changes: Changes) -> Result<(), StoreError> {
    let columns = TALLY_COLUMNS.join(", ");
    let placeholders: Vec<String> = (4..4 + TALLY_COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = TALLY_COLUMNS.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
    let mut upsert = transaction.prepare_cached(&format!(
        "INSERT INTO cell_tallies (period, region, skill, {columns}) VALUES (?1, ?2, ?3, {})
         ON CONFLICT (period, region, skill) DO UPDATE SET {}",
        placeholders.join(", "),
        updates.join(", ")
    ))?;
    let mut upsert_finishing = transaction.prepare_cached(
        "INSERT INTO cell_finishing (period, region, skill, planned_end_month, learners) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (period, region, skill, planned_end_month) DO UPDATE SET learners = learners + excluded.learners",
    )?;
    let mut mark = transaction.prepare_cached(
        "INSERT INTO model_changes (period, region, skill, seq) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (period, region, skill) DO UPDATE SET seq = excluded.seq",
    )?;
    // A cell changes for the mirror when its parts do, even if its sums
    // do not (one partner's learner left it as another's came in).
    let mut changed: HashSet<CellKey> =
        changes.partners.iter().filter(|(_, tally)| !tally.is_empty()).map(|((_, key), _)| key.clone()).collect();
    write_partners(transaction, changes.partners)?;
    // Many differences cancel out (a stock the new event does not change).
    let sorted: BTreeMap<CellKey, CellTally> =
        changes.cells.into_iter().filter(|(_, tally)| !tally.is_empty()).collect();
    changed.extend(sorted.keys().cloned());
    let seq = match changed.is_empty() {
        true => None,
        false => next_seq(transaction)?,
    };
    if let Some(seq) = seq {
        for key in &changed {
            mark.execute(params![key.period.to_string(), key.region, key.skill, seq])?;
        }
    }
    for (key, tally) in sorted {
        let period = key.period.to_string();
        let scalars = tally.scalars();
        if scalars.iter().any(|value| *value != 0) {
            let mut values: Vec<&dyn rusqlite::ToSql> = vec![&period, &key.region, &key.skill];
            values.extend(scalars.iter().map(|v| v as &dyn rusqlite::ToSql));
            upsert.execute(values.as_slice())?;
        }
        for (month, learners) in &tally.finishing {
            upsert_finishing.execute(params![period, key.region, key.skill, month, learners])?;
        }
    }
    Ok(())
}

/// Adds each partner's part of the changes (no change tracking: the
/// mirrored model copies whole cells).
fn write_partners(
    transaction: &Transaction<'_>,
    changes: HashMap<(String, CellKey), CellTally>,
) -> Result<(), StoreError> {
    let columns = TALLY_COLUMNS.join(", ");
    let placeholders: Vec<String> = (5..5 + TALLY_COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = TALLY_COLUMNS.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
    let mut upsert = transaction.prepare_cached(&format!(
        "INSERT INTO partner_tallies (partner, period, region, skill, {columns}) VALUES (?1, ?2, ?3, ?4, {})
         ON CONFLICT (period, partner, region, skill) DO UPDATE SET {}",
        placeholders.join(", "),
        updates.join(", ")
    ))?;
    let mut upsert_finishing = transaction.prepare_cached(
        "INSERT INTO partner_finishing (partner, period, region, skill, planned_end_month, learners)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (period, partner, region, skill, planned_end_month)
         DO UPDATE SET learners = learners + excluded.learners",
    )?;
    let sorted: BTreeMap<(String, CellKey), CellTally> =
        changes.into_iter().filter(|(_, tally)| !tally.is_empty()).collect();
    for ((partner, key), tally) in sorted {
        let period = key.period.to_string();
        let scalars = tally.scalars();
        if scalars.iter().any(|value| *value != 0) {
            let mut values: Vec<&dyn rusqlite::ToSql> = vec![&partner, &period, &key.region, &key.skill];
            values.extend(scalars.iter().map(|v| v as &dyn rusqlite::ToSql));
            upsert.execute(values.as_slice())?;
        }
        for (month, learners) in &tally.finishing {
            upsert_finishing.execute(params![partner, period, key.region, key.skill, month, learners])?;
        }
    }
    Ok(())
}

/// Every partner's part of the cells of a calendar-period window (or of one
/// partner's), from the model; None when the model does not answer the
/// window. The parts of a cell sum to the cell.
pub(super) fn partner_counters(
    connection: &Connection,
    window: &CounterWindow,
    partner: Option<&str>,
) -> Result<Option<Vec<PartnerCell>>, StoreError> {
    let Some((period, horizon_month)) = model::model_window(window) else { return Ok(None) };
    let Some(last_year) = last_year(connection)? else { return Ok(Some(Vec::new())) };
    let (source, stock_only) = model::model_source(period, last_year);
    let skill_test = if window.by_skill { "skill <> '*'" } else { "skill = '*'" };
    let filters = format!(
        "period = ?1 AND {skill_test} AND (?2 IS NULL OR region = ?2) AND (?3 IS NULL OR skill = ?3)
         AND (?4 IS NULL OR partner = ?4)"
    );
    let source = source.to_string();
    let mut finishing: HashMap<(String, String, String), i64> = HashMap::new();
    {
        let mut statement = connection.prepare_cached(&format!(
            "SELECT partner, region, skill, SUM(learners) FROM partner_finishing
             WHERE {filters} AND planned_end_month < ?5 GROUP BY partner, region, skill"
        ))?;
        let rows = statement
            .query_map(params![source, window.region, window.skill, partner, horizon_month], |row| {
                Ok(((row.get(0)?, row.get(1)?, row.get(2)?), row.get(3)?))
            })?;
        for row in rows {
            let (key, learners) = row?;
            finishing.insert(key, learners);
        }
    }
    let mut statement = connection.prepare_cached(&format!(
        "SELECT partner, region, skill, {} FROM partner_tallies WHERE {filters} ORDER BY partner, region, skill",
        TALLY_COLUMNS.join(", ")
    ))?;
    let rows = statement.query_map(params![source, window.region, window.skill, partner], |row| {
        let mut values = [0i64; TALLY_COLUMNS.len()];
        for (index, value) in values.iter_mut().enumerate() {
            *value = row.get(index + 3)?;
        }
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            CellTally::from_scalars(values),
        ))
    })?;
    let mut cells = Vec::new();
    for row in rows {
        let (partner, region, skill, mut tally) = row?;
        let key = (partner, region, skill);
        if let Some(learners) = finishing.get(&key).filter(|l| **l != 0) {
            tally.finishing.insert(horizon_month - 1, *learners);
        }
        let (partner, region, skill) = key;
        if let Some(counters) = model::served(&region, &skill, tally, stock_only, horizon_month) {
            cells.push(PartnerCell { partner, counters });
        }
    }
    Ok(Some(cells))
}

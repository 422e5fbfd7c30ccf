//! The embedded store: SQLite in one file (bundled build, nothing to
//! install). Writes go through one connection in a transaction per batch;
//! facts use INSERT OR IGNORE on their event id, so replays change nothing.

mod apply;
mod counters;
mod partner_status;
mod read_model;

use crate::{
    ApplyOutcome, Batch, Checkpoint, CounterWindow, Erasure, ErasureOutcome, MetricsStore, ModelCell, ModelSummary,
    PartnerCell, StoreError, StoreStatus,
};
use async_trait::async_trait;
use chrono::DateTime;
use rusqlite::{Connection, OptionalExtension};
use skills_domain::indicators::CellCounters;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Migrations in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: [&str; 12] = [
    include_str!("../../sql/sqlite/0001_init.sql"),
    include_str!("../../sql/sqlite/0002_dead_letters_by_source.sql"),
    include_str!("../../sql/sqlite/0003_erasure.sql"),
    include_str!("../../sql/sqlite/0004_read_model.sql"),
    include_str!("../../sql/sqlite/0005_model_changes.sql"),
    include_str!("../../sql/sqlite/0006_newest_event.sql"),
    include_str!("../../sql/sqlite/0007_model_definitions.sql"),
    include_str!("../../sql/sqlite/0008_profiled.sql"),
    include_str!("../../sql/sqlite/0009_partner_tallies.sql"),
    include_str!("../../sql/sqlite/0010_partner_parts_by_cell.sql"),
    include_str!("../../sql/sqlite/0011_oldest_event.sql"),
    include_str!("../../sql/sqlite/0012_partner_status.sql"),
];

/// The migrations that need the read model built from the facts: the one
/// that creates it, and those that change its definitions.
const MODEL_REBUILDS: [usize; 4] = [4, 7, 8, 9];

/// Connections that only read (a file-backed store): the query service's
/// reads run beside each other and beside a batch being written (WAL),
/// instead of queueing behind one connection.
const READERS: usize = 3;

#[derive(Clone)]
pub struct EmbeddedStore {
    /// The one connection that writes (and reads, for an in-memory store).
    connection: Arc<tokio::sync::Mutex<Connection>>,
    readers: Option<Arc<Readers>>,
}

/// A pool of read-only connections, taken and given back whole.
struct Readers {
    free: Mutex<Vec<Connection>>,
    available: tokio::sync::Semaphore,
}

fn tune(connection: &Connection) -> Result<(), StoreError> {
    // SQLite's default page cache is 2 MiB: past a few hundred thousand
    // learners every random-key insert and learner lookup went to the
    // file. Up to 128 MiB, filled only as pages are read.
    connection.pragma_update(None, "cache_size", -131_072)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::query(error)
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store file and runs pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::unavailable(format!("cannot create {}: {e}", parent.display())))?;
        }
        let cannot_open = |e: rusqlite::Error| StoreError::unavailable(format!("cannot open {}: {e}", path.display()));
        let connection = Connection::open(path).map_err(cannot_open)?;
        let mut store = Self::with_connection(connection)?;
        let mut free = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(cannot_open)?;
            tune(&reader)?;
            free.push(reader);
        }
        store.readers =
            Some(Arc::new(Readers { free: Mutex::new(free), available: tokio::sync::Semaphore::new(READERS) }));
        Ok(store)
    }

    /// A store that lives in memory only (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(connection: Connection) -> Result<Self, StoreError> {
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        tune(&connection)?;
        let mut connection = connection;
        migrate(&mut connection)?;
        Ok(EmbeddedStore { connection: Arc::new(tokio::sync::Mutex::new(connection)), readers: None })
    }

    /// Runs `work` on the writing connection in the blocking pool. The
    /// connection is waited for here, not in the pool: callers queueing
    /// for it hold no thread.
    async fn with<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut connection = self.connection.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || work(&mut connection))
            .await
            .map_err(|e| StoreError::unavailable(format!("store task failed: {e}")))?
    }

    /// Runs read-only `work` on a reading connection (the writing one for
    /// an in-memory store).
    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let Some(readers) = self.readers.clone() else { return self.with(move |c| work(c)).await };
        let _permit = readers.available.acquire().await.map_err(|_| StoreError::unavailable("store closed"))?;
        let connection = readers.free.lock().map_err(|_| StoreError::unavailable("store lock poisoned"))?.pop();
        let connection = connection.ok_or_else(|| StoreError::unavailable("no reading connection free"))?;
        let pool = readers.clone();
        tokio::task::spawn_blocking(move || {
            let result = work(&connection);
            if let Ok(mut free) = pool.free.lock() {
                free.push(connection);
            }
            result
        })
        .await
        .map_err(|e| StoreError::unavailable(format!("store task failed: {e}")))?
    }

    /// A flag kept in the store (e.g. "the demo data set was seeded").
    pub async fn meta(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let key = key.to_string();
        self.with(move |c| {
            let mut statement = c.prepare_cached("SELECT value FROM meta WHERE key = ?1")?;
            let mut rows = statement.query([key])?;
            Ok(match rows.next()? {
                Some(row) => Some(row.get(0)?),
                None => None,
            })
        })
        .await
    }

    /// Starts recording which model cells change (for a store whose model
    /// is mirrored); a store that already holds data has every cell
    /// marked changed. The first call also names the state.
    pub async fn track_model_changes(&self) -> Result<ModelSummary, StoreError> {
        self.with(|c| {
            let transaction = c.transaction()?;
            let tracking: Option<i64> = transaction
                .query_row("SELECT value FROM meta WHERE key = ?1", [read_model::TRACKING], |row| row.get(0))
                .optional()?;
            if tracking != Some(1) {
                let state_id = loop {
                    let id = rand_state_id();
                    if id != 0 {
                        break id;
                    }
                };
                for (key, value) in [(read_model::TRACKING, 1), (STATE_ID, state_id)] {
                    transaction.execute(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        rusqlite::params![key, value],
                    )?;
                }
                read_model::mark_all(&transaction)?;
            }
            let summary = model_summary(&transaction)?;
            transaction.commit()?;
            Ok(summary)
        })
        .await
    }

    /// Where the tracked model stands, and the cells changed after seq
    /// `after`, read together.
    pub async fn model_changes_since(&self, after: i64) -> Result<(ModelSummary, Vec<ModelCell>), StoreError> {
        self.with(move |c| {
            let transaction = c.transaction()?;
            let summary = model_summary(&transaction)?;
            let cells = read_model::changes_since(&transaction, after)?;
            Ok((summary, cells))
        })
        .await
    }

    pub async fn model_summary(&self) -> Result<ModelSummary, StoreError> {
        self.with(|c| model_summary(c)).await
    }

    pub async fn set_meta(&self, key: &str, value: i64) -> Result<(), StoreError> {
        let key = key.to_string();
        self.with(move |c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rusqlite::params![key, value],
            )?;
            Ok(())
        })
        .await
    }
}

/// Meta key naming a tracked model's state.
const STATE_ID: &str = "model_state_id";

fn model_summary(connection: &Connection) -> Result<ModelSummary, StoreError> {
    let value = |key: &str| -> Result<Option<i64>, StoreError> {
        Ok(connection.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0)).optional()?)
    };
    let erased: i64 = connection.query_row("SELECT COUNT(*) FROM erased_learners", [], |row| row.get(0))?;
    Ok(ModelSummary {
        state_id: value(STATE_ID)?.unwrap_or(0),
        seq: value(read_model::SEQ)?.unwrap_or(0),
        last_year: read_model::last_year(connection)?,
        erased: erased as u64,
        events: value("status_events")?.unwrap_or(0) as u64,
    })
}

/// A state id from the clock and the process: unique enough to tell a
/// new state from the one the mirror last saw.
fn rand_state_id() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.write_u32(std::process::id());
    (hasher.finish() >> 1) as i64
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let applied: usize = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::schema(format!(
            "store file has schema version {applied}, newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    if applied == MIGRATIONS.len() {
        return Ok(());
    }
    // One transaction for every pending migration and the rebuild: the
    // model is built by the current code, over the final schema, and a
    // crash leaves the file as it was.
    let transaction = connection.transaction()?;
    for sql in &MIGRATIONS[applied..] {
        transaction.execute_batch(sql)?;
    }
    if MODEL_REBUILDS.iter().any(|version| *version > applied) {
        read_model::rebuild(&transaction)?;
    }
    transaction.pragma_update(None, "user_version", MIGRATIONS.len())?;
    transaction.commit()?;
    Ok(())
}

#[async_trait]
impl MetricsStore for EmbeddedStore {
    async fn apply(&self, batch: Batch) -> Result<ApplyOutcome, StoreError> {
        self.with(move |c| apply::apply_batch(c, &batch)).await
    }

    async fn counters(&self, window: &CounterWindow) -> Result<Vec<CellCounters>, StoreError> {
        let window = window.clone();
        self.read(move |c| match read_model::counters(c, &window)? {
            Some(cells) => Ok(cells),
            None => counters::counters(c, &window),
        })
        .await
    }

    async fn partner_counters(
        &self,
        window: &CounterWindow,
        partner: Option<&str>,
    ) -> Result<Option<Vec<PartnerCell>>, StoreError> {
        let window = window.clone();
        let partner = partner.map(str::to_string);
        self.read(move |c| read_model::partner_counters(c, &window, partner.as_deref())).await
    }

    async fn recount(&self, window: &CounterWindow) -> Result<Vec<CellCounters>, StoreError> {
        let window = window.clone();
        self.with(move |c| counters::counters(c, &window)).await
    }

    async fn rebuild_read_model(&self) -> Result<(), StoreError> {
        self.with(|c| {
            let transaction = c.transaction()?;
            read_model::rebuild(&transaction)?;
            apply::bump_data_version(&transaction)?;
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    async fn status(&self) -> Result<StoreStatus, StoreError> {
        // Kept in meta by each batch: O(1), however many events are stored.
        self.read(|c| {
            let mut statement = c.prepare_cached("SELECT value FROM meta WHERE key = ?1")?;
            let mut value = |key: &str| -> Result<Option<i64>, StoreError> {
                let mut rows = statement.query([key])?;
                Ok(match rows.next()? {
                    Some(row) => Some(row.get(0)?),
                    None => None,
                })
            };
            Ok(StoreStatus {
                events: value("status_events")?.unwrap_or(0) as u64,
                dead_letters: value("status_dead_letters")?.unwrap_or(0) as u64,
                as_of: value("status_newest_ingested_at")?.and_then(|seconds| DateTime::from_timestamp(seconds, 0)),
                newest_event: value("status_newest_occurred_at")?
                    .and_then(|seconds| DateTime::from_timestamp(seconds, 0)),
                oldest_event: value("status_oldest_occurred_at")?
                    .and_then(|seconds| DateTime::from_timestamp(seconds, 0)),
                version: value("data_version")?.unwrap_or(0) as u64,
            })
        })
        .await
    }

    async fn forget(&self, erasure: &Erasure) -> Result<ErasureOutcome, StoreError> {
        let erasure = erasure.clone();
        self.with(move |c| {
            let transaction = c.transaction()?;
            let mut outcome = ErasureOutcome::default();
            let now = chrono::Utc::now().to_rfc3339();
            for learner in &erasure.pseudonyms {
                let newly_erased = transaction.execute(
                    "INSERT OR IGNORE INTO erased_learners (learner, erased_at) VALUES (?1, ?2)",
                    rusqlite::params![learner, now],
                )? == 1;
                // Facts stored after an earlier erasure never counted.
                if newly_erased {
                    read_model::remove_learner(&transaction, learner)?;
                }
                for (table, removed) in [
                    ("enrolment_facts", &mut outcome.enrolment_facts),
                    ("assessment_facts", &mut outcome.assessment_facts),
                ] {
                    let events: u64 = transaction.query_row(
                        &format!("SELECT COUNT(DISTINCT event_id) FROM {table} WHERE learner = ?1"),
                        [learner],
                        |row| row.get(0),
                    )?;
                    *removed += events;
                    transaction.execute(&format!("DELETE FROM {table} WHERE learner = ?1"), [learner])?;
                }
            }
            for raw in erasure.redactable_ids() {
                outcome.dead_letters_redacted += transaction.execute(
                    "UPDATE dead_letters SET payload = X'', message = message || ' [payload erased]'
                     WHERE length(payload) > 0 AND instr(payload, CAST(?1 AS BLOB)) > 0",
                    [raw],
                )? as u64;
            }
            apply::bump_data_version(&transaction)?;
            transaction.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn learners(&self) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT learner FROM enrolment_facts UNION SELECT learner FROM assessment_facts
                 UNION SELECT learner FROM erased_learners",
            )?;
            let learners = statement.query_map([], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(learners)
        })
        .await
    }

    async fn rename_learners(&self, renames: &[(String, String)]) -> Result<(), StoreError> {
        let renames = renames.to_vec();
        self.with(move |c| {
            let transaction = c.transaction()?;
            // A new pseudonym that already holds facts or an erasure joins
            // two histories into one learner: the model counted two.
            let mut merged = false;
            for (old, new) in &renames {
                merged |= transaction.query_row(
                    "SELECT EXISTS (SELECT 1 FROM enrolment_facts WHERE learner = ?1)
                         OR EXISTS (SELECT 1 FROM assessment_facts WHERE learner = ?1)
                         OR EXISTS (SELECT 1 FROM erased_learners WHERE learner = ?1)",
                    [new],
                    |row| row.get::<_, bool>(0),
                )?;
                for table in ["enrolment_facts", "assessment_facts"] {
                    transaction.execute(&format!("UPDATE {table} SET learner = ?2 WHERE learner = ?1"), [old, new])?;
                }
                transaction
                    .execute("UPDATE OR IGNORE erased_learners SET learner = ?2 WHERE learner = ?1", [old, new])?;
            }
            if merged {
                read_model::rebuild(&transaction)?;
                apply::bump_data_version(&transaction)?;
            }
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    async fn checkpoints(&self, consumer: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let consumer = consumer.to_string();
        self.with(move |c| {
            let mut statement = c.prepare_cached(
                "SELECT topic, partition, next_offset FROM checkpoints WHERE consumer = ?1 ORDER BY topic, partition",
            )?;
            let rows = statement.query_map([&consumer], |row| {
                Ok(Checkpoint {
                    consumer: consumer.clone(),
                    topic: row.get(0)?,
                    partition: row.get(1)?,
                    next_offset: row.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn counted_events(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let ids = ids.to_vec();
        self.with(move |c| {
            let mut statement = c.prepare_cached("SELECT 1 FROM applied_events WHERE event_id = ?1")?;
            let mut counted = HashSet::new();
            for id in ids {
                if statement.exists([&id])? {
                    counted.insert(id);
                }
            }
            Ok(counted)
        })
        .await
    }

    async fn dead_lettered_offsets(
        &self,
        topic: &str,
        partition: i32,
        offsets: std::ops::Range<i64>,
    ) -> Result<HashSet<i64>, StoreError> {
        let topic = topic.to_string();
        self.with(move |c| {
            let mut statement = c.prepare_cached(
                "SELECT DISTINCT source_offset FROM dead_letters \
                 WHERE source_topic = ?1 AND source_partition = ?2 AND source_offset >= ?3 AND source_offset < ?4",
            )?;
            let rows = statement.query_map(rusqlite::params![topic, partition, offsets.start, offsets.end], |row| {
                row.get::<_, i64>(0)
            })?;
            Ok(rows.collect::<Result<HashSet<_>, _>>()?)
        })
        .await
    }

    async fn dead_letter_reasons(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.read(|c| {
            let mut statement =
                c.prepare_cached("SELECT reason, COUNT(*) FROM dead_letters GROUP BY reason ORDER BY reason")?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn partner_status(&self, partner: &str) -> Result<crate::PartnerStatus, StoreError> {
        let partner = partner.to_string();
        self.read(move |c| partner_status::read(c, &partner)).await
    }
}

#[cfg(test)]
mod tests;

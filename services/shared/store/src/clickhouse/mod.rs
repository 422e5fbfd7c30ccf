//! The ClickHouse store, for scale. Written for the SQL subset that
//! ClickHouse 18.16 (Debian's package) and current ClickHouse both accept;
//! the `clickhouse` crate runs with row validation off (18.16 lacks the
//! format it uses), so the schema is checked here at start-up instead.
//!
//! Counted once: fact rows are keyed by event id in ReplacingMergeTree
//! tables, and every counter query is written so that rows repeated by a
//! replay and not yet merged cannot count twice. `applied_events` is written
//! last in a batch, so an event listed there has all its facts stored.

mod config;
mod counters;
mod errors;
mod export;
mod lease;
mod model;
mod partner_status;
/// The rows as written; public only for the write-path benchmark's bare
/// inserter (bench/), which must write exactly the same rows.
#[doc(hidden)]
pub mod rows;
mod schema;

pub use config::ClickHouseConfig;
pub use model::MirroredModel;

use crate::{
    ApplyOutcome, Batch, Checkpoint, CounterWindow, Erasure, ErasureOutcome, MetricsStore, StoreError, StoreStatus,
};
use async_trait::async_trait;
use chrono::DateTime;
use clickhouse::Client;
use rows::{AppliedEventRow, AssessmentRow, CheckpointRow, DeadLetterRow, DemandRow, DuplicateRow, EnrolmentRow};
use skills_domain::facts::{DuplicateEvent, EventFacts, RawSource};
use skills_domain::indicators::{CellCounters, PartnerCell};
use std::collections::{HashMap, HashSet};

/// `('a', 'b')`: a bound array would be `['a', 'b']`, which 18.16 rejects
/// after IN; a tuple literal also lets the primary key serve the lookup.
fn string_tuple(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| counters::quoted(v)).collect();
    format!("({})", quoted.join(", "))
}

#[derive(Clone)]
pub struct ClickHouseStore {
    client: Client,
    database: String,
    /// The mirrored model's state row, read at most once a second by reads.
    model_state: model::StateCache,
}

pub(crate) use errors::store_error;

/// Learners renamed per statement when keys rotate.
const RENAME_CHUNK: usize = 5_000;

impl ClickHouseStore {
    /// Each partner's part of a window's cells, counted from the facts (the
    /// event's partner from applied_events): what `partner_counters` serves
    /// when the mirrored model does not answer (none yet, invalidated, or a
    /// window it does not hold). Seconds per year under ingest: the 34
    /// windows of a publication read the model's parts instead.
    pub async fn partner_counters_from_facts(
        &self,
        window: &CounterWindow,
        partner: Option<&str>,
    ) -> Result<Vec<PartnerCell>, StoreError> {
        counters::partner_counters(&self.client, &self.database, window, partner).await
    }

    async fn execute(&self, sql: &str) -> Result<(), StoreError> {
        self.client.query(sql).execute().await.map_err(store_error)
    }

    async fn count(&self, sql: &str) -> Result<u64, StoreError> {
        self.client.query(sql).fetch_one::<u64>().await.map_err(store_error)
    }

    /// Waits until the database's mutations (erasure deletes) are done,
    /// so that a finished request means the data is gone from disk too.
    async fn wait_for_mutations(&self) -> Result<(), StoreError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        loop {
            let pending: u64 = self
                .client
                .query("SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0")
                .bind(&self.database)
                .fetch_one()
                .await
                .map_err(store_error)?;
            if pending == 0 {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(StoreError::unavailable(format!("{pending} erasure mutations still running after 300 s")));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Connects, applies pending migrations and checks the schema.
    pub async fn connect(config: &ClickHouseConfig) -> Result<Self, StoreError> {
        let database = config.database.clone();
        if database.is_empty() || !database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::schema(format!("invalid database name {database:?} (letters, digits, _)")));
        }
        // Priority 1 (the highest): background reads (priority 2) pause
        // while one of these runs (`crate::background`).
        let mut client = Client::default()
            .with_url(&config.url)
            .with_user(&config.user)
            .with_validation(false)
            .with_setting("priority", "1");
        if let Some(password) = config.password()? {
            client = client.with_password(password);
        }
        let store = ClickHouseStore { client, database, model_state: model::StateCache::default() };
        schema::migrate(&store.client, &store.database).await?;
        schema::check(&store.client, &store.database).await?;
        Ok(store)
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// Changes whenever counted data does, and only then: the newest
    /// insert block of each table a counter reads (merges keep block
    /// numbers, so a merge that folds repeated rows changes nothing; row
    /// counts did change, and every merge made caches recompute), plus
    /// each mirror of the read model. Erasures insert their pseudonyms.
    async fn data_version(&self) -> Result<u64, StoreError> {
        let db = &self.database;
        let (blocks, model): (u64, u64) = self
            .client
            .query(&format!(
                "SELECT toUInt64(sum(newest)), (SELECT max(version) FROM {db}.model_state) FROM \
                 (SELECT table, max(max_block_number) AS newest FROM system.parts \
                  WHERE database = '{db}' AND active \
                    AND table IN ('applied_events', 'dead_letters', 'erased_learners') GROUP BY table)"
            ))
            .fetch_one()
            .await
            .map_err(store_error)?;
        Ok(blocks + model)
    }

    /// This store as counter reads should use it: background reads
    /// (`crate::background`) at a lower priority, on one server thread.
    fn reader(&self) -> ClickHouseStore {
        let mut reader = self.clone();
        if crate::background::active() {
            reader.client = reader.client.with_setting("priority", "2").with_setting("max_threads", "1");
        }
        reader
    }

    async fn insert<T>(&self, table: &str, rows: &[T]) -> Result<(), StoreError>
    where
        T: clickhouse::RowOwned + clickhouse::RowWrite + Send + Sync,
    {
        if rows.is_empty() {
            return Ok(());
        }
        // Both names are checked identifiers; `insert` would quote "db.table" as one.
        let mut insert =
            self.client.insert_unescaped::<T>(&format!("{}.{table}", self.database)).await.map_err(store_error)?;
        for row in rows {
            insert.write(row).await.map_err(store_error)?;
        }
        insert.end().await.map_err(store_error)
    }

    /// Which of these events are already stored: one query per batch,
    /// limited to the month partitions the batch's event times fall in.
    /// The id lookup cannot use the index (ids are random, so a batch's ids
    /// touch every granule); naming the months prunes partitions instead,
    /// so live traffic reads the current month, and a batch that mixes
    /// live events with a replay of old ones reads those months only, not
    /// every month between them. A repeat has the same event time, so none
    /// is missed.
    async fn known_events(&self, events: &[EventFacts]) -> Result<HashMap<String, RawSource>, StoreError> {
        let months: std::collections::BTreeSet<u32> = events.iter().map(|e| rows::month_of(e.occurred_at)).collect();
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        let months: Vec<String> = months.iter().map(u32::to_string).collect();
        self.counted_sources(&ids, Some(&format!("toYYYYMM(occurred_at) IN ({}) AND ", months.join(", ")))).await
    }

    /// The raw record each of these ids was counted from (a repeat from
    /// another one is a duplicate, from the same one a replay), optionally
    /// under a condition on the partitions to read (ending in AND). The
    /// rows of one event name one record: it is written only while unknown.
    async fn counted_sources(
        &self,
        ids: &[&str],
        partitions: Option<&str>,
    ) -> Result<HashMap<String, RawSource>, StoreError> {
        let bound = partitions.unwrap_or("");
        let mut known = HashMap::new();
        for chunk in ids.chunks(LOOKUP_IDS) {
            let found: Vec<(String, String, i32, i64)> = self
                .client
                .query(&format!(
                    "SELECT event_id, any(source_topic), any(source_partition), any(source_offset)
                     FROM {}.applied_events WHERE {bound}event_id IN {} GROUP BY event_id",
                    self.database,
                    string_tuple(chunk)
                ))
                .with_setting("max_query_size", LOOKUP_QUERY_BYTES.to_string())
                .fetch_all()
                .await
                .map_err(store_error)?;
            known.extend(
                found.into_iter().map(|(id, topic, partition, offset)| (id, RawSource { topic, partition, offset })),
            );
        }
        Ok(known)
    }

    /// Ingestion's duplicate notices, less those naming the very record
    /// their event was counted from: ingestion's window may have seen the
    /// copies in another order than the store (a replay after a crash), and
    /// the counted copy is never its own duplicate. Notices carry no event
    /// time, so every partition is read; they are few.
    async fn checked_notices(&self, notices: &[DuplicateEvent]) -> Result<Vec<DuplicateRow>, StoreError> {
        if notices.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = notices.iter().map(|n| n.event_id.as_str()).collect();
        let counted = self.counted_sources(&ids, None).await?;
        Ok(notices
            .iter()
            .filter(|notice| counted.get(&notice.event_id) != Some(&notice.source))
            .map(DuplicateRow::from)
            .collect())
    }

    /// Which of these ids are in applied_events, optionally under a
    /// condition on the partitions to read (ending in AND).
    async fn known_ids(&self, ids: &[&str], partitions: Option<&str>) -> Result<HashSet<String>, StoreError> {
        Ok(self.counted_sources(ids, partitions).await?.into_keys().collect())
    }
}

/// Ids per lookup query: a whole batch of the default size (each query
/// reads the id column of the months it touches, so fewer, larger lookups
/// read less), and under the server's 50,000 elements per query
/// (`max_ast_elements`: a batch of 50,000 was refused, "AST is too big").
const LOOKUP_IDS: usize = 40_000;
/// Room for them in one query (the server's default is 256 KiB, about
/// 6,500 ids).
const LOOKUP_QUERY_BYTES: usize = 16 << 20;

#[async_trait]
impl MetricsStore for ClickHouseStore {
    async fn apply(&self, batch: Batch) -> Result<ApplyOutcome, StoreError> {
        let letters: Vec<DeadLetterRow> = batch.dead_letters.iter().map(DeadLetterRow::from).collect();
        let (known, known_letters, mut duplicates) = tokio::try_join!(
            self.known_events(&batch.events),
            self.known_dead_letters(&letters),
            self.checked_notices(&batch.duplicates)
        )?;
        let mut outcome = ApplyOutcome::default();
        // The first copy of an event counts, as in the embedded store: a
        // repeat in the same batch may differ (a partner's corrected resend,
        // or a backlog pseudonymised under another key), and two copies'
        // facts would count two learners.
        let mut seen: HashMap<&str, Option<&RawSource>> = HashMap::new();
        let mut events: Vec<&EventFacts> = Vec::with_capacity(batch.events.len());
        for event in &batch.events {
            let first = match known.get(&event.event_id) {
                Some(counted) => Some(Some(counted)),
                None => seen.get(event.event_id.as_str()).copied(),
            };
            match first {
                None => {
                    seen.insert(event.event_id.as_str(), event.source.as_ref());
                    events.push(event);
                }
                // A repeat from another raw record is a duplicate; from the
                // same one, a replay. Unknown origins are not recorded.
                Some(first) => {
                    if let Some(source) = &event.source
                        && first != Some(source)
                    {
                        duplicates.push(DuplicateRow::new(&event.event_id, &event.partner_id, source));
                    }
                }
            }
        }
        // Nor is a copy counted in this very batch its own duplicate.
        duplicates.retain(|row| {
            let counted_now = seen.get(row.event_id()).copied().flatten();
            counted_now.is_none_or(|source| !row.is_from(source))
        });
        outcome.new_events = events.len() as u64;
        outcome.duplicate_events = (batch.events.len() - events.len()) as u64;
        // Facts first, the event list last: a crash in between leaves facts
        // a replay writes again, never an event without its facts.
        let enrolments: Vec<EnrolmentRow> =
            events.iter().flat_map(|e| e.facts.enrolments.iter().map(EnrolmentRow::from)).collect();
        let assessments: Vec<AssessmentRow> =
            events.iter().flat_map(|e| e.facts.assessments.iter().map(AssessmentRow::from)).collect();
        let demands: Vec<DemandRow> = events.iter().flat_map(|e| e.facts.demands.iter().map(DemandRow::from)).collect();
        let new_letters: HashSet<&str> =
            letters.iter().map(|l| l.dead_letter_id.as_str()).filter(|id| !known_letters.contains(*id)).collect();
        outcome.new_dead_letters = new_letters.len() as u64;
        // Independent tables, written side by side: one round trip of latency.
        tokio::try_join!(
            self.insert("enrolment_facts", &enrolments),
            self.insert("assessment_facts", &assessments),
            self.insert("demand_facts", &demands),
            self.insert("dead_letters", &letters),
            self.insert("duplicate_events", &duplicates),
        )?;
        let applied: Vec<AppliedEventRow> = events.iter().map(|e| AppliedEventRow::from(*e)).collect();
        self.insert("applied_events", &applied).await?;
        let checkpoints: Vec<CheckpointRow> = batch.checkpoints.iter().map(CheckpointRow::from).collect();
        self.insert("checkpoints", &checkpoints).await?;
        Ok(outcome)
    }

    async fn counters(&self, window: &CounterWindow) -> Result<Vec<CellCounters>, StoreError> {
        let reader = self.reader();
        match reader.model_counters(window).await? {
            Some(cells) => Ok(cells),
            None => counters::counters(&reader.client, &reader.database, window).await,
        }
    }

    async fn partner_counters(
        &self,
        window: &CounterWindow,
        partner: Option<&str>,
    ) -> Result<Option<Vec<PartnerCell>>, StoreError> {
        let reader = self.reader();
        match reader.model_partner_counters(window, partner).await? {
            Some(parts) => Ok(Some(parts)),
            None => Ok(Some(reader.partner_counters_from_facts(window, partner).await?)),
        }
    }

    async fn recount(&self, window: &CounterWindow) -> Result<Vec<CellCounters>, StoreError> {
        counters::counters(&self.client, &self.database, window).await
    }

    /// The model is skills-model's: marked invalid here, so that reads
    /// count from the facts until skills-model has rebuilt its state from
    /// them and copied it (it checks before every batch).
    async fn rebuild_read_model(&self) -> Result<(), StoreError> {
        self.invalidate_model().await
    }

    async fn status(&self) -> Result<StoreStatus, StoreError> {
        let db = &self.database;
        let (events, as_of, newest_event, oldest_event): (u64, u32, u32, u32) = self
            .client
            .query(&format!(
                "SELECT uniqExact(event_id), toUInt32(max(ingested_at)), toUInt32(max(occurred_at)), \
                 toUInt32(min(occurred_at)) FROM {db}.applied_events"
            ))
            .fetch_one()
            .await
            .map_err(store_error)?;
        let dead_letters: u64 = self
            .client
            .query(&format!("SELECT uniqExact(dead_letter_id) FROM {db}.dead_letters"))
            .fetch_one()
            .await
            .map_err(store_error)?;
        Ok(StoreStatus {
            events,
            dead_letters,
            as_of: (events > 0).then(|| DateTime::from_timestamp(i64::from(as_of), 0)).flatten(),
            newest_event: (events > 0).then(|| DateTime::from_timestamp(i64::from(newest_event), 0)).flatten(),
            oldest_event: (events > 0).then(|| DateTime::from_timestamp(i64::from(oldest_event), 0)).flatten(),
            version: self.data_version().await?,
        })
    }

    /// Row counts come from part metadata and the newest ingestion time is
    /// one column: no distinct count over every event id, which grew with
    /// the data and, polled twice a second, loaded ClickHouse.
    async fn quick_status(&self) -> Result<StoreStatus, StoreError> {
        let db = &self.database;
        let (rows, as_of, newest_event, oldest_event, letter_rows): (u64, u32, u32, u32, u64) = self
            .client
            .query(&format!(
                "SELECT count(), toUInt32(max(ingested_at)), toUInt32(max(occurred_at)), toUInt32(min(occurred_at)), \
                 (SELECT count() FROM {db}.dead_letters) FROM {db}.applied_events"
            ))
            .fetch_one()
            .await
            .map_err(store_error)?;
        Ok(StoreStatus {
            events: rows,
            dead_letters: letter_rows,
            as_of: (rows > 0).then(|| DateTime::from_timestamp(i64::from(as_of), 0)).flatten(),
            newest_event: (rows > 0).then(|| DateTime::from_timestamp(i64::from(newest_event), 0)).flatten(),
            oldest_event: (rows > 0).then(|| DateTime::from_timestamp(i64::from(oldest_event), 0)).flatten(),
            version: self.data_version().await?,
        })
    }

    async fn forget(&self, erasure: &Erasure) -> Result<ErasureOutcome, StoreError> {
        let db = &self.database;
        let mut outcome = ErasureOutcome::default();
        if !erasure.pseudonyms.is_empty() {
            let list = erasure.pseudonyms.iter().map(|p| counters::quoted(p)).collect::<Vec<_>>().join(", ");
            let values = erasure.pseudonyms.iter().map(|p| format!("({}, now())", counters::quoted(p)));
            // Recorded first: from here on no counter counts them.
            self.execute(&format!(
                "INSERT INTO {db}.erased_learners (learner, erased_at) VALUES {}",
                values.collect::<Vec<_>>().join(", ")
            ))
            .await?;
            for (table, removed) in
                [("enrolment_facts", &mut outcome.enrolment_facts), ("assessment_facts", &mut outcome.assessment_facts)]
            {
                *removed = self
                    .count(&format!("SELECT uniqExact(event_id) FROM {db}.{table} WHERE learner IN ({list})"))
                    .await?;
                self.execute(&format!("ALTER TABLE {db}.{table} DELETE WHERE learner IN ({list})")).await?;
            }
        }
        for raw in erasure.redactable_ids() {
            let quoting = format!("length(payload) > 0 AND position(payload, {}) > 0", counters::quoted(raw));
            outcome.dead_letters_redacted +=
                self.count(&format!("SELECT uniqExact(dead_letter_id) FROM {db}.dead_letters WHERE {quoting}")).await?;
            self.execute(&format!(
                "ALTER TABLE {db}.dead_letters UPDATE payload = '', message = concat(message, ' [payload erased]') \
                 WHERE {quoting}"
            ))
            .await?;
        }
        self.wait_for_mutations().await?;
        self.wait_for_model_erasures().await?;
        Ok(outcome)
    }

    async fn learners(&self) -> Result<Vec<String>, StoreError> {
        let db = &self.database;
        self.client
            .query(&format!(
                "SELECT DISTINCT learner FROM (SELECT learner FROM {db}.enrolment_facts \
                 UNION ALL SELECT learner FROM {db}.assessment_facts UNION ALL SELECT learner FROM {db}.erased_learners)"
            ))
            .fetch_all()
            .await
            .map_err(store_error)
    }

    /// The learner column is part of the sort key, which ClickHouse cannot
    /// update: the renamed rows are inserted as copies (transform() maps
    /// each old pseudonym to its new one) and the old rows deleted.
    async fn rename_learners(&self, renames: &[(String, String)]) -> Result<(), StoreError> {
        let db = &self.database;
        let columns = schema::expected_columns();
        for chunk in renames.chunks(RENAME_CHUNK) {
            let olds = chunk.iter().map(|(old, _)| counters::quoted(old)).collect::<Vec<_>>().join(", ");
            let news = chunk.iter().map(|(_, new)| counters::quoted(new)).collect::<Vec<_>>().join(", ");
            for table in ["enrolment_facts", "assessment_facts", "erased_learners"] {
                let names: Vec<&str> = columns[table].iter().map(|(name, _)| name.as_str()).collect();
                let values: Vec<String> = names
                    .iter()
                    .map(|&name| {
                        if name == "learner" {
                            format!("transform(learner, [{olds}], [{news}], learner)")
                        } else {
                            name.to_string()
                        }
                    })
                    .collect();
                self.execute(&format!(
                    "INSERT INTO {db}.{table} ({}) SELECT {} FROM {db}.{table} WHERE learner IN ({olds})",
                    names.join(", "),
                    values.join(", ")
                ))
                .await?;
                self.execute(&format!("ALTER TABLE {db}.{table} DELETE WHERE learner IN ({olds})")).await?;
            }
            self.wait_for_mutations().await?;
        }
        // The mirrored model's state holds the old pseudonyms.
        if !renames.is_empty() {
            self.invalidate_model().await?;
        }
        Ok(())
    }

    async fn checkpoints(&self, consumer: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let rows: Vec<(String, i32, i64)> = self
            .client
            .query(&format!(
                "SELECT topic, partition, max(next_offset) FROM {}.checkpoints WHERE consumer = ? \
                 GROUP BY topic, partition ORDER BY topic, partition",
                self.database
            ))
            .bind(consumer)
            .fetch_all()
            .await
            .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(topic, partition, next_offset)| Checkpoint {
                consumer: consumer.to_string(),
                topic,
                partition,
                next_offset,
            })
            .collect())
    }

    async fn counted_events(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.known_ids(&ids, None).await
    }

    async fn dead_lettered_offsets(
        &self,
        topic: &str,
        partition: i32,
        offsets: std::ops::Range<i64>,
    ) -> Result<HashSet<i64>, StoreError> {
        let found: Vec<i64> = self
            .client
            .query(&format!(
                "SELECT DISTINCT source_offset FROM {}.dead_letters WHERE source_topic = ? \
                 AND source_partition = ? AND source_offset >= ? AND source_offset < ?",
                self.database
            ))
            .bind(topic)
            .bind(partition)
            .bind(offsets.start)
            .bind(offsets.end)
            .fetch_all()
            .await
            .map_err(store_error)?;
        Ok(found.into_iter().collect())
    }

    async fn dead_letter_reasons(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.client
            .query(&format!(
                "SELECT reason, uniqExact(dead_letter_id) FROM {}.dead_letters GROUP BY reason ORDER BY reason",
                self.database
            ))
            .fetch_all()
            .await
            .map_err(store_error)
    }

    async fn partner_status(&self, partner: &str) -> Result<crate::PartnerStatus, StoreError> {
        partner_status::read(&self.client, &self.database, partner).await
    }
}

impl ClickHouseStore {
    async fn known_dead_letters(&self, letters: &[DeadLetterRow]) -> Result<HashSet<String>, StoreError> {
        if letters.is_empty() {
            return Ok(HashSet::new());
        }
        let ids: Vec<&str> = letters.iter().map(|l| l.dead_letter_id.as_str()).collect();
        let found: Vec<String> = self
            .client
            .query(&format!(
                "SELECT DISTINCT dead_letter_id FROM {}.dead_letters WHERE dead_letter_id IN {}",
                self.database,
                string_tuple(&ids)
            ))
            .fetch_all()
            .await
            .map_err(store_error)?;
        Ok(found.into_iter().collect())
    }
}

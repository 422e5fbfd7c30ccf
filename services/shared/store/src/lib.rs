//! The metrics store. It holds facts (idempotent by event id), dead letters
//! and consumer checkpoints, and returns counters; the indicator formulas
//! stay in `skills_domain::indicators`.
//!
//! `embedded` is the single-machine default (SQLite, bundled); `clickhouse`
//! is the store at scale, behind the same trait.

pub mod background;
pub mod clickhouse;
pub mod config;
pub mod embedded;
mod error;
#[cfg(any(test, feature = "test-util"))]
pub mod fixtures;
pub mod model;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use skills_domain::facts::{DuplicateEvent, EventFacts};
use skills_domain::indicators::CellCounters;
use std::collections::HashSet;

pub use clickhouse::{ClickHouseConfig, ClickHouseStore, MirroredModel};
pub use config::{StoreConfig, StoreKind, open, open_when_ready};
pub use embedded::EmbeddedStore;
pub use error::{ErrorKind, StoreError};
pub use model::{ModelCell, ModelSummary};
pub use skills_domain::indicators::PartnerCell;

/// Which counters to compute: a time window [start, end), the horizon of
/// the pipeline, per cell or per whole region, optional filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub horizon_end: DateTime<Utc>,
    pub by_skill: bool,
    pub region: Option<String>,
    pub skill: Option<String>,
}

impl CounterWindow {
    /// The end of the year the window starts in: learners' groups are
    /// those of their profile as of then (`skills_domain::read_model`).
    pub fn year_end(&self) -> DateTime<Utc> {
        skills_domain::Period::Year(chrono::Datelike::year(&self.start)).end()
    }

    /// Every cell (or whole region) of a calendar period, with a pipeline
    /// horizon of `horizon_months` after its end.
    pub fn of_period(period: skills_domain::Period, horizon_months: u32, by_skill: bool) -> CounterWindow {
        CounterWindow {
            start: period.start(),
            end: period.end(),
            horizon_end: period.end() + chrono::Months::new(horizon_months),
            by_skill,
            region: None,
            skill: None,
        }
    }
}

/// An event that could not be counted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: String,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub reason: String,
    pub message: String,
    pub payload: Vec<u8>,
    /// The partner that sent it, when known ('' otherwise).
    pub partner_id: String,
}

/// How far one consumer got in one partition, stored with the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub consumer: String,
    pub topic: String,
    pub partition: i32,
    pub next_offset: i64,
}

/// What one aggregator batch writes, atomically.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub events: Vec<EventFacts>,
    pub dead_letters: Vec<DeadLetter>,
    /// Repeats ingestion recognised (the store finds the others itself).
    pub duplicates: Vec<DuplicateEvent>,
    pub checkpoints: Vec<Checkpoint>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub new_events: u64,
    /// Events of the batch not counted: already counted, repeated within
    /// the batch, or replayed.
    pub duplicate_events: u64,
    pub new_dead_letters: u64,
}

/// One partner's part of the pipeline, as its status shows it
/// (docs/partners.md defines each figure).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerStatus {
    /// Distinct events of the partner counted.
    pub counted: u64,
    /// Raw records that repeated an event already received from another
    /// record.
    pub duplicates: u64,
    /// Dead letters by reason code, reasons in alphabetical order.
    pub dead_letters: Vec<PartnerDeadLetters>,
    /// Ingestion time of the partner's newest counted event.
    pub last_received_at: Option<DateTime<Utc>>,
    /// Occurrence time of the partner's newest counted event (by occurrence).
    pub last_occurred_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerDeadLetters {
    pub reason: String,
    pub count: u64,
    /// The most recently recorded, at most `DEAD_LETTER_EXAMPLES`.
    pub examples: Vec<DeadLetterExample>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterExample {
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub message: String,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// Examples of each reason in a partner's status.
pub const DEAD_LETTER_EXAMPLES: usize = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStatus {
    pub events: u64,
    pub dead_letters: u64,
    /// Ingestion time of the newest counted event.
    pub as_of: Option<DateTime<Utc>>,
    /// Occurrence time of the newest counted event: with the oldest, it
    /// bounds the years a request without a period may get (a replayed
    /// history is read where its data is, not in the year it was sent).
    pub newest_event: Option<DateTime<Utc>>,
    /// Occurrence time of the oldest counted event (or older, after an
    /// erasure): nothing counts in a period that ends before it.
    pub oldest_event: Option<DateTime<Utc>>,
    /// Changes whenever counted data changes; caches key on it.
    pub version: u64,
}

/// A request to forget learners (the right to erasure).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erasure {
    /// The learners' pseudonyms, under every key version in use.
    pub pseudonyms: Vec<String>,
    /// Their raw identifiers, to redact dead letters whose payload quotes
    /// them; ids shorter than `MIN_REDACTED_ID` are not searched for, as
    /// they would match unrelated payloads.
    pub raw_ids: Vec<String>,
}

pub const MIN_REDACTED_ID: usize = 6;

impl Erasure {
    pub fn redactable_ids(&self) -> impl Iterator<Item = &String> {
        self.raw_ids.iter().filter(|id| id.len() >= MIN_REDACTED_ID)
    }
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasureOutcome {
    /// Distinct events whose facts were deleted.
    pub enrolment_facts: u64,
    pub assessment_facts: u64,
    /// Dead letters whose payload was emptied.
    pub dead_letters_redacted: u64,
}

#[async_trait]
pub trait MetricsStore: Send + Sync {
    /// Writes a batch atomically; events already stored are skipped.
    async fn apply(&self, batch: Batch) -> Result<ApplyOutcome, StoreError>;
    /// Counters of a window: from the read model when the store keeps one
    /// and the window is a calendar period, else counted from the facts.
    async fn counters(&self, window: &CounterWindow) -> Result<Vec<CellCounters>, StoreError>;
    /// Counters counted from the facts, whatever the store keeps
    /// (`skills verify-model` compares the two).
    async fn recount(&self, window: &CounterWindow) -> Result<Vec<CellCounters>, StoreError> {
        self.counters(window).await
    }
    /// Builds the read model again from the facts (a store without one
    /// has nothing to do).
    async fn rebuild_read_model(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Each partner's part of the cells of a calendar-period window (every
    /// partner's, or one's); None when this store keeps no partner parts.
    async fn partner_counters(
        &self,
        _window: &CounterWindow,
        _partner: Option<&str>,
    ) -> Result<Option<Vec<PartnerCell>>, StoreError> {
        Ok(None)
    }

    async fn status(&self) -> Result<StoreStatus, StoreError>;
    /// The status for change detection, polled every half second by the
    /// query service: the same version and as-of time, with `events`
    /// allowed to count a repeat not yet merged away (exact in `status`).
    /// A store whose exact count is cheap keeps this default.
    async fn quick_status(&self) -> Result<StoreStatus, StoreError> {
        self.status().await
    }
    async fn checkpoints(&self, consumer: &str) -> Result<Vec<Checkpoint>, StoreError>;
    /// Forgets learners: their pseudonyms are recorded first, so that no
    /// counter counts them from then on (late and replayed events
    /// included), then their facts are deleted and dead letters quoting
    /// their raw ids emptied. Cached indicators see a new data version.
    async fn forget(&self, erasure: &Erasure) -> Result<ErasureOutcome, StoreError>;
    /// Every learner pseudonym the store holds (facts and erasures), each once.
    async fn learners(&self) -> Result<Vec<String>, StoreError>;
    /// Key rotation: every fact and erasure of each `(old, new)` pair's
    /// old pseudonym becomes the new one's. Counters are the same before
    /// and after; run it with the aggregator stopped (see README).
    async fn rename_learners(&self, renames: &[(String, String)]) -> Result<(), StoreError>;
    /// Dead letters per reason code.
    async fn dead_letter_reasons(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// One partner's counted events, duplicates and dead letters.
    async fn partner_status(&self, partner: &str) -> Result<PartnerStatus, StoreError>;
    /// Which of these event ids are counted (reconciliation).
    async fn counted_events(&self, ids: &[String]) -> Result<HashSet<String>, StoreError>;
    /// Offsets in `offsets` of one source partition that have a dead letter
    /// (reconciliation).
    async fn dead_lettered_offsets(
        &self,
        topic: &str,
        partition: i32,
        offsets: std::ops::Range<i64>,
    ) -> Result<HashSet<i64>, StoreError>;
}

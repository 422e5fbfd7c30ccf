//! The state and its copy in ClickHouse, kept in step.

use skills_domain::facts::EventFacts;
use skills_domain::read_model::CellTally;
use skills_store::{
    Batch, ClickHouseStore, EmbeddedStore, Erasure, MetricsStore, MirroredModel, ModelCell, ModelSummary, StoreError,
};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tracing::{info, warn};

/// Meta key: the state holds everything ClickHouse held when it was made.
const RESTORED: &str = "model_restored";

/// Events per state transaction when restoring from ClickHouse.
const RESTORE_BATCH: usize = 20_000;

pub struct Materializer {
    path: PathBuf,
    state: EmbeddedStore,
    clickhouse: ClickHouseStore,
    /// What ClickHouse's model_state last got from this state.
    written: ModelSummary,
    /// The version of the last copy; the next is higher.
    version: u64,
}

/// What one copy to ClickHouse wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mirrored {
    pub cells: usize,
    pub version: u64,
}

impl Materializer {
    /// Opens the state at `path` and brings ClickHouse's copy in line with
    /// it. A state that is empty is restored from ClickHouse's facts first;
    /// one that a key rotation invalidated is discarded and restored. A
    /// copy of another state (or none) is replaced whole: every cell of
    /// this state, and zeros for cells it does not have.
    pub async fn open(path: &Path, clickhouse: ClickHouseStore) -> Result<Self, StoreError> {
        Self::open_state(path, clickhouse, true).await
    }

    /// Opens a state that already holds every event ClickHouse holds (one
    /// built beside it, as bench scenario 7 builds one): no restore.
    pub async fn adopt(path: &Path, clickhouse: ClickHouseStore) -> Result<Self, StoreError> {
        Self::open_state(path, clickhouse, false).await
    }

    async fn open_state(path: &Path, clickhouse: ClickHouseStore, restore_if_new: bool) -> Result<Self, StoreError> {
        let mirrored = clickhouse.mirrored_model().await?;
        if mirrored.is_some_and(|model| !model.is_valid()) {
            warn!(path = %path.display(), "the model was invalidated (key rotation or rebuild); rebuilding the state from ClickHouse");
            remove_state(path)?;
        }
        let mut state = open_filled(path, &clickhouse, restore_if_new).await?;
        let mut summary = state.model_summary().await?;
        // The copy came from this state at a later point: the file went
        // back in time (an old backup), and the events in between are
        // behind the consumer's offsets. Only the facts still have them.
        if let Some(model) = mirrored.filter(|m| m.state_id == summary.state_id && m.summary.seq > summary.seq) {
            warn!(path = %path.display(), state_seq = summary.seq, copied_seq = model.summary.seq,
                "the state is older than its copy in ClickHouse; rebuilding it from ClickHouse");
            drop(state);
            remove_state(path)?;
            state = open_filled(path, &clickhouse, true).await?;
            summary = state.model_summary().await?;
        }
        let version = clickhouse.model_version().await?;
        let mut materializer =
            Materializer { path: path.to_path_buf(), state, clickhouse, written: ModelSummary::default(), version };
        match mirrored.filter(|model| model.state_id == summary.state_id && model.summary.seq <= summary.seq) {
            Some(model) => {
                materializer.written = model.summary;
                materializer.mirror().await?;
            }
            None => {
                materializer.mirror_all().await?;
            }
        }
        info!(path = %path.display(), state = summary.state_id, seq = summary.seq, events = summary.events, "model state open");
        Ok(materializer)
    }

    /// A key rotation (`skills rekey`) or `skills verify-model --rebuild`
    /// marks the copy invalid: the state is discarded, restored from
    /// ClickHouse's facts and copied whole. Checked before every batch
    /// (`latest`: the copy's state row as just read).
    async fn rebuild_if_invalidated(&mut self, latest: Option<MirroredModel>) -> Result<(), StoreError> {
        let Some(latest) = latest else { return Ok(()) };
        // Another writer's row (the invalidation) may be newer than ours.
        self.version = self.version.max(latest.version);
        if latest.is_valid() {
            return Ok(());
        }
        warn!(path = %self.path.display(), "the model was invalidated (key rotation or rebuild); rebuilding the state from ClickHouse");
        // Release the file before deleting it.
        self.state = EmbeddedStore::in_memory()?;
        remove_state(&self.path)?;
        self.state = open_filled(&self.path, &self.clickhouse, true).await?;
        self.written = ModelSummary::default();
        self.mirror_all().await?;
        Ok(())
    }

    pub fn state(&self) -> &EmbeddedStore {
        &self.state
    }

    /// Applies a batch to the state (events already there change nothing),
    /// takes out learners erased since, and copies the changed cells.
    pub async fn apply(&mut self, events: Vec<EventFacts>) -> Result<Mirrored, StoreError> {
        // The batch's two reads of ClickHouse, side by side: an erasure
        // made after the count is read is taken out with the next batch
        // (or the idle check), as `skills forget` waits for.
        let (latest, erased) = tokio::try_join!(self.clickhouse.mirrored_model(), self.clickhouse.erased_count())?;
        self.rebuild_if_invalidated(latest).await?;
        if !events.is_empty() {
            self.state.apply(Batch { events, ..Batch::default() }).await?;
        }
        self.take_out_erased(erased).await?;
        self.mirror().await
    }

    /// Learners erased in ClickHouse (`skills forget`; `erased` of them)
    /// leave the state too.
    async fn take_out_erased(&mut self, erased: u64) -> Result<(), StoreError> {
        if erased <= self.state.model_summary().await?.erased {
            return Ok(());
        }
        let pseudonyms = self.clickhouse.erased_learners().await?;
        info!(erased = pseudonyms.len(), "taking erased learners out of the model");
        self.state.forget(&Erasure { pseudonyms, raw_ids: Vec::new() }).await?;
        Ok(())
    }

    /// Copies the cells changed since the last copy.
    pub async fn mirror(&mut self) -> Result<Mirrored, StoreError> {
        let (summary, cells) = self.state.model_changes_since(self.written.seq).await?;
        if summary == self.written && cells.is_empty() {
            return Ok(Mirrored { cells: 0, version: self.version });
        }
        self.write(summary, cells).await
    }

    /// Copies every cell of the state, and zeros for cells ClickHouse has
    /// that the state does not.
    async fn mirror_all(&mut self) -> Result<Mirrored, StoreError> {
        let (summary, mut cells) = self.state.model_changes_since(0).await?;
        let present: HashSet<(String, String, String)> =
            cells.iter().map(|c| (c.period.clone(), c.region.clone(), c.skill.clone())).collect();
        for (period, region, skill) in self.clickhouse.model_keys().await? {
            if !present.contains(&(period.clone(), region.clone(), skill.clone())) {
                cells.push(ModelCell { period, region, skill, tally: CellTally::default(), partners: Vec::new() });
            }
        }
        self.write(summary, cells).await
    }

    async fn write(&mut self, summary: ModelSummary, cells: Vec<ModelCell>) -> Result<Mirrored, StoreError> {
        // Taken before writing: a copy that fails part-way is written
        // again at a higher version, never mixed with its first rows.
        let version = self.version + 1;
        self.version = version;
        self.clickhouse.write_model(&cells, version, &summary).await?;
        self.written = summary;
        Ok(Mirrored { cells: cells.len(), version })
    }
}

/// Opens the state file with change tracking on; until a restore has
/// finished there (a crash may cut one), fills it from ClickHouse, skipping
/// what it already holds. `restore_if_new` false: the caller knows it is
/// already full.
async fn open_filled(
    path: &Path,
    clickhouse: &ClickHouseStore,
    restore_if_new: bool,
) -> Result<EmbeddedStore, StoreError> {
    let state = EmbeddedStore::open(path)?;
    state.track_model_changes().await?;
    if state.meta(RESTORED).await? != Some(1) {
        if restore_if_new {
            restore(&state, clickhouse).await?;
        }
        state.set_meta(RESTORED, 1).await?;
    }
    Ok(state)
}

/// Fills an empty state from ClickHouse: erasures first (so that facts
/// arriving late for an erased learner never count), then every stored
/// event, month by month.
async fn restore(state: &EmbeddedStore, clickhouse: &ClickHouseStore) -> Result<(), StoreError> {
    let started = Instant::now();
    let erased = clickhouse.erased_learners().await?;
    if !erased.is_empty() {
        state.forget(&Erasure { pseudonyms: erased, raw_ids: Vec::new() }).await?;
    }
    let months = clickhouse.event_months().await?;
    let mut restored = 0;
    for month in &months {
        let events = clickhouse.events_of_month(*month).await?;
        restored += events.len();
        for chunk in events.chunks(RESTORE_BATCH) {
            state.apply(Batch { events: chunk.to_vec(), ..Batch::default() }).await?;
        }
    }
    if restored > 0 {
        info!(
            events = restored,
            months = months.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "state restored from ClickHouse"
        );
    }
    Ok(())
}

/// Deletes a state file and its SQLite companions.
fn remove_state(path: &Path) -> Result<(), StoreError> {
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(StoreError::unavailable(format!("cannot remove {file}: {error}"))),
        }
    }
    Ok(())
}

//! The read model mirrored into ClickHouse by skills-model: absolute sums
//! per cell and version (`model_cells`) and where the mirror stands
//! (`model_state`). Reads of calendar windows come from here once a model
//! is mirrored; until then, or after a key rotation invalidated it, they
//! are counted from the facts.

use super::{ClickHouseStore, counters::quoted, store_error};
use crate::model::{self, ModelCell, ModelSummary};
use crate::{CounterWindow, PartnerCell, StoreError};
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use skills_domain::indicators::CellCounters;
use skills_domain::read_model::{CellTally, TALLY_COLUMNS};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const CELLS: &str = include_str!("../../sql/clickhouse/model/cells.sql");
const PARTNER_CELLS: &str = include_str!("../../sql/clickhouse/model/partner_cells.sql");

/// Rows per mirror insert: a full mirror after a rebuild is written in
/// parts of this size (each idempotent), a batch's changes in one.
const CELLS_PER_INSERT: usize = 100_000;

/// How long a read reuses the model's state row: it names the last year
/// with stocks and whether the model is valid, which change once a year
/// and at a key rotation; a trend reads two dozen periods.
const STATE_REUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// A state row (None: no model mirrored) and when it was read.
type StateRead = (Instant, Option<MirroredModel>);

/// The last state row read.
#[derive(Clone, Default)]
pub(super) struct StateCache(Arc<Mutex<Option<StateRead>>>);

/// How long an erasure waits for skills-model to take the learners out.
const ERASURE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// One cell's absolute sums at one version; field order is column order.
#[derive(Debug, Row, Serialize, Deserialize)]
pub struct ModelCellRow {
    period: String,
    region: String,
    skill: String,
    version: u64,
    learners: i64,
    enrolled: i64,
    active: i64,
    completed: i64,
    dropped_out: i64,
    certified: i64,
    certified_at_target: i64,
    gain_sum: i64,
    gain_learners: i64,
    enrolled_women: i64,
    enrolled_priority: i64,
    enrolled_rural: i64,
    enrolled_under_26: i64,
    enrolled_jobseekers: i64,
    certified_women: i64,
    certified_priority: i64,
    certified_rural: i64,
    certified_under_26: i64,
    certified_jobseekers: i64,
    openings: i64,
    hard_to_fill: i64,
    postings: i64,
    finishing_months: Vec<i32>,
    finishing_learners: Vec<i64>,
}

impl ModelCellRow {
    fn new(cell: &ModelCell, version: u64) -> Self {
        let v = cell.tally.scalars();
        ModelCellRow {
            period: cell.period.clone(),
            region: cell.region.clone(),
            skill: cell.skill.clone(),
            version,
            learners: v[0],
            enrolled: v[1],
            active: v[2],
            completed: v[3],
            dropped_out: v[4],
            certified: v[5],
            certified_at_target: v[6],
            gain_sum: v[7],
            gain_learners: v[8],
            enrolled_women: v[9],
            enrolled_priority: v[10],
            enrolled_rural: v[11],
            enrolled_under_26: v[12],
            enrolled_jobseekers: v[13],
            certified_women: v[14],
            certified_priority: v[15],
            certified_rural: v[16],
            certified_under_26: v[17],
            certified_jobseekers: v[18],
            openings: v[19],
            hard_to_fill: v[20],
            postings: v[21],
            finishing_months: cell.tally.finishing.keys().copied().collect(),
            finishing_learners: cell.tally.finishing.values().copied().collect(),
        }
    }

    fn tally(&self) -> CellTally {
        let mut tally = CellTally::from_scalars([
            self.learners,
            self.enrolled,
            self.active,
            self.completed,
            self.dropped_out,
            self.certified,
            self.certified_at_target,
            self.gain_sum,
            self.gain_learners,
            self.enrolled_women,
            self.enrolled_priority,
            self.enrolled_rural,
            self.enrolled_under_26,
            self.enrolled_jobseekers,
            self.certified_women,
            self.certified_priority,
            self.certified_rural,
            self.certified_under_26,
            self.certified_jobseekers,
            self.openings,
            self.hard_to_fill,
            self.postings,
        ]);
        tally.finishing = self.finishing_months.iter().copied().zip(self.finishing_learners.iter().copied()).collect();
        tally
    }
}

/// One partner's part of a cell at the cell's version (migration 5): the
/// sums as one array in `TALLY_COLUMNS` order.
#[derive(Debug, Row, Serialize, Deserialize)]
struct PartnerPartRow {
    period: String,
    region: String,
    skill: String,
    partner: String,
    version: u64,
    tallies: Vec<i64>,
    finishing_months: Vec<i32>,
    finishing_learners: Vec<i64>,
}

impl PartnerPartRow {
    fn new(cell: &ModelCell, partner: &str, tally: &CellTally, version: u64) -> Self {
        PartnerPartRow {
            period: cell.period.clone(),
            region: cell.region.clone(),
            skill: cell.skill.clone(),
            partner: partner.to_string(),
            version,
            tallies: tally.scalars().to_vec(),
            finishing_months: tally.finishing.keys().copied().collect(),
            finishing_learners: tally.finishing.values().copied().collect(),
        }
    }
}

/// A part as read (partner_cells.sql).
#[derive(Debug, Row, Deserialize)]
struct PartRead {
    partner: String,
    region: String,
    skill: String,
    tallies: Vec<i64>,
    finishing_months: Vec<i32>,
    finishing_learners: Vec<i64>,
}

impl PartRead {
    fn tally(&self) -> Result<CellTally, StoreError> {
        let scalars: [i64; TALLY_COLUMNS.len()] = self.tallies.as_slice().try_into().map_err(|_| {
            StoreError::schema(format!(
                "model_partner_cells holds {} sums for partner {} in cell {}/{}, not {}",
                self.tallies.len(),
                self.partner,
                self.region,
                self.skill,
                TALLY_COLUMNS.len()
            ))
        })?;
        let mut tally = CellTally::from_scalars(scalars);
        tally.finishing = self.finishing_months.iter().copied().zip(self.finishing_learners.iter().copied()).collect();
        Ok(tally)
    }
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct ModelStateRow {
    name: String,
    version: u64,
    state_id: i64,
    seq: i64,
    last_year: i32,
    erased: u64,
    events: u64,
    written_at: u32,
}

/// Where the mirrored model stands, as the last mirror wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirroredModel {
    pub version: u64,
    /// 0: invalidated (a key rotation renamed learners under it).
    pub state_id: i64,
    pub summary: ModelSummary,
}

impl MirroredModel {
    pub fn is_valid(&self) -> bool {
        self.state_id != 0
    }
}

impl ClickHouseStore {
    /// The newest model_state row, if a model was ever mirrored.
    pub async fn mirrored_model(&self) -> Result<Option<MirroredModel>, StoreError> {
        let rows: Vec<ModelStateRow> = self
            .client
            .query(&format!(
                "SELECT name, version, state_id, seq, last_year, erased, events, toUInt32(written_at) \
                 FROM {}.model_state WHERE name = 'model' ORDER BY version DESC LIMIT 1",
                self.database
            ))
            .fetch_all()
            .await
            .map_err(store_error)?;
        Ok(rows.into_iter().next().map(|row| MirroredModel {
            version: row.version,
            state_id: row.state_id,
            summary: ModelSummary {
                state_id: row.state_id,
                seq: row.seq,
                last_year: (row.last_year > 0).then_some(row.last_year),
                erased: row.erased,
                events: row.events,
            },
        }))
    }

    /// The highest version written to the model (0: none): a new mirror
    /// writes above it, so its rows replace whatever is there.
    pub async fn model_version(&self) -> Result<u64, StoreError> {
        let db = &self.database;
        self.count(&format!(
            "SELECT greatest(greatest((SELECT max(version) FROM {db}.model_cells), \
             (SELECT max(version) FROM {db}.model_state)), (SELECT max(version) FROM {db}.model_partner_cells))"
        ))
        .await
    }

    /// Every cell the model holds a row for (a full mirror writes zeros
    /// for the ones its state no longer has).
    pub async fn model_keys(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        self.client
            .query(&format!("SELECT DISTINCT period, region, skill FROM {}.model_cells", self.database))
            .fetch_all()
            .await
            .map_err(store_error)
    }

    /// Writes the cells' partner parts and then the cells at `version`,
    /// then the state row: a crash in between leaves rows newer than the
    /// state says, which the next mirror writes again, at a higher version,
    /// with the same sums (parts are read at their cell's newest version).
    pub async fn write_model(
        &self,
        cells: &[ModelCell],
        version: u64,
        summary: &ModelSummary,
    ) -> Result<(), StoreError> {
        // Plain loops: a lazy iterator held across the inserts would make
        // this future not Send.
        let mut rows = Vec::new();
        for cell in cells {
            for (partner, tally) in &cell.partners {
                rows.push(PartnerPartRow::new(cell, partner, tally, version));
            }
            if rows.len() >= CELLS_PER_INSERT {
                self.insert("model_partner_cells", &rows).await?;
                rows.clear();
            }
        }
        if !rows.is_empty() {
            self.insert("model_partner_cells", &rows).await?;
        }
        for chunk in cells.chunks(CELLS_PER_INSERT) {
            let rows: Vec<ModelCellRow> = chunk.iter().map(|cell| ModelCellRow::new(cell, version)).collect();
            self.insert("model_cells", &rows).await?;
        }
        self.write_state(version, summary.state_id, summary).await
    }

    /// Marks the model invalid (a key rotation renamed the learners its
    /// state holds): reads count from the facts until skills-model has
    /// rebuilt its state and mirrored it again.
    pub async fn invalidate_model(&self) -> Result<(), StoreError> {
        let Some(current) = self.mirrored_model().await? else { return Ok(()) };
        let version = self.model_version().await?.max(current.version) + 1;
        self.write_state(version, 0, &current.summary).await
    }

    async fn write_state(&self, version: u64, state_id: i64, summary: &ModelSummary) -> Result<(), StoreError> {
        let written_at = super::rows::seconds(chrono::Utc::now().timestamp());
        let row = ModelStateRow {
            name: "model".into(),
            version,
            state_id,
            seq: summary.seq,
            last_year: summary.last_year.unwrap_or(0),
            erased: summary.erased,
            events: summary.events,
            written_at,
        };
        self.insert("model_state", &[row]).await
    }

    /// Counters of a calendar window from the mirrored model; None when
    /// there is no valid model or the window is one it does not answer.
    pub(super) async fn model_counters(&self, window: &CounterWindow) -> Result<Option<Vec<CellCounters>>, StoreError> {
        let Some((period, horizon_month)) = model::model_window(window) else { return Ok(None) };
        let Some(mirrored) = self.recent_model_state().await?.filter(MirroredModel::is_valid) else {
            return Ok(None);
        };
        let Some(last_year) = mirrored.summary.last_year else { return Ok(Some(Vec::new())) };
        let (source, stock_only) = model::model_source(period, last_year);
        let sql = self.model_query(CELLS, &source.to_string(), window);
        let rows: Vec<ModelCellRow> = self.client.query(&sql).fetch_all().await.map_err(store_error)?;
        Ok(Some(
            rows.into_iter()
                .filter_map(|row| model::served(&row.region, &row.skill, row.tally(), stock_only, horizon_month))
                .collect(),
        ))
    }

    /// Each partner's part of a calendar window's cells from the mirrored
    /// model (every partner's, or one's); None when there is no valid model
    /// or the window is one it does not answer, as for `model_counters`.
    pub(super) async fn model_partner_counters(
        &self,
        window: &CounterWindow,
        partner: Option<&str>,
    ) -> Result<Option<Vec<PartnerCell>>, StoreError> {
        let Some((period, horizon_month)) = model::model_window(window) else { return Ok(None) };
        let Some(mirrored) = self.recent_model_state().await?.filter(MirroredModel::is_valid) else {
            return Ok(None);
        };
        let Some(last_year) = mirrored.summary.last_year else { return Ok(Some(Vec::new())) };
        let (source, stock_only) = model::model_source(period, last_year);
        let sql = self
            .model_query(PARTNER_CELLS, &source.to_string(), window)
            .replace("{partner_filter}", &partner.map_or("1".to_string(), |p| format!("partner = {}", quoted(p))));
        let rows: Vec<PartRead> = self.client.query(&sql).fetch_all().await.map_err(store_error)?;
        let mut parts = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(counters) = model::served(&row.region, &row.skill, row.tally()?, stock_only, horizon_month) {
                parts.push(PartnerCell { partner: row.partner, counters });
            }
        }
        Ok(Some(parts))
    }

    /// A model query with its period, cell kind and filters filled in.
    fn model_query(&self, template: &str, period: &str, window: &CounterWindow) -> String {
        let filter = |column: &str, value: &Option<String>| match value {
            Some(value) => format!("{column} = {}", quoted(value)),
            None => "1".to_string(),
        };
        template
            .replace("{db}", &self.database)
            .replace("{period}", &quoted(period))
            .replace("{skill_test}", if window.by_skill { "skill != '*'" } else { "skill = '*'" })
            .replace("{region_filter}", &filter("region", &window.region))
            .replace("{skill_filter}", &filter("skill", &window.skill))
    }

    /// The state row as read within the last second, else read now.
    async fn recent_model_state(&self) -> Result<Option<MirroredModel>, StoreError> {
        let cached = *self.model_state.0.lock().expect("state cache lock");
        if let Some((read_at, state)) = cached
            && read_at.elapsed() < STATE_REUSE
        {
            return Ok(state);
        }
        let state = self.mirrored_model().await?;
        *self.model_state.0.lock().expect("state cache lock") = Some((Instant::now(), state));
        Ok(state)
    }

    /// After an erasure: waits until the mirrored model has taken out
    /// every erased learner, when a model is mirrored at all.
    pub(super) async fn wait_for_model_erasures(&self) -> Result<(), StoreError> {
        let erased = self.erased_count().await?;
        let deadline = std::time::Instant::now() + ERASURE_WAIT;
        loop {
            match self.mirrored_model().await? {
                Some(model) if model.is_valid() && model.summary.erased < erased => {}
                _ => return Ok(()),
            }
            if std::time::Instant::now() > deadline {
                return Err(StoreError::unavailable(format!(
                    "skills-model has not taken the erased learners out of the mirrored model within {} s: \
                     their facts are deleted, and the served figures drop them once skills-model runs",
                    ERASURE_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

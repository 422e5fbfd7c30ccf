//! Indicators per period, computed from store counters by the domain
//! formulas and cached per data version. Dashboards polling the same
//! period hit the cache, not the store; when new data lands, the periods
//! read recently are computed again before the cache moves to the new
//! version (see `cache`), and policy callers are moved to it as soon as
//! they are read (`IndicatorEngine::refresh`). The first caller of a period starts its
//! computation in a task of its own, concurrent callers wait for that
//! result, and a caller that gives up (deadline, disconnect) leaves it to
//! finish for the next one.

use chrono::{Duration, Utc};
use skills_domain::Period;
use skills_domain::disclosure::hierarchy::{ALL, FigureKey, YearCounters, national};
use skills_domain::disclosure::publication::Publication;
use skills_domain::indicators::{
    CellCounters, CellIndicators, Hidden, IndicatorSettings, PartnerCell, PublishedCell, is_complete, period_cells,
    publish_withheld, quintile_scores,
};
use skills_store::{CounterWindow, MetricsStore, StoreError, StoreStatus};
use std::collections::{HashMap, HashSet};
mod cache;
mod refresh;

pub use cache::Lane;
use cache::{Cache, Entry, Key, Scope, filled};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;

/// Why the engine could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The caller's lane had no turn free in time: retry later.
    #[error("indicators for this audience are being computed already, retry in {} ms", retry_after.as_millis())]
    Busy { retry_after: std::time::Duration },
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        EngineError::Store(Arc::new(error))
    }
}

/// Every cell of one period with data, with shortage scores, and which of
/// them the year's publication withholds from audiences with suppression
/// (see `skills_domain::disclosure`).
#[derive(Debug)]
pub struct PeriodCells {
    pub period: Period,
    pub cells: Vec<CellIndicators>,
    /// The country's figure per skill (the sum of its regions).
    pub national: Vec<CellIndicators>,
    pub status: StoreStatus,
    pub complete: bool,
    /// Built before the year's publication was decided (for policy
    /// callers, who are served everything): withheld whole from any other.
    undecided: bool,
    /// What is hidden of the cells withheld under the configured k, by
    /// region (`ALL` for the country) then skill, looked up by &str on
    /// every served cell.
    withheld: HashMap<String, HashMap<String, Hidden>>,
    /// Where each cell is in `cells`, by region then skill: a served region
    /// looks up its 21 cells (a scan per cell was a third of a cached
    /// call's CPU).
    positions: HashMap<String, HashMap<String, usize>>,
    /// Shortage scores as audiences with suppression get them, by position
    /// in `cells`: quintiles over the cells they see in full only, so that
    /// no score depends on a withheld cell's ratio.
    shown_scores: Vec<Option<u8>>,
    /// Each partner's part of the cells and of the country's figures, by
    /// partner, then region (`ALL` for the country) and skill.
    own: HashMap<String, HashMap<(String, String), CellCounters>>,
}

/// What the year's publication hides of a cell (nothing when it is shown).
fn withheld_of(withheld: &HashMap<String, HashMap<String, Hidden>>, cell: &CellIndicators) -> Hidden {
    let skill = cell.skill.as_deref().unwrap_or(ALL);
    withheld.get(&cell.region).and_then(|skills| skills.get(skill)).copied().unwrap_or_default()
}

/// Each partner's parts by partner, then (region, skill); with `national`,
/// the country's figure per skill too (the sum of the partner's regions).
fn own_parts(parts: Vec<PartnerCell>, national: bool) -> HashMap<String, HashMap<(String, String), CellCounters>> {
    let mut by_partner: HashMap<String, Vec<CellCounters>> = HashMap::new();
    for part in parts {
        by_partner.entry(part.partner).or_default().push(part.counters);
    }
    by_partner
        .into_iter()
        .map(|(partner, cells)| {
            let country = if national { skills_domain::disclosure::hierarchy::national(&cells) } else { Vec::new() };
            let keyed = cells
                .into_iter()
                .chain(country)
                .map(|c| ((c.region.clone(), c.skill.clone().unwrap_or_else(|| ALL.to_string())), c))
                .collect();
            (partner, keyed)
        })
        .collect()
}

impl PeriodCells {
    fn new(
        period: Period,
        counters: &[CellCounters],
        parts: Vec<PartnerCell>,
        status: StoreStatus,
        complete: bool,
        publication: Option<&Publication>,
    ) -> PeriodCells {
        let cells = period_cells(counters);
        let national: Vec<CellIndicators> = national(counters).iter().map(CellIndicators::from_counters).collect();
        let mut positions: HashMap<String, HashMap<String, usize>> = HashMap::new();
        let mut withheld: HashMap<String, HashMap<String, Hidden>> = HashMap::new();
        for (index, cell) in cells.iter().enumerate() {
            if let Some(skill) = &cell.skill {
                positions.entry(cell.region.clone()).or_default().insert(skill.clone(), index);
            }
        }
        for (publication, cell) in publication.iter().flat_map(|p| cells.iter().chain(&national).map(move |c| (p, c))) {
            let skill = cell.skill.as_deref().unwrap_or(ALL);
            let [flows, stocks, _] = publication.hidden(&FigureKey::cell(period, &cell.region, skill));
            if flows || stocks {
                withheld.entry(cell.region.clone()).or_default().insert(skill.to_string(), Hidden { flows, stocks });
            }
        }
        let shown_ratios: Vec<Option<f64>> = cells
            .iter()
            .map(|cell| (!withheld_of(&withheld, cell).any() && cell.openings > 0).then_some(cell.shortage_ratio))
            .collect();
        let shown_scores = quintile_scores(&shown_ratios);
        let own = own_parts(parts, true);
        let undecided = publication.is_none();
        PeriodCells { period, cells, national, status, complete, undecided, withheld, positions, shown_scores, own }
    }

    /// A partner's own part of a cell (region `ALL`: of the country's
    /// figure); None where it has no learner or posting.
    pub fn own(&self, partner: &str, region: &str, skill: &str) -> Option<&CellCounters> {
        self.own.get(partner)?.get(&(region.to_string(), skill.to_string()))
    }

    pub fn cell(&self, region: &str, skill: &str) -> Option<&CellIndicators> {
        let index = *self.positions.get(region)?.get(skill)?;
        self.cells.get(index)
    }

    /// Which of this cell's learner values are withheld from a caller
    /// whose k is `k` (0 for policy, else the configured k).
    pub fn hidden(&self, cell: &CellIndicators, k: u32) -> Hidden {
        match (k, self.undecided) {
            (0, _) => Hidden::NONE,
            // Never served to such a caller (`IndicatorEngine::early`); if
            // it were, it would show nothing rather than too much.
            (_, true) => Hidden::ALL,
            (_, false) => withheld_of(&self.withheld, cell),
        }
    }

    /// Whether any of this cell's learner values is withheld.
    pub fn withholds(&self, cell: &CellIndicators, k: u32) -> bool {
        self.hidden(cell, k).any()
    }

    /// The cell as served to a caller whose k is `k`.
    pub fn publish(&self, cell: &CellIndicators, k: u32) -> PublishedCell {
        let mut published = publish_withheld(cell, self.hidden(cell, k));
        if k > 0 {
            let position = cell.skill.as_deref().and_then(|skill| self.positions.get(&cell.region)?.get(skill));
            let shown_score = position.and_then(|&index| self.shown_scores.get(index).copied().flatten());
            published.shortage_score = published.shortage_score.and(shown_score);
        }
        published
    }
}

/// Whole-region counters of one period (learners counted once across
/// skills), with the year's decisions on each total and inclusion group.
#[derive(Debug)]
pub struct PeriodRegions {
    pub period: Period,
    pub regions: Vec<CellCounters>,
    pub status: StoreStatus,
    pub complete: bool,
    /// As `PeriodCells::undecided`: withheld whole from callers with a k.
    undecided: bool,
    withheld_totals: HashSet<String>,
    withheld_groups: HashSet<(String, usize)>,
    own: HashMap<String, HashMap<(String, String), CellCounters>>,
}

impl PeriodRegions {
    fn new(
        period: Period,
        regions: Vec<CellCounters>,
        parts: Vec<PartnerCell>,
        status: StoreStatus,
        complete: bool,
        publication: Option<&Publication>,
    ) -> PeriodRegions {
        let undecided = publication.is_none();
        let mut withheld_totals = HashSet::new();
        let mut withheld_groups = HashSet::new();
        for (publication, row) in publication.iter().flat_map(|p| regions.iter().map(move |row| (p, row))) {
            if publication.withholds_total(period, &row.region) {
                withheld_totals.insert(row.region.clone());
            }
            for group in 0..skills_domain::indicators::INCLUSION_GROUPS.len() {
                if publication.withholds(&FigureKey::group(period, &row.region, group)) {
                    withheld_groups.insert((row.region.clone(), group));
                }
            }
        }
        let own = own_parts(parts, false);
        PeriodRegions { period, regions, status, complete, undecided, withheld_totals, withheld_groups, own }
    }

    /// A partner's own part of a region's total; None where it has none.
    pub fn own(&self, partner: &str, region: &str) -> Option<&CellCounters> {
        self.own.get(partner)?.get(&(region.to_string(), ALL.to_string()))
    }

    /// Whether the region's total is withheld from a caller whose k is `k`.
    pub fn withholds_total(&self, region: &str, k: u32) -> bool {
        k > 0 && (self.undecided || self.withheld_totals.contains(region))
    }

    /// Whether a group's shares in the region are withheld.
    pub fn withholds_group(&self, region: &str, group: usize, k: u32) -> bool {
        k > 0 && (self.undecided || self.withheld_groups.contains(&(region.to_string(), group)))
    }
}

/// One year's periods and the publication they were decided by (for an
/// undecided year, served to policy callers only: none, and every period
/// withholds everything from other callers).
#[derive(Debug)]
pub struct YearSnapshot {
    /// None for an undecided year.
    pub publication: Option<Arc<Publication>>,
    cells: HashMap<Period, Arc<PeriodCells>>,
    regions: HashMap<Period, Arc<PeriodRegions>>,
}

pub struct IndicatorEngine {
    store: Arc<dyn MetricsStore>,
    settings: IndicatorSettings,
    cache: Mutex<Cache>,
    status: watch::Sender<StoreStatus>,
    /// Whether the last status refresh reached the store (health checks).
    reachable: std::sync::atomic::AtomicBool,
    caching: bool,
    /// With the cache off: each year's decisions, kept per data version (a
    /// call still reads its own period from the store; deciding the year
    /// reads all 34 of its windows).
    decisions: Mutex<HashMap<i32, (u64, Arc<YearSnapshot>)>>,
    /// The last publication decided for each year, with the counters it
    /// was decided on. A publication is a function of its year's counters
    /// alone, so a year whose counters are unchanged when the data version
    /// moves (events of another year) keeps it: seconds of CPU saved on
    /// every refresh of a year nobody wrote to.
    decided: Mutex<HashMap<i32, (YearCounters, Arc<Publication>)>>,
    /// A refresh's stages, each one at a time (`refresh`).
    reading: tokio::sync::Mutex<()>,
    deciding: tokio::sync::Mutex<()>,
    /// The last read sequence whose version (or a newer one) everyone is
    /// served (`refresh`).
    settled: watch::Sender<u64>,
    pending: Mutex<Option<refresh::Pending>>,
    /// The store status policy callers are served (`subscribe`): ahead of
    /// `status` between a refresh's two stages.
    policy_status: watch::Sender<StoreStatus>,
    /// The last read sequence whose version's swap was made (`refresh`).
    swapped: std::sync::atomic::AtomicU64,
    /// See `hold_decisions`.
    decision_gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
}

/// Years whose last publication is kept (`IndicatorEngine::decided`).
const DECIDED_YEARS: usize = 8;

impl IndicatorEngine {
    pub async fn new(store: Arc<dyn MetricsStore>, settings: IndicatorSettings) -> Result<Arc<Self>, StoreError> {
        Self::with_cache(store, settings, true).await
    }

    /// `cache: false` computes every call from the store (for measuring
    /// what the cache saves, and for debugging).
    pub async fn with_cache(
        store: Arc<dyn MetricsStore>,
        settings: IndicatorSettings,
        cache: bool,
    ) -> Result<Arc<Self>, StoreError> {
        let status = store.status().await?;
        Ok(Arc::new(IndicatorEngine {
            store,
            settings,
            cache: Mutex::new(Cache::new(status.version)),
            policy_status: watch::channel(status.clone()).0,
            status: watch::channel(status).0,
            reachable: std::sync::atomic::AtomicBool::new(true),
            caching: cache,
            decisions: Mutex::new(HashMap::new()),
            decided: Mutex::new(HashMap::new()),
            reading: tokio::sync::Mutex::new(()),
            deciding: tokio::sync::Mutex::new(()),
            settled: watch::channel(0).0,
            pending: Mutex::new(None),
            decision_gate: Mutex::new(None),
            swapped: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// Whether the store answered the last status refresh.
    pub fn store_reachable(&self) -> bool {
        self.reachable.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What the store holds, and its dead letters per reason (not cached:
    /// an operator's question, asked rarely).
    pub async fn pipeline_status(&self) -> Result<(StoreStatus, Vec<(String, u64)>), StoreError> {
        let status = self.store.status().await?;
        let reasons = self.store.dead_letter_reasons().await?;
        Ok((status, reasons))
    }

    /// A partner's status, with the store's status for the pipeline's
    /// freshness.
    pub async fn partner_status(
        &self,
        partner: &str,
    ) -> Result<(skills_store::PartnerStatus, StoreStatus), StoreError> {
        let (own, all) = tokio::try_join!(self.store.partner_status(partner), self.store.quick_status())?;
        Ok((own, all))
    }

    pub fn settings(&self) -> &IndicatorSettings {
        &self.settings
    }

    /// The store status served to callers with a k (policy callers may be
    /// a refresh ahead: `subscribe`).
    pub fn status(&self) -> StoreStatus {
        self.status.borrow().clone()
    }

    /// Changes whenever the data version served to a caller whose k is
    /// `k` does: for policy callers (k = 0) as soon as a refresh has read
    /// the new version, for everyone else once it has decided what to
    /// withhold from it (`refresh`).
    pub fn subscribe(&self, k: u32) -> watch::Receiver<StoreStatus> {
        match k {
            0 => self.policy_status.subscribe(),
            _ => self.status.subscribe(),
        }
    }

    /// The slot of `key` in `scope`: the engine's cache, or, with the
    /// cache off, the call's memo (one call reading a period twice, as a
    /// trend's months share their siblings, reads the store once). With
    /// the store status its computation reports, taken under the cache
    /// lock, as a refresh swaps both under it: a slot of a new version is
    /// never filled with the previous version's status.
    fn slot(&self, key: Key, scope: &Scope) -> (cache::Slot, StoreStatus) {
        if !self.caching {
            return (Scope::memo_slot(&scope.memo, key), self.status());
        }
        let mut cache = self.cache.lock().expect("cache lock");
        if scope.lane.keep_hot {
            cache.last_read.insert(key, Instant::now());
        }
        (cache.entries.entry(key).or_default().clone(), self.status())
    }

    /// A year a refresh has read but not yet decided, for a caller whose
    /// k is `k`: only policy callers (k = 0) are served such a year.
    fn early(&self, year: i32, k: u32, scope: &Scope) -> Option<Arc<YearSnapshot>> {
        if k > 0 || !self.caching {
            return None;
        }
        let mut cache = self.cache.lock().expect("cache lock");
        let Some(snapshot) = cache.early.get(&year).cloned() else {
            // Served from `entries`, maybe the old version's.
            cache.policy_fell_behind |= cache.policy_ahead;
            return None;
        };
        if scope.lane.keep_hot {
            cache.last_read.insert(Key::Year(year), Instant::now());
        }
        Some(snapshot)
    }

    fn window(&self, period: Period, by_skill: bool) -> CounterWindow {
        CounterWindow::of_period(period, self.settings.pipeline_horizon_months, by_skill)
    }

    /// The period of a request without one: the latest complete year
    /// with data (`skills_domain::indicators::default_year`).
    pub fn default_period(&self) -> Period {
        let status = self.status();
        let allowance = Duration::days(i64::from(self.settings.late_allowance_days));
        skills_domain::indicators::default_year(status.oldest_event, status.newest_event, allowance, Utc::now())
    }

    fn complete(&self, period: Period) -> bool {
        is_complete(period.end(), Duration::days(i64::from(self.settings.late_allowance_days)), Utc::now())
    }

    /// A year's counters, its publication and its periods: the 17 periods'
    /// cells and whole-region rows are read side by side, and suppression
    /// is decided over all of them at once.
    async fn year_in(self: &Arc<Self>, year: i32, scope: &Scope) -> Result<Arc<YearSnapshot>, EngineError> {
        let engine = self.clone();
        let (slot, status) = self.slot(Key::Year(year), scope);
        if !has_data(year, &status) {
            // Computed without the store, so without a turn in a lane; kept
            // like any year, as a flood of such periods would redo it.
            // On the low-priority runtime: even an empty year's publication
            // is milliseconds of CPU, which a flood of such years would
            // take from every cached call.
            let empty = async move {
                let empty = move || engine.year_of(year, YearCounters::default(), status);
                let snapshot = tokio::task::spawn_blocking(empty)
                    .await
                    .map_err(|e| StoreError::unavailable(format!("suppression task failed: {e}")))?;
                Ok(Entry::Year(Arc::new(snapshot)))
            };
            let entry = filled(slot, &Lane::storeless(), empty).await?;
            let Entry::Year(snapshot) = &*entry;
            return Ok(snapshot.clone());
        }
        let lane = scope.lane.clone();
        let background = lane.background;
        let watched = slot.clone();
        let entry = filled(slot, &lane, async move {
            let started = Instant::now();
            let counters = engine.read_year(year, &status, background.then_some(watched)).await?;
            let read_ms = started.elapsed().as_millis() as u64;
            // Background work runs on its own low-priority runtime
            // (`cache::filled`), whose blocking threads are low-priority too.
            let snapshot = engine.decide_year(year, counters, status).await?;
            let decide_ms = started.elapsed().as_millis() as u64 - read_ms;
            tracing::info!(year, read_ms, decide_ms, background, refresh = false, "year computed");
            Ok(Entry::Year(Arc::new(snapshot)))
        })
        .await?;
        let Entry::Year(snapshot) = &*entry;
        Ok(snapshot.clone())
    }

    /// A year's counters as of `status` (none for a year without data).
    /// In the foreground (`background: None`) the 34 reads run side by
    /// side; in the background one at a time, paced to half the time and
    /// at a lower store priority, until a foreground caller comes to wait
    /// for the background slot: the reads still queued then go side by side.
    async fn read_year(
        self: &Arc<Self>,
        year: i32,
        status: &StoreStatus,
        background: Option<cache::Slot>,
    ) -> Result<YearCounters, StoreError> {
        if !has_data(year, status) {
            return Ok(YearCounters::default());
        }
        let periods = Period::all_of_year(year);
        let one_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
        let reads: Vec<_> = periods
            .iter()
            .flat_map(|period| [(*period, true), (*period, false)])
            .map(|(period, by_skill)| {
                let engine = self.clone();
                let one_at_a_time = one_at_a_time.clone();
                let watched = background.clone();
                tokio::spawn(async move {
                    let turn = match watched {
                        Some(watched) => Some(one_at_a_time.lock_owned().await).filter(|_| !watched.urgent()),
                        None => None,
                    };
                    let quiet = turn.is_some();
                    let started = Instant::now();
                    let window = engine.window(period, by_skill);
                    let read = async {
                        let cells = engine.store.counters(&window).await?;
                        let parts = engine.store.partner_counters(&window, None).await?;
                        Ok::<_, StoreError>((cells, parts.unwrap_or_default()))
                    };
                    let read = match quiet {
                        true => skills_store::background::scope(read).await?,
                        false => read.await?,
                    };
                    if quiet {
                        // Paced: the store is busy for this work at most
                        // half of the time, however many reads it makes.
                        tokio::time::sleep(started.elapsed()).await;
                    }
                    Ok::<_, StoreError>(read)
                })
            })
            .collect();
        let mut counters = YearCounters::default();
        let mut reads = reads.into_iter();
        for period in &periods {
            for (target, partners) in [
                (&mut counters.cells, &mut counters.partner_cells),
                (&mut counters.regions, &mut counters.partner_regions),
            ] {
                let read = reads.next().expect("two reads per period");
                let (rows, parts) =
                    read.await.map_err(|e| StoreError::unavailable(format!("read task failed: {e}")))??;
                target.insert(*period, rows);
                partners.insert(*period, parts);
            }
        }
        Ok(counters)
    }

    /// A year's publication and periods, decided off the async workers:
    /// seconds of CPU for a full year (demo 2025: about 4 s on two cores,
    /// a pass per partner on each).
    async fn decide_year(
        self: &Arc<Self>,
        year: i32,
        counters: YearCounters,
        status: StoreStatus,
    ) -> Result<YearSnapshot, StoreError> {
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.year_of(year, counters, status))
            .await
            .map_err(|e| StoreError::unavailable(format!("suppression task failed: {e}")))
    }

    /// A year's publication: the one last decided when its counters are
    /// the same, else decided now (seconds of CPU for a full year).
    fn publication_of(&self, year: i32, counters: &YearCounters) -> Arc<Publication> {
        // A year without counters costs nothing to decide: not kept, so a
        // walk through empty years does not push out the years being read.
        if *counters == YearCounters::default() {
            return Arc::new(Publication::of_year(year, counters, self.settings.suppression_k));
        }
        let decided = self.decided.lock().expect("decided lock");
        if let Some((_, publication)) = decided.get(&year).filter(|(seen, _)| seen == counters) {
            tracing::debug!(year, "counters unchanged: publication kept");
            return publication.clone();
        }
        drop(decided);
        let publication = Arc::new(Publication::of_year(year, counters, self.settings.suppression_k));
        let mut decided = self.decided.lock().expect("decided lock");
        if decided.len() >= DECIDED_YEARS && !decided.contains_key(&year) {
            // The oldest year goes: the recent ones are those read live.
            if let Some(oldest) = decided.keys().min().copied() {
                decided.remove(&oldest);
            }
        }
        decided.insert(year, (counters.clone(), publication.clone()));
        publication
    }

    /// A year's publication and periods from its counters.
    fn year_of(&self, year: i32, counters: YearCounters, status: StoreStatus) -> YearSnapshot {
        let publication = self.publication_of(year, &counters);
        self.periods_of(year, counters, status, Some(publication))
    }

    /// A year's periods before its publication is decided: for policy
    /// callers only, whose answers withhold nothing. Every period is
    /// marked undecided, so that any other caller would get it withheld
    /// whole (fail closed).
    fn undecided_year(&self, year: i32, counters: YearCounters, status: StoreStatus) -> YearSnapshot {
        self.periods_of(year, counters, status, None)
    }

    fn periods_of(
        &self,
        year: i32,
        mut counters: YearCounters,
        status: StoreStatus,
        publication: Option<Arc<Publication>>,
    ) -> YearSnapshot {
        let mut snapshot = YearSnapshot { publication, cells: HashMap::new(), regions: HashMap::new() };
        for period in Period::all_of_year(year) {
            let complete = self.complete(period);
            let cells = counters.cells.remove(&period).unwrap_or_default();
            let regions = counters.regions.remove(&period).unwrap_or_default();
            let cell_parts = counters.partner_cells.remove(&period).unwrap_or_default();
            let region_parts = counters.partner_regions.remove(&period).unwrap_or_default();
            let publication = snapshot.publication.as_deref();
            let period_cells = PeriodCells::new(period, &cells, cell_parts, status.clone(), complete, publication);
            let period_regions =
                PeriodRegions::new(period, regions, region_parts, status.clone(), complete, publication);
            snapshot.cells.insert(period, Arc::new(period_cells));
            snapshot.regions.insert(period, Arc::new(period_regions));
        }
        snapshot
    }

    /// The cells of a period with their suppression decisions, taken over
    /// the whole year so that every call agrees, for a caller whose k is
    /// `k` (0 for policy: served a new data version before its
    /// publication is decided, see `refresh`). A miss takes a turn in `lane`.
    pub async fn cells(self: &Arc<Self>, period: Period, lane: &Lane, k: u32) -> Result<Arc<PeriodCells>, EngineError> {
        self.cells_in(period, &Scope::call(lane), k).await
    }

    /// The cells of several periods (a trend), each year read once.
    pub async fn cells_of(
        self: &Arc<Self>,
        periods: &[Period],
        lane: &Lane,
        k: u32,
    ) -> Result<Vec<Arc<PeriodCells>>, EngineError> {
        let scope = Scope::call(lane);
        let mut all = Vec::with_capacity(periods.len());
        for period in periods {
            all.push(self.cells_in(*period, &scope, k).await?);
        }
        Ok(all)
    }

    async fn cells_in(
        self: &Arc<Self>,
        period: Period,
        scope: &Scope,
        k: u32,
    ) -> Result<Arc<PeriodCells>, EngineError> {
        if !self.caching {
            let year = self.decided_for(period.year(), scope, k).await?;
            let window = self.window(period, true);
            let counters = self.store.counters(&window).await?;
            let parts = self.store.partner_counters(&window, None).await?.unwrap_or_default();
            let (status, complete) = (self.status(), self.complete(period));
            let publication = year.as_deref().and_then(|year| year.publication.as_deref());
            let cells = PeriodCells::new(period, &counters, parts, status, complete, publication);
            return Ok(Arc::new(cells));
        }
        let year = match self.early(period.year(), k, scope) {
            Some(year) => year,
            None => self.year_in(period.year(), scope).await?,
        };
        Ok(year.cells[&period].clone())
    }

    /// A period's whole-region rows, for a caller whose k is `k` (as `cells`).
    pub async fn regions(
        self: &Arc<Self>,
        period: Period,
        lane: &Lane,
        k: u32,
    ) -> Result<Arc<PeriodRegions>, EngineError> {
        let scope = Scope::call(lane);
        if !self.caching {
            let year = self.decided_for(period.year(), &scope, k).await?;
            let window = self.window(period, false);
            let rows = self.store.counters(&window).await?;
            let parts = self.store.partner_counters(&window, None).await?.unwrap_or_default();
            let (status, complete) = (self.status(), self.complete(period));
            let publication = year.as_deref().and_then(|year| year.publication.as_deref());
            let regions = PeriodRegions::new(period, rows, parts, status, complete, publication);
            return Ok(Arc::new(regions));
        }
        let year = match self.early(period.year(), k, &scope) {
            Some(year) => year,
            None => self.year_in(period.year(), &scope).await?,
        };
        Ok(year.regions[&period].clone())
    }

    /// With the cache off, the year's decisions for a caller whose k is
    /// `k`: none for policy (nothing is withheld from it), else those for
    /// the current data version, computed once per version.
    async fn decided_for(
        self: &Arc<Self>,
        year: i32,
        scope: &Scope,
        k: u32,
    ) -> Result<Option<Arc<YearSnapshot>>, EngineError> {
        if k == 0 {
            return Ok(None);
        }
        let version = self.status().version;
        if let Some((seen, snapshot)) = self.decisions.lock().expect("decisions lock").get(&year)
            && *seen == version
        {
            return Ok(Some(snapshot.clone()));
        }
        let snapshot = self.year_in(year, scope).await?;
        self.decisions.lock().expect("decisions lock").insert(year, (version, snapshot.clone()));
        Ok(Some(snapshot))
    }

    /// The year's publication (for the disclosure audit): always decided.
    pub async fn year(self: &Arc<Self>, year: i32) -> Result<Arc<YearSnapshot>, EngineError> {
        self.year_in(year, &Scope::call(&Lane::unbounded())).await
    }
}

/// Whether anything can count in `year`: not when it ends before the
/// oldest counted event (every figure counts events before the period's
/// end), nor when it starts after both now and the newest event (a period
/// that has not started has no figures; METHODOLOGY.md). Such years are
/// answered at once, without a store read or a turn in a lane.
fn has_data(year: i32, status: &StoreStatus) -> bool {
    let period = Period::Year(year);
    let Some(oldest) = status.oldest_event else { return false };
    let latest = status.newest_event.map_or_else(Utc::now, |newest| newest.max(Utc::now()));
    period.end() > oldest && period.start() <= latest
}

#[cfg(test)]
mod tests {
    use super::*;
    use skills_domain::disclosure::hierarchy::YearCounters;
    use skills_domain::indicators::{DemandCounters, SupplyCounters};

    fn cell(region: &str, skill: Option<&str>, learners: u64, certified: u64, openings: u64) -> CellCounters {
        CellCounters {
            region: region.into(),
            skill: skill.map(str::to_string),
            supply: SupplyCounters {
                learners,
                enrolled: learners,
                certified_at_target: certified,
                ..Default::default()
            },
            demand: DemandCounters { openings, hard_to_fill: 0 },
        }
    }

    #[test]
    fn years_without_data_are_those_before_the_oldest_event_or_not_started() {
        let at = |text: &str| Some(text.parse().unwrap());
        let status = StoreStatus {
            oldest_event: at("2024-10-01T00:00:00Z"),
            newest_event: at("2025-06-30T00:00:00Z"),
            ..Default::default()
        };
        assert!(!has_data(2023, &status), "ends before the oldest event");
        assert!(has_data(2024, &status) && has_data(2025, &status));
        let this_year = chrono::Datelike::year(&Utc::now());
        assert!(has_data(this_year, &status), "started: its stocks are measured");
        assert!(!has_data(this_year + 1, &status), "not started");
        let replayed = StoreStatus { newest_event: at("2090-03-01T00:00:00Z"), ..status.clone() };
        assert!(has_data(2090, &replayed), "events dated in it");
        assert!(!has_data(2025, &StoreStatus::default()), "an empty store has no data");
    }

    /// Skill 3.4's cells and the regions' totals from (region, learners,
    /// certified, openings), the same in January 2025, its quarter and its
    /// year, and the year's publication under k = 11.
    fn january_2025(rows: &[(&str, u64, u64, u64)]) -> (Vec<CellCounters>, Vec<CellCounters>, Publication) {
        let cells: Vec<CellCounters> = rows.iter().map(|(r, l, c, o)| cell(r, Some("3.4"), *l, *c, *o)).collect();
        let regions: Vec<CellCounters> = rows.iter().map(|(r, l, c, _)| cell(r, None, *l, *c, 0)).collect();
        let mut year = YearCounters::default();
        for period in [Period::Month(2025, 1), Period::Quarter(2025, 1), Period::Year(2025)] {
            year.cells.insert(period, cells.clone());
            year.regions.insert(period, regions.clone());
        }
        (cells, regions, Publication::of_year(2025, &year, 11))
    }

    /// A withheld cell's shortage ratio must not move the scores shown next
    /// to it: audiences with suppression get quintiles over what they see.
    #[test]
    fn shown_scores_do_not_depend_on_withheld_cells() {
        // (region, learners, certified, openings): 84 is small, and has the
        // lowest ratio (1 / 3).
        let rows = [("11", 40, 5, 10), ("84", 3, 3, 1), ("93", 40, 5, 30), ("53", 40, 5, 40), ("32", 40, 5, 60)];
        let (cells, _, publication) = january_2025(&rows);
        let period = Period::Month(2025, 1);
        let snapshot = PeriodCells::new(period, &cells, Vec::new(), StoreStatus::default(), true, Some(&publication));
        let shown: Vec<&CellIndicators> = snapshot.cells.iter().filter(|c| !snapshot.withholds(c, 11)).collect();
        assert!(snapshot.withholds(snapshot.cell("84", "3.4").unwrap(), 11), "3 learners: small");
        assert!(shown.len() >= 2, "most cells are shown");
        let expected = quintile_scores(&shown.iter().map(|c| Some(c.shortage_ratio)).collect::<Vec<_>>());
        let mut differs = false;
        for (c, score) in shown.iter().zip(expected) {
            assert_eq!(snapshot.publish(c, 11).shortage_score, score, "{} among the shown cells", c.region);
            differs |= snapshot.publish(c, 0).shortage_score != score;
        }
        assert!(differs, "the policy view ranks the withheld cell too");
    }

    /// Between a refresh's two stages policy callers are served periods
    /// built without a publication: what they see must be what the decided
    /// periods show them, and any other caller would be shown nothing.
    #[test]
    fn undecided_periods_serve_policy_the_same_and_everyone_else_nothing() {
        let rows = [("11", 40, 5, 10), ("84", 3, 3, 1), ("93", 40, 5, 30), ("53", 2, 1, 40), ("32", 40, 5, 60)];
        let (cells, regions, publication) = january_2025(&rows);
        let period = Period::Month(2025, 1);
        let status = StoreStatus::default();
        let decided = PeriodCells::new(period, &cells, Vec::new(), status.clone(), true, Some(&publication));
        let undecided = PeriodCells::new(period, &cells, Vec::new(), status.clone(), true, None);
        assert!(decided.cells.iter().any(|c| decided.withholds(c, 11)), "something is withheld from the public");
        for (d, u) in decided.cells.iter().zip(&undecided.cells).chain(decided.national.iter().zip(&undecided.national))
        {
            assert_eq!(decided.publish(d, 0), undecided.publish(u, 0), "policy sees the same ({})", d.region);
            let public = undecided.publish(u, 11);
            assert!(public.suppressed && public.learners.is_none() && public.active.is_none(), "{public:?}");
            assert_eq!(public.shortage_score, None, "no score either");
        }
        let decided = PeriodRegions::new(period, regions.clone(), Vec::new(), status.clone(), true, Some(&publication));
        let undecided = PeriodRegions::new(period, regions.clone(), Vec::new(), status, true, None);
        assert!(regions.iter().any(|r| decided.withholds_total(&r.region, 11)), "a total is withheld");
        for row in &regions {
            assert!(!undecided.withholds_total(&row.region, 0) && !undecided.withholds_group(&row.region, 0, 0));
            assert!(undecided.withholds_total(&row.region, 11) && undecided.withholds_group(&row.region, 0, 11));
        }
    }
}

//! Indicators per period, computed from store counters by the domain
//! formulas and cached per data version. Dashboards polling the same
//! period hit the cache, not the store; when new data lands, the periods
//! read recently are computed again before the cache moves to the new
//! version (see `cache`). The first caller of a period starts its
//! computation in a task of its own, concurrent callers wait for that
//! result, and a caller that gives up (deadline, disconnect) leaves it to
//! finish for the next one.

use chrono::{Duration, Utc};
use skills_domain::Period;
use skills_domain::indicators::{
    CellCounters, CellIndicators, GridCell, IndicatorSettings, PublishedCell, is_complete, period_cells,
    publish_withheld, withheld_cells,
};
use skills_store::{CounterWindow, MetricsStore, StoreError, StoreStatus};
use std::collections::{HashMap, HashSet};
mod cache;

use cache::{Cache, Entry, Key, Scope, filled};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;

/// Every cell of one period with data, with shortage scores, and which of
/// them are withheld from audiences with suppression (primary and
/// secondary: see `skills_domain::indicators::withheld_cells`).
#[derive(Debug)]
pub struct PeriodCells {
    pub period: Period,
    pub cells: Vec<CellIndicators>,
    pub status: StoreStatus,
    pub complete: bool,
    /// Skills of the cells withheld under the configured k, by region
    /// (looked up by &str on every served cell, so no key is built).
    withheld: HashMap<String, HashSet<String>>,
    /// Where each cell is in `cells`, by region then skill: a served region
    /// looks up its 21 cells (a scan per cell was a third of a cached
    /// call's CPU).
    positions: HashMap<String, HashMap<String, usize>>,
}

impl PeriodCells {
    fn new(
        period: Period,
        cells: Vec<CellIndicators>,
        status: StoreStatus,
        complete: bool,
        withheld: HashMap<String, HashSet<String>>,
    ) -> PeriodCells {
        let mut positions: HashMap<String, HashMap<String, usize>> = HashMap::new();
        for (index, cell) in cells.iter().enumerate() {
            if let Some(skill) = &cell.skill {
                positions.entry(cell.region.clone()).or_default().insert(skill.clone(), index);
            }
        }
        PeriodCells { period, cells, status, complete, withheld, positions }
    }

    pub fn cell(&self, region: &str, skill: &str) -> Option<&CellIndicators> {
        let index = *self.positions.get(region)?.get(skill)?;
        self.cells.get(index)
    }

    /// Whether this cell's learner values are withheld from a caller whose
    /// k is `k` (0 for policy, else the configured k).
    pub fn withholds(&self, cell: &CellIndicators, k: u32) -> bool {
        k > 0
            && self
                .withheld
                .get(&cell.region)
                .is_some_and(|skills| skills.contains(cell.skill.as_deref().unwrap_or_default()))
    }

    /// The cell as served to a caller whose k is `k`.
    pub fn publish(&self, cell: &CellIndicators, k: u32) -> PublishedCell {
        publish_withheld(cell, self.withholds(cell, k))
    }
}

/// Whole-region counters of one period (learners counted once across skills).
#[derive(Debug)]
pub struct PeriodRegions {
    pub period: Period,
    pub regions: Vec<CellCounters>,
    pub status: StoreStatus,
    pub complete: bool,
}

pub struct IndicatorEngine {
    store: Arc<dyn MetricsStore>,
    settings: IndicatorSettings,
    cache: Mutex<Cache>,
    status: watch::Sender<StoreStatus>,
    /// Whether the last status refresh reached the store (health checks).
    reachable: std::sync::atomic::AtomicBool,
    caching: bool,
}

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
            status: watch::channel(status).0,
            reachable: std::sync::atomic::AtomicBool::new(true),
            caching: cache,
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

    pub fn settings(&self) -> &IndicatorSettings {
        &self.settings
    }

    /// The store status last seen.
    pub fn status(&self) -> StoreStatus {
        self.status.borrow().clone()
    }

    /// Changes whenever the store's data version does.
    pub fn subscribe(&self) -> watch::Receiver<StoreStatus> {
        self.status.subscribe()
    }

    /// Reads the store status; on a new data version, computes the periods
    /// read recently against it while callers keep the previous version,
    /// then swaps the caches and wakes watchers.
    pub async fn refresh(self: &Arc<Self>) -> Result<(), StoreError> {
        let status = self.store.quick_status().await?;
        let hot = {
            let mut cache = self.cache.lock().expect("cache lock");
            if cache.version == status.version {
                return Ok(());
            }
            cache.hot_keys(Instant::now())
        };
        let staging = cache::Memo::default();
        if self.caching {
            let scope = Scope::Staging(staging.clone(), status.clone());
            for key in hot {
                let computed = match key {
                    Key::Cells(period) => self.cells_in(period, &scope).await.map(drop),
                    Key::Regions(period) => self.regions_in(period, &scope).await.map(drop),
                    Key::Raw(_) => Ok(()),
                };
                if let Err(error) = computed {
                    // Served from the store on demand instead.
                    tracing::warn!(%error, "computing a period ahead for the new data version failed");
                    break;
                }
            }
        }
        {
            let mut cache = self.cache.lock().expect("cache lock");
            let staged = std::mem::take(&mut *staging.lock().expect("memo lock"));
            cache.entries = staged.into_iter().filter(|(_, slot)| slot.initialized()).collect();
            cache.version = status.version;
        }
        self.status.send_replace(status);
        Ok(())
    }

    /// Refreshes every `interval` until `shutdown` resolves.
    pub async fn refresh_every(self: Arc<Self>, interval: std::time::Duration, mut shutdown: skills_runtime::Shutdown) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            let refreshed = self.refresh().await;
            self.reachable.store(refreshed.is_ok(), std::sync::atomic::Ordering::Relaxed);
            if let Err(error) = refreshed {
                tracing::warn!(error = %error, "store status refresh failed");
            }
        }
    }

    /// The slot of `key` in `scope`: the engine's cache, or, with the
    /// cache off, the call's memo (one call reading a period twice, as a
    /// trend's months share their siblings, reads the store once).
    fn slot(&self, key: Key, scope: &Scope) -> cache::Slot {
        match scope {
            Scope::Staging(memo, _) => Scope::memo_slot(memo, key),
            Scope::Call(memo) if !self.caching => Scope::memo_slot(memo, key),
            Scope::Call(_) => {
                let mut cache = self.cache.lock().expect("cache lock");
                if !matches!(key, Key::Raw(_)) {
                    cache.last_read.insert(key, Instant::now());
                }
                cache.entries.entry(key).or_default().clone()
            }
        }
    }

    /// The store status a computation in `scope` reports as its as-of.
    fn status_in(&self, scope: &Scope) -> StoreStatus {
        match scope {
            Scope::Staging(_, status) => status.clone(),
            Scope::Call(_) => self.status(),
        }
    }

    fn window(&self, period: Period, by_skill: bool) -> CounterWindow {
        CounterWindow::of_period(period, self.settings.pipeline_horizon_months, by_skill)
    }

    fn complete(&self, period: Period) -> bool {
        is_complete(period.end(), Duration::days(i64::from(self.settings.late_allowance_days)), Utc::now())
    }

    async fn raw_cells(
        self: &Arc<Self>,
        period: Period,
        scope: &Scope,
    ) -> Result<Arc<Vec<CellIndicators>>, StoreError> {
        let engine = self.clone();
        let entry = filled(self.slot(Key::Raw(period), scope), async move {
            let counters = engine.store.counters(&engine.window(period, true)).await?;
            Ok(Entry::Raw(Arc::new(period_cells(&counters))))
        })
        .await?;
        match entry.get() {
            Some(Entry::Raw(cells)) => Ok(cells.clone()),
            _ => unreachable!("raw key holds raw cells"),
        }
    }

    /// The cells of a period with their suppression decisions, taken over
    /// the whole year's grid of that granularity so that every call agrees.
    pub async fn cells(self: &Arc<Self>, period: Period) -> Result<Arc<PeriodCells>, StoreError> {
        self.cells_in(period, &Scope::call()).await
    }

    /// The cells of several periods (a trend), each period read once.
    pub async fn cells_of(self: &Arc<Self>, periods: &[Period]) -> Result<Vec<Arc<PeriodCells>>, StoreError> {
        let scope = Scope::call();
        let mut all = Vec::with_capacity(periods.len());
        for period in periods {
            all.push(self.cells_in(*period, &scope).await?);
        }
        Ok(all)
    }

    async fn cells_in(self: &Arc<Self>, period: Period, scope: &Scope) -> Result<Arc<PeriodCells>, StoreError> {
        let engine = self.clone();
        let inner = scope.clone();
        let entry = filled(self.slot(Key::Cells(period), scope), async move {
            let status = engine.status_in(&inner);
            let siblings = period.siblings();
            // Read side by side: a month's eleven siblings are eleven store
            // round trips.
            let reads: Vec<_> = siblings
                .iter()
                .map(|sibling| {
                    let (engine, inner, sibling) = (engine.clone(), inner.clone(), *sibling);
                    tokio::spawn(async move { engine.raw_cells(sibling, &inner).await })
                })
                .collect();
            let mut grid = Vec::new();
            let mut own = Vec::new();
            for (index, (sibling, read)) in siblings.iter().zip(reads).enumerate() {
                let raw = read.await.map_err(|e| StoreError::unavailable(format!("read task failed: {e}")))??;
                for cell in raw.iter() {
                    grid.push(GridCell {
                        period: index,
                        region: cell.region.clone(),
                        skill: cell.skill.clone().unwrap_or_default(),
                        learners: cell.learners,
                    });
                }
                if *sibling == period {
                    own = raw.as_ref().clone();
                }
            }
            let mine = siblings.iter().position(|p| *p == period).expect("a period is its own sibling");
            let mut withheld: HashMap<String, HashSet<String>> = HashMap::new();
            for cell in withheld_cells(&grid, engine.settings.suppression_k).into_iter().map(|i| &grid[i]) {
                if cell.period == mine {
                    withheld.entry(cell.region.clone()).or_default().insert(cell.skill.clone());
                }
            }
            Ok(Entry::Cells(Arc::new(PeriodCells::new(period, own, status, engine.complete(period), withheld))))
        })
        .await?;
        match entry.get() {
            Some(Entry::Cells(cells)) => Ok(cells.clone()),
            _ => unreachable!("cells key holds cells"),
        }
    }

    pub async fn regions(self: &Arc<Self>, period: Period) -> Result<Arc<PeriodRegions>, StoreError> {
        self.regions_in(period, &Scope::call()).await
    }

    async fn regions_in(self: &Arc<Self>, period: Period, scope: &Scope) -> Result<Arc<PeriodRegions>, StoreError> {
        let engine = self.clone();
        let inner = scope.clone();
        let entry = filled(self.slot(Key::Regions(period), scope), async move {
            let status = engine.status_in(&inner);
            let regions = engine.store.counters(&engine.window(period, false)).await?;
            Ok(Entry::Regions(Arc::new(PeriodRegions { period, regions, status, complete: engine.complete(period) })))
        })
        .await?;
        match entry.get() {
            Some(Entry::Regions(regions)) => Ok(regions.clone()),
            _ => unreachable!("regions key holds regions"),
        }
    }
}

//! Moving the cache to a new data version, in two stages that overlap
//! from one version to the next:
//!
//! 1. Reading (one at a time): the store's status; on a new version, the
//!    years read recently (`Cache::hot_keys`) are read, and policy
//!    callers, from whom nothing is withheld, are served them at once
//!    (`Cache::early`) and their watchers woken.
//! 2. Deciding (one at a time, in a task of its own): each of those
//!    years' publication (seconds of CPU for a full year), after which
//!    the cache's entries are swapped and everyone else's watchers woken.
//!
//! A version read while the previous one is being decided is served to
//! policy callers at once; a version superseded before its decision
//! starts is not decided at all (the newer one is: `Pending`). So new events reach
//! policy dashboards in the time of a read, and everyone else in that of
//! a decision, however fast they arrive.

use super::cache::{self, Entry, Key};
use super::{EngineError, IndicatorEngine, YearSnapshot};
use skills_domain::disclosure::hierarchy::YearCounters;
use skills_store::StoreStatus;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// A hot year read by the first stage, for the second to decide.
pub(super) struct ReadYear {
    year: i32,
    counters: YearCounters,
    read_ms: u64,
}

/// The latest read waiting for its decision: a newer read replaces it
/// (its counters dropped at once), so at most one waits, however fast new
/// versions come.
pub(super) struct Pending {
    sequence: u64,
    read: Vec<ReadYear>,
    status: StoreStatus,
}

impl IndicatorEngine {
    /// Refreshes (`refresh_ahead`) and waits until that version's
    /// publications are decided and served to everyone.
    pub async fn refresh(self: &Arc<Self>) -> Result<(), EngineError> {
        let sequence = self.refresh_ahead().await?;
        let mut settled = self.settled.subscribe();
        // The sender lives in `self`: the wait ends.
        let _ = settled.wait_for(|done| *done >= sequence).await;
        if self.swapped.load(Ordering::Acquire) < sequence {
            let stopped = "the refresh's decision stopped before serving its version: read again by the next refresh";
            return Err(EngineError::Store(Arc::new(skills_store::StoreError::unavailable(stopped))));
        }
        Ok(())
    }

    /// Reads the store status; on a new data version, reads the hot years,
    /// serves them to policy callers and wakes their watchers, and leaves
    /// their publications to be decided by a task of its own (which a
    /// caller giving up does not stop). Returns the read's sequence number,
    /// which `settled` reaches once everyone is served that version or a
    /// newer one.
    pub async fn refresh_ahead(self: &Arc<Self>) -> Result<u64, EngineError> {
        let _reading = self.reading.lock().await;
        let status = self.store.quick_status().await?;
        let hot = {
            let mut cache = self.cache.lock().expect("cache lock");
            if cache.read_version == status.version {
                drop(cache);
                // A decision left waiting by a task that never ran (its
                // runtime gone) is taken by a new one; else it returns at once.
                if self.pending.lock().expect("pending lock").is_some() {
                    let engine = self.clone();
                    tokio::spawn(async move { engine.decide_pending().await });
                }
                return Ok(self.cache.lock().expect("cache lock").read_sequence);
            }
            cache.hot_keys(Instant::now())
        };
        let (read, early) = match self.caching {
            true => self.read_ahead(hot, &status).await,
            false => (Vec::new(), HashMap::new()),
        };
        let sequence = {
            let mut cache = self.cache.lock().expect("cache lock");
            cache.read_sequence += 1;
            cache.read_version = status.version;
            if self.caching {
                // All at once, over what earlier reads left (newer than
                // `entries` still: a year this read missed does not go
                // back to the decided version).
                // A year an earlier read left and this one did not read
                // is the older version's: its policy readers are woken again
                // once this version is served to everyone.
                if cache.early.keys().any(|year| !early.contains_key(year)) {
                    cache.policy_fell_behind = true;
                }
                cache.early.extend(early);
                cache.policy_ahead = true;
                // Under the cache lock, as the swap's: watchers never see
                // versions out of order.
                self.wake_policy(&status, false);
            }
            cache.read_sequence
        };
        let replaced = self.pending.lock().expect("pending lock").replace(Pending { sequence, read, status });
        if let Some(replaced) = replaced {
            tracing::debug!(sequence = replaced.sequence, "superseded before its decision: not decided");
        }
        let engine = self.clone();
        tokio::spawn(async move { engine.decide_pending().await });
        Ok(sequence)
    }

    /// The first stage's reads: the `hot` years' counters as of `status`,
    /// and each year's periods built for policy callers (undecided).
    async fn read_ahead(
        self: &Arc<Self>,
        hot: Vec<Key>,
        status: &StoreStatus,
    ) -> (Vec<ReadYear>, HashMap<i32, Arc<YearSnapshot>>) {
        let (mut read, mut early) = (Vec::new(), HashMap::new());
        for Key::Year(year) in hot {
            let started = Instant::now();
            let counters = match self.read_year(year, status, None).await {
                Ok(counters) => counters,
                Err(error) => {
                    // Served from the store on demand instead.
                    tracing::warn!(year, %error, "reading a year ahead for the new data version failed");
                    break;
                }
            };
            let read_ms = started.elapsed().as_millis() as u64;
            let engine = self.clone();
            let (copy, as_of) = (counters.clone(), status.clone());
            match tokio::task::spawn_blocking(move || engine.undecided_year(year, copy, as_of)).await {
                Ok(snapshot) => early.insert(year, Arc::new(snapshot)),
                Err(error) => {
                    tracing::warn!(year, %error, "building a year's policy view failed");
                    break;
                }
            };
            read.push(ReadYear { year, counters, read_ms });
        }
        (read, early)
    }

    /// The second stage, for the latest read waiting (if another task has
    /// not taken it): decides its years' publications, swaps the cache's
    /// entries and wakes everyone's watchers.
    async fn decide_pending(self: Arc<Self>) {
        let _deciding = self.deciding.lock().await;
        let Some(Pending { sequence, read, status }) = self.pending.lock().expect("pending lock").take() else {
            return;
        };
        // Should this task end without its swap (a panic), the version is
        // read again by the next refresh and nobody waits for it forever.
        let unfinished = Unfinished { engine: &self, sequence };
        let mut entries = HashMap::new();
        for ReadYear { year, counters, read_ms } in read {
            self.decisions_may_start().await;
            let started = Instant::now();
            match self.decide_year(year, counters, status.clone()).await {
                Ok(snapshot) => {
                    entries.insert(Key::Year(year), cache::SlotState::with(Entry::Year(Arc::new(snapshot))));
                    let decide_ms = started.elapsed().as_millis() as u64;
                    tracing::info!(year, read_ms, decide_ms, background = false, refresh = true, "year computed");
                }
                // Served from the store on demand instead.
                Err(error) => tracing::warn!(year, %error, "deciding a year for the new data version failed"),
            }
        }
        {
            let mut cache = self.cache.lock().expect("cache lock");
            cache.entries = entries;
            cache.version = status.version;
            self.status.send_replace(status.clone());
            // A newer read's policy view stays: it is newer than these entries.
            if cache.read_sequence == sequence {
                cache.early.clear();
                cache.policy_ahead = false;
                let fell_behind = std::mem::take(&mut cache.policy_fell_behind);
                self.wake_policy(&status, fell_behind);
            }
        }
        self.swapped.fetch_max(sequence, Ordering::AcqRel);
        std::mem::forget(unfinished);
        self.settle(sequence);
    }

    /// Everyone is served read `sequence`'s version or a newer one.
    fn settle(&self, sequence: u64) {
        self.settled.send_if_modified(|done| {
            let news = *done < sequence;
            *done = (*done).max(sequence);
            news
        });
    }

    /// Wakes policy watchers if `status` is news to them, or `again`.
    fn wake_policy(&self, status: &StoreStatus, again: bool) {
        self.policy_status.send_if_modified(|seen| {
            let news = seen.version != status.version;
            *seen = status.clone();
            news || again
        });
    }

    /// For tests: refreshes decide no year's publication until a permit
    /// is added to the returned semaphore (one per year), so that what
    /// callers are served between the two stages can be observed.
    #[doc(hidden)]
    pub fn hold_decisions(&self) -> Arc<tokio::sync::Semaphore> {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        *self.decision_gate.lock().expect("gate lock") = Some(gate.clone());
        gate
    }

    async fn decisions_may_start(&self) {
        let gate = self.decision_gate.lock().expect("gate lock").clone();
        if let Some(gate) = gate
            && let Ok(permit) = gate.acquire().await
        {
            permit.forget();
        }
    }

    /// Refreshes every `interval` until `shutdown` resolves, without
    /// waiting for decisions: a new version is read while the previous
    /// one is decided.
    pub async fn refresh_every(self: Arc<Self>, interval: std::time::Duration, mut shutdown: skills_runtime::Shutdown) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            let refreshed = self.refresh_ahead().await;
            self.reachable.store(refreshed.is_ok(), std::sync::atomic::Ordering::Relaxed);
            if let Err(error) = refreshed {
                tracing::warn!(error = %error, "store status refresh failed");
            }
        }
    }
}

/// Dropped when a decision ends without its swap (see `decide_pending`).
struct Unfinished<'a> {
    engine: &'a IndicatorEngine,
    sequence: u64,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        let mut cache = self.engine.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let latest = cache.read_sequence == self.sequence;
        if latest {
            cache.read_version = cache.version;
        }
        drop(cache);
        let sequence = self.sequence;
        match std::thread::panicking() {
            true => {
                tracing::error!(sequence, read_again = latest, "a refresh's decision failed before serving its version")
            }
            // The runtime shutting down.
            false => tracing::debug!(sequence, "a refresh's decision stopped before serving its version"),
        }
        self.engine.settle(sequence);
    }
}

//! Where computed indicators are kept. The engine's cache holds one data
//! version; when the store's version changes, the years dashboards read
//! recently are computed again while callers keep reading the previous
//! version, and then replace the cache's entries at once: live ingest
//! never makes a polling dashboard wait for the store. Meanwhile, once
//! those years are read and before their suppression is decided, policy
//! callers are served them from `Cache::early`. With the cache off, a
//! call still reads each year once.

use super::{EngineError, YearSnapshot};
use skills_store::StoreError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Key {
    /// A year's periods and publication: suppression is decided per year.
    Year(i32),
}

pub(super) enum Entry {
    Year(Arc<YearSnapshot>),
}

/// A computation's result as every waiter gets it.
type Outcome = Result<Arc<Entry>, EngineError>;

/// One cached value: empty, being computed (waiters follow the
/// computation's result), or ready.
#[derive(Default)]
pub(super) struct SlotState {
    fill: Mutex<Fill>,
    /// Set when a foreground caller waits for a background computation.
    urgent: AtomicBool,
}

#[derive(Default)]
enum Fill {
    #[default]
    Empty,
    Running(watch::Receiver<Option<Outcome>>),
    Ready(Arc<Entry>),
}

impl SlotState {
    /// A slot holding `entry` already (a refresh's computed years).
    pub fn with(entry: Entry) -> Slot {
        Arc::new(SlotState { fill: Mutex::new(Fill::Ready(Arc::new(entry))), urgent: AtomicBool::new(false) })
    }

    /// Whether a foreground caller waits for this slot's computation: a
    /// background computation then makes its remaining reads in the
    /// foreground, so that a policy caller is never held to background pace.
    pub fn urgent(&self) -> bool {
        self.urgent.load(Ordering::Relaxed)
    }

    fn hurry(&self) {
        self.urgent.store(true, Ordering::Relaxed);
    }
}

pub(super) type Slot = Arc<SlotState>;
pub(super) type Memo = Arc<Mutex<HashMap<Key, Slot>>>;

/// Who may start store work, and how many at once: each audience has a
/// lane of its own, so that one audience's cache misses queue behind each
/// other and never take another audience's turn.
#[derive(Clone)]
pub struct Lane {
    permits: Option<Arc<Semaphore>>,
    /// How long a miss waits for a turn before the caller is told to retry.
    wait: Duration,
    /// Whether its work yields to everyone else's: reads one at a time at
    /// a lower store priority, and suppression on a low-priority thread.
    pub background: bool,
    /// Whether the years read in this lane are computed again ahead of
    /// their readers when new data lands. Not for anonymous callers: a
    /// flood of their misses would otherwise have every data version
    /// recompute the years it touched, in the foreground.
    pub keep_hot: bool,
}

impl Lane {
    /// Computations at once in this lane, each waiting at most `wait`.
    pub fn new(computations: usize, wait: Duration, background: bool, keep_hot: bool) -> Lane {
        Lane { permits: Some(Arc::new(Semaphore::new(computations.max(1)))), wait, background, keep_hot }
    }

    /// No limit, in the foreground (the audit, tests).
    pub fn unbounded() -> Lane {
        Lane { permits: None, wait: Duration::ZERO, background: false, keep_hot: true }
    }

    /// No limit, on the low-priority runtime: work that reads no store
    /// (a year without data) but is still CPU a flood could ask for.
    pub fn storeless() -> Lane {
        Lane { background: true, ..Lane::unbounded() }
    }

    async fn turn(&self) -> Result<Option<OwnedSemaphorePermit>, EngineError> {
        let Some(permits) = &self.permits else { return Ok(None) };
        match tokio::time::timeout(self.wait, permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => Err(EngineError::Busy { retry_after: self.wait.max(Duration::from_secs(1)) }),
        }
    }
}

/// A year read within this long is computed again for a new version
/// before the old one is dropped.
pub(super) const HOT_FOR: Duration = Duration::from_secs(30);
/// At most this many years are computed ahead per version change.
pub(super) const MAX_HOT: usize = 8;

pub(super) struct Cache {
    /// The data version of `entries`.
    pub version: u64,
    /// The data version last read by a refresh (ahead of `version` while
    /// it is being decided), and that read's sequence number.
    pub read_version: u64,
    pub read_sequence: u64,
    pub entries: HashMap<Key, Slot>,
    /// When each year was last asked for.
    pub last_read: HashMap<Key, Instant>,
    /// During a refresh, once the next version's hot years are read and
    /// before their publications are decided: those years' periods, for
    /// policy callers only (see `IndicatorEngine::refresh`). Newer than
    /// `entries`; emptied when the refresh swaps `entries`.
    pub early: HashMap<i32, Arc<YearSnapshot>>,
    /// Set once policy callers have been moved to a version whose
    /// refresh has not swapped `entries` yet.
    pub policy_ahead: bool,
    /// Set when, meanwhile, a policy caller was served a year from
    /// `entries` (one the refresh did not read ahead): its watch streams
    /// are woken again at the swap, so that none stays on the old version.
    pub policy_fell_behind: bool,
}

impl Cache {
    pub fn new(version: u64) -> Cache {
        Cache {
            version,
            read_version: version,
            read_sequence: 0,
            entries: HashMap::new(),
            last_read: HashMap::new(),
            early: HashMap::new(),
            policy_ahead: false,
            policy_fell_behind: false,
        }
    }

    /// The keys read within `HOT_FOR`, most recent first; older ones are forgotten.
    pub fn hot_keys(&mut self, now: Instant) -> Vec<Key> {
        self.last_read.retain(|_, at| now.duration_since(*at) < HOT_FOR);
        let mut hot: Vec<(Key, Instant)> = self.last_read.iter().map(|(k, at)| (*k, *at)).collect();
        hot.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
        hot.into_iter().take(MAX_HOT).map(|(key, _)| key).collect()
    }
}

/// Where one call keeps its slots: the engine's cache, or (cache off)
/// this call's memo; misses take turns in the caller's lane.
#[derive(Clone)]
pub(super) struct Scope {
    pub memo: Memo,
    pub lane: Lane,
}

impl Scope {
    pub fn call(lane: &Lane) -> Scope {
        Scope { memo: Memo::default(), lane: lane.clone() }
    }

    pub fn memo_slot(memo: &Memo, key: Key) -> Slot {
        memo.lock().expect("memo lock").entry(key).or_default().clone()
    }
}

/// Where background work runs: a runtime of its own whose threads (one
/// worker and its blocking pool) run at a lower CPU priority (nice 10), so
/// that everything a background computation does — store reads, decoding
/// their answers, deciding suppression — yields the cores to callers
/// served from the cache.
fn background_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("skills-query-background")
            .enable_all()
            .on_thread_start(|| {
                // SAFETY: setpriority on this thread's own id; no memory involved.
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
                }
            })
            .build()
            .expect("the background runtime")
    })
}

/// `slot`'s value, computed by `compute` if nobody has. The caller that
/// finds the slot empty takes a turn in its lane, then runs the computation
/// in a task of its own, so that it survives the caller giving up and
/// fills the slot for the next caller; callers arriving meanwhile follow
/// that computation's result, never start a second one and need no turn.
/// A failed computation leaves the slot empty for the next caller.
pub(super) async fn filled(
    slot: Slot,
    lane: &Lane,
    compute: impl Future<Output = Result<Entry, EngineError>> + Send + 'static,
) -> Result<Arc<Entry>, EngineError> {
    let mut compute = Some(compute);
    loop {
        let running = match &*slot.fill.lock().expect("slot lock") {
            Fill::Ready(entry) => return Ok(entry.clone()),
            Fill::Running(result) => Some(result.clone()),
            Fill::Empty => None,
        };
        let mut result = match running {
            Some(result) => {
                if !lane.background {
                    slot.hurry();
                }
                result
            }
            None => {
                let turn = lane.turn().await?;
                let (sender, receiver) = watch::channel(None);
                {
                    let mut fill = slot.fill.lock().expect("slot lock");
                    if !matches!(*fill, Fill::Empty) {
                        continue;
                    }
                    *fill = Fill::Running(receiver.clone());
                }
                let work = compute.take().expect("a caller starts at most one computation");
                let filling = slot.clone();
                let running = match lane.background {
                    true => background_runtime().spawn(work),
                    false => tokio::spawn(work),
                };
                tokio::spawn(async move {
                    // A panic in the computation empties the slot too.
                    let outcome = match running.await {
                        Ok(outcome) => outcome.map(Arc::new),
                        Err(error) => Err(EngineError::Store(Arc::new(StoreError::unavailable(format!(
                            "indicator computation failed: {error}"
                        ))))),
                    };
                    *filling.fill.lock().expect("slot lock") = match &outcome {
                        Ok(entry) => Fill::Ready(entry.clone()),
                        Err(_) => Fill::Empty,
                    };
                    drop(turn);
                    sender.send_replace(Some(outcome));
                });
                receiver
            }
        };
        let outcome = result.wait_for(Option::is_some).await;
        return match outcome.as_deref() {
            Ok(Some(outcome)) => outcome.clone(),
            _ => Err(EngineError::Store(Arc::new(StoreError::unavailable("indicator computation stopped")))),
        };
    }
}

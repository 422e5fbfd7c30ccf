//! Where computed indicators are kept. The engine's cache holds one data
//! version; when the store's version changes, the years dashboards read
//! recently are computed again into a staging map while callers keep
//! reading the previous version, and the staging map then replaces the
//! cache at once: live ingest never makes a polling dashboard wait for
//! the store. With the cache off, a call still reads each year once.

use super::YearSnapshot;
use skills_store::{StoreError, StoreStatus};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Key {
    /// A year's periods and publication: suppression is decided per year.
    Year(i32),
}

pub(super) enum Entry {
    Year(Arc<YearSnapshot>),
}

pub(super) type Slot = Arc<OnceCell<Entry>>;
pub(super) type Memo = Arc<Mutex<HashMap<Key, Slot>>>;

/// A year read within this long is computed again for a new version
/// before the old one is dropped.
pub(super) const HOT_FOR: Duration = Duration::from_secs(30);
/// At most this many years are computed ahead per version change.
pub(super) const MAX_HOT: usize = 8;

pub(super) struct Cache {
    pub version: u64,
    pub entries: HashMap<Key, Slot>,
    /// When each year was last asked for.
    pub last_read: HashMap<Key, Instant>,
}

impl Cache {
    pub fn new(version: u64) -> Cache {
        Cache { version, entries: HashMap::new(), last_read: HashMap::new() }
    }

    /// The keys read within `HOT_FOR`, most recent first; older ones are forgotten.
    pub fn hot_keys(&mut self, now: Instant) -> Vec<Key> {
        self.last_read.retain(|_, at| now.duration_since(*at) < HOT_FOR);
        let mut hot: Vec<(Key, Instant)> = self.last_read.iter().map(|(k, at)| (*k, *at)).collect();
        hot.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
        hot.into_iter().take(MAX_HOT).map(|(key, _)| key).collect()
    }
}

/// Where one computation keeps its slots.
#[derive(Clone)]
pub(super) enum Scope {
    /// A caller's: the engine's cache, or (cache off) this call's memo.
    Call(Memo),
    /// The next version's cache being filled, with its store status.
    Staging(Memo, StoreStatus),
}

impl Scope {
    pub fn call() -> Scope {
        Scope::Call(Memo::default())
    }

    pub fn memo_slot(memo: &Memo, key: Key) -> Slot {
        memo.lock().expect("memo lock").entry(key).or_default().clone()
    }
}

/// `slot` once filled by `compute`. A miss runs the computation in a task
/// of its own, so that it survives the caller giving up and fills the slot
/// for the next caller; concurrent callers wait for the same computation
/// (the slot's own once-only initialisation), never start a second one.
pub(super) async fn filled(
    slot: Slot,
    compute: impl Future<Output = Result<Entry, StoreError>> + Send + 'static,
) -> Result<Slot, StoreError> {
    if slot.initialized() {
        return Ok(slot);
    }
    let filling = slot.clone();
    let task = tokio::spawn(async move { filling.get_or_try_init(|| compute).await.map(|_| ()) });
    task.await.map_err(|error| StoreError::unavailable(format!("indicator computation failed: {error}")))??;
    Ok(slot)
}

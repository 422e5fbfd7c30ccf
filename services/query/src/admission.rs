//! Who may run a call now. Every call, watch streams included, passes
//! here before any work: a rate limit and a concurrency limit per caller
//! (its token, or its address when anonymous), a concurrency limit per
//! audience, and one for the whole service. A refusal is immediate or
//! after a short wait, never a queue that grows: RESOURCE_EXHAUSTED with
//! the delay after which a retry can succeed. Each audience also gets its
//! own lane for store work (`engine::Lane`), so that one audience's cache
//! misses never take another's turn.

use crate::auth::Identity;
use crate::config::{AudienceLimits, Limits};
use crate::engine::Lane;
use crate::error::QueryError;
use skills_domain::indicators::Audience;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a call may wait for its audience's or the service's slot.
const QUEUE_WAIT: Duration = Duration::from_millis(100);
/// How long a store miss may wait for its audience's lane.
const LANE_WAIT: Duration = Duration::from_millis(500);
/// Callers remembered at most; idle ones are forgotten first.
const MAX_CALLERS: usize = 10_000;
/// A caller unseen this long, with nothing in flight, is forgotten.
const IDLE_CALLER: Duration = Duration::from_secs(60);

/// The classes limits are set for: anonymous callers apart from token
/// holders of the public scope, so that a public dashboard with a token
/// is not starved by anonymous traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Policy,
    Partner,
    Public,
    Anonymous,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Policy, Class::Partner, Class::Public, Class::Anonymous];

    fn of(identity: &Identity) -> Class {
        match (&identity.audience, &identity.token) {
            (_, None) => Class::Anonymous,
            (Audience::Policy, _) => Class::Policy,
            (Audience::Partner(_), _) => Class::Partner,
            (Audience::Public, _) => Class::Public,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Class::Policy => "policy",
            Class::Partner => "partner",
            Class::Public => "public",
            Class::Anonymous => "anonymous",
        }
    }

    fn limits(self, limits: &Limits) -> &AudienceLimits {
        match self {
            Class::Policy => &limits.audiences.policy,
            Class::Partner => &limits.audiences.partner,
            Class::Public => &limits.audiences.public,
            Class::Anonymous => &limits.audiences.anonymous,
        }
    }
}

/// Whom a caller's limits are counted for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CallerKey {
    Token(String),
    Address(Option<IpAddr>),
}

/// A token bucket: `rate` calls a second on average, `burst` at once.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Takes one call's token, or says how long until one is there.
    fn take(&mut self, rate: f64, burst: f64, now: Instant) -> Result<(), Duration> {
        let refilled = self.tokens + now.saturating_duration_since(self.at).as_secs_f64() * rate;
        self.tokens = refilled.min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate).max(Duration::from_millis(1)))
        }
    }
}

struct Caller {
    bucket: Mutex<Bucket>,
    calls: Arc<Semaphore>,
    watches: Arc<Semaphore>,
    last_seen: Mutex<Instant>,
    limits: AudienceLimits,
}

impl Caller {
    fn idle(&self, now: Instant) -> bool {
        let seen = *self.last_seen.lock().expect("caller lock");
        now.saturating_duration_since(seen) > IDLE_CALLER
            && self.calls.available_permits() == self.limits.concurrent_per_caller
            && self.watches.available_permits() == self.limits.watch_streams_per_caller
    }
}

struct ClassState {
    calls: Arc<Semaphore>,
    lane: Lane,
}

/// Admission control for the whole service.
pub struct Admission {
    limits: Limits,
    classes: HashMap<Class, ClassState>,
    callers: Mutex<HashMap<CallerKey, Arc<Caller>>>,
    calls: Arc<Semaphore>,
    watches: Arc<Semaphore>,
}

/// What an admitted call holds until it ends: its slots, and the lane its
/// store work takes turns in.
pub struct Ticket {
    pub lane: Lane,
    _permits: Vec<OwnedSemaphorePermit>,
}

/// What an admitted watch stream holds for its whole life.
pub struct WatchTicket {
    _permits: [OwnedSemaphorePermit; 2],
}

impl Admission {
    pub fn new(limits: Limits) -> Admission {
        let classes = Class::ALL
            .into_iter()
            .map(|class| {
                let own = class.limits(&limits);
                let state = ClassState {
                    calls: Arc::new(Semaphore::new(own.concurrent.max(1))),
                    // Only policy's store work runs in the foreground;
                    // only identified callers' years are kept hot.
                    lane: Lane::new(
                        own.store_computations,
                        LANE_WAIT,
                        class != Class::Policy,
                        class != Class::Anonymous,
                    ),
                };
                (class, state)
            })
            .collect();
        Admission {
            calls: Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1))),
            watches: Arc::new(Semaphore::new(limits.max_watch_streams.max(1))),
            classes,
            callers: Mutex::new(HashMap::new()),
            limits,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Admits a call: the caller's rate and concurrency, then its
    /// audience's, then the service's.
    pub async fn call(&self, identity: &Identity, address: Option<IpAddr>) -> Result<Ticket, QueryError> {
        let class = Class::of(identity);
        let caller = self.caller(class, identity, address)?;
        let own = class.limits(&self.limits);
        take_rate(&caller, own, class)?;
        let per_caller = caller.calls.clone().try_acquire_owned().map_err(|_| QueryError::Overloaded {
            limit: format!("{} calls in flight for this {} caller", own.concurrent_per_caller, class.name()),
            retry_after: QUEUE_WAIT,
        })?;
        let state = &self.classes[&class];
        let audience =
            wait_for(&state.calls, || format!("{} calls in flight for the {} audience", own.concurrent, class.name()))
                .await?;
        let service =
            wait_for(&self.calls, || format!("{} calls in flight", self.limits.max_concurrent_requests)).await?;
        Ok(Ticket { lane: state.lane.clone(), _permits: vec![per_caller, audience, service] })
    }

    /// Admits a watch stream: the caller's rate, then a stream slot of the
    /// caller's and of the service's, held until the stream ends.
    pub fn watch(&self, identity: &Identity, address: Option<IpAddr>) -> Result<WatchTicket, QueryError> {
        let class = Class::of(identity);
        let caller = self.caller(class, identity, address)?;
        let own = class.limits(&self.limits);
        take_rate(&caller, own, class)?;
        let full = |limit: String| QueryError::Overloaded { limit, retry_after: Duration::from_secs(5) };
        let mine = caller.watches.clone().try_acquire_owned().map_err(|_| {
            full(format!("{} watch streams open for this {} caller", own.watch_streams_per_caller, class.name()))
        })?;
        let all = self
            .watches
            .clone()
            .try_acquire_owned()
            .map_err(|_| full(format!("{} watch streams open", self.limits.max_watch_streams)))?;
        Ok(WatchTicket { _permits: [mine, all] })
    }

    /// The lane of an audience's store work (for a watch stream's updates).
    pub fn lane(&self, identity: &Identity) -> Lane {
        self.classes[&Class::of(identity)].lane.clone()
    }

    fn caller(&self, class: Class, identity: &Identity, address: Option<IpAddr>) -> Result<Arc<Caller>, QueryError> {
        let key = match &identity.token {
            Some(token) => CallerKey::Token(token.clone()),
            None => CallerKey::Address(address),
        };
        let now = Instant::now();
        let mut callers = self.callers.lock().expect("callers lock");
        if let Some(caller) = callers.get(&key) {
            *caller.last_seen.lock().expect("caller lock") = now;
            return Ok(caller.clone());
        }
        if callers.len() >= MAX_CALLERS {
            callers.retain(|_, caller| !caller.idle(now));
            if callers.len() >= MAX_CALLERS {
                return Err(QueryError::Overloaded {
                    limit: format!("{MAX_CALLERS} distinct callers active"),
                    retry_after: IDLE_CALLER,
                });
            }
        }
        let own = class.limits(&self.limits).clone();
        let caller = Arc::new(Caller {
            bucket: Mutex::new(Bucket { tokens: f64::from(own.burst.max(1)), at: now }),
            calls: Arc::new(Semaphore::new(own.concurrent_per_caller)),
            watches: Arc::new(Semaphore::new(own.watch_streams_per_caller)),
            last_seen: Mutex::new(now),
            limits: own,
        });
        callers.insert(key, caller.clone());
        Ok(caller)
    }
}

fn take_rate(caller: &Caller, own: &AudienceLimits, class: Class) -> Result<(), QueryError> {
    if own.rate_per_s <= 0.0 {
        return Ok(());
    }
    let burst = f64::from(own.burst.max(1));
    let taken = caller.bucket.lock().expect("bucket lock").take(own.rate_per_s, burst, Instant::now());
    taken.map_err(|retry_after| QueryError::Overloaded {
        limit: format!("rate limit of {} calls/s for this {} caller", own.rate_per_s, class.name()),
        retry_after,
    })
}

async fn wait_for(slots: &Arc<Semaphore>, limit: impl Fn() -> String) -> Result<OwnedSemaphorePermit, QueryError> {
    match tokio::time::timeout(QUEUE_WAIT, slots.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(QueryError::Overloaded { limit: limit(), retry_after: QUEUE_WAIT }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        let mut limits = Limits::default();
        limits.audiences.anonymous = AudienceLimits {
            rate_per_s: 10.0,
            burst: 3,
            concurrent_per_caller: 2,
            watch_streams_per_caller: 1,
            ..limits.audiences.anonymous
        };
        limits
    }

    fn anonymous() -> Identity {
        Identity { audience: Audience::Public, token: None }
    }

    fn policy() -> Identity {
        Identity { audience: Audience::Policy, token: Some("t".into()) }
    }

    #[test]
    fn a_bucket_refills_at_its_rate() {
        let start = Instant::now();
        let mut bucket = Bucket { tokens: 2.0, at: start };
        assert!(bucket.take(4.0, 2.0, start).is_ok());
        assert!(bucket.take(4.0, 2.0, start).is_ok());
        let wait = bucket.take(4.0, 2.0, start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(250));
        assert!(bucket.take(4.0, 2.0, start + Duration::from_millis(250)).is_ok());
        assert!(bucket.take(4.0, 2.0, start + Duration::from_secs(60)).is_ok(), "refilled, capped at the burst");
        assert!(bucket.take(4.0, 2.0, start + Duration::from_secs(60)).is_ok());
        assert!(bucket.take(4.0, 2.0, start + Duration::from_secs(60)).is_err());
    }

    #[tokio::test]
    async fn a_caller_past_its_rate_is_refused_with_a_delay_and_others_are_not() {
        let admission = Admission::new(limits());
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            drop(admission.call(&anonymous(), address).await.unwrap());
        }
        match admission.call(&anonymous(), address).await {
            Err(QueryError::Overloaded { retry_after, limit }) => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_millis(100), "{retry_after:?}");
                assert!(limit.contains("anonymous"), "{limit}");
            }
            other => panic!("expected a refusal, got {:?}", other.err()),
        }
        assert!(admission.call(&anonymous(), Some(IpAddr::from([10, 0, 0, 2]))).await.is_ok(), "another address");
        assert!(admission.call(&policy(), address).await.is_ok(), "a policy token");
    }

    #[tokio::test]
    async fn concurrency_per_caller_and_streams_are_capped() {
        let mut limits = limits();
        limits.audiences.anonymous.burst = 100;
        let admission = Admission::new(limits);
        let held: Vec<Ticket> =
            vec![admission.call(&anonymous(), None).await.unwrap(), admission.call(&anonymous(), None).await.unwrap()];
        assert!(matches!(admission.call(&anonymous(), None).await, Err(QueryError::Overloaded { .. })));
        drop(held);
        let stream = admission.watch(&anonymous(), None).unwrap();
        assert!(matches!(admission.watch(&anonymous(), None), Err(QueryError::Overloaded { .. })));
        drop(stream);
        assert!(admission.watch(&anonymous(), None).is_ok(), "a closed stream gives its slot back");
    }

    #[tokio::test]
    async fn the_service_total_is_shared_and_waited_for_briefly() {
        let mut limits = limits();
        limits.max_concurrent_requests = 1;
        let admission = Admission::new(limits);
        let held = admission.call(&policy(), None).await.unwrap();
        let started = Instant::now();
        assert!(matches!(admission.call(&policy(), None).await, Err(QueryError::Overloaded { .. })));
        assert!(started.elapsed() >= QUEUE_WAIT);
        drop(held);
        assert!(admission.call(&policy(), None).await.is_ok());
    }
}

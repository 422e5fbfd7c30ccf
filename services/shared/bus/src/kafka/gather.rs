//! One poll's worth of a consumer queue.
//!
//! librdkafka puts its connection trouble (`BrokerTransportFailure`,
//! `AllBrokersDown`, …) on the same queue as the messages. Those errors are
//! informational: the client reconnects by itself. A poll that returned at
//! the first of them, followed by the service loop's pause, drained them at
//! two a second, so an outage left a backlog that kept the consumer off
//! the messages long after the broker was back. A poll here drains every
//! queued error within its wait and returns the messages behind them.

use std::future::Future;
use std::time::Duration;
use tokio::time::{Instant, timeout, timeout_at};

/// What one poll found: records, or why there were none.
#[derive(Debug)]
pub(super) struct Gathered<T, E> {
    pub records: Vec<T>,
    /// Non-fatal errors drained on the way, and the last of them.
    pub errors: usize,
    pub last_error: Option<E>,
    /// The client reported a fatal error: it is unusable from here on.
    pub fatal: Option<E>,
}

/// Waits up to `wait` for a first record, draining errors, then gathers
/// up to `max` records while each next one comes within `linger`.
/// `is_fatal` is asked after each error (librdkafka keeps the fatal state
/// on the client, not on the error).
pub(super) async fn gather<T, E, Next, Fut>(
    mut next: Next,
    is_fatal: impl Fn() -> bool,
    max: usize,
    wait: Duration,
    linger: Duration,
) -> Gathered<T, E>
where
    Next: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut gathered = Gathered { records: Vec::new(), errors: 0, last_error: None, fatal: None };
    let deadline = Instant::now() + wait;
    while gathered.records.is_empty() {
        match timeout_at(deadline, next()).await {
            Err(_) => return gathered,
            Ok(Ok(record)) => gathered.records.push(record),
            Ok(Err(error)) if is_fatal() => {
                gathered.fatal = Some(error);
                return gathered;
            }
            Ok(Err(error)) => {
                gathered.errors += 1;
                gathered.last_error = Some(error);
            }
        }
    }
    while gathered.records.len() < max {
        match timeout(linger, next()).await {
            Err(_) => break,
            Ok(Ok(record)) => gathered.records.push(record),
            Ok(Err(error)) if is_fatal() => {
                // Nothing gathered is processed yet: it comes again to a new client.
                gathered.records.clear();
                gathered.fatal = Some(error);
                break;
            }
            Ok(Err(error)) => {
                gathered.errors += 1;
                gathered.last_error = Some(error);
            }
        }
    }
    gathered
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// A scripted queue: its items in order, then nothing (a wait that
    /// never ends, as an idle consumer queue).
    fn queue(
        items: Vec<Result<u32, String>>,
    ) -> impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = Result<u32, String>>>> {
        let items = std::rc::Rc::new(Mutex::new(VecDeque::from(items)));
        move || {
            let next = items.lock().unwrap().pop_front();
            Box::pin(async move {
                match next {
                    Some(item) => item,
                    None => std::future::pending().await,
                }
            })
        }
    }

    const WAIT: Duration = Duration::from_millis(200);
    const LINGER: Duration = Duration::from_millis(20);

    #[tokio::test]
    async fn drains_an_outage_backlog_and_returns_the_messages_behind_it() {
        let mut items: Vec<Result<u32, String>> = (0..5_000).map(|i| Err(format!("all brokers down {i}"))).collect();
        items.extend((1..=3).map(Ok));
        let gathered = gather(queue(items), || false, 100, WAIT, LINGER).await;
        assert_eq!(gathered.records, [1, 2, 3]);
        assert_eq!(gathered.errors, 5_000);
        assert_eq!(gathered.last_error.as_deref(), Some("all brokers down 4999"));
        assert!(gathered.fatal.is_none());
    }

    #[tokio::test]
    async fn errors_between_messages_do_not_end_the_batch() {
        let items = vec![Ok(1), Err("transport".to_string()), Ok(2), Ok(3)];
        let gathered = gather(queue(items), || false, 100, WAIT, LINGER).await;
        assert_eq!(gathered.records, [1, 2, 3]);
        assert_eq!(gathered.errors, 1);
    }

    #[tokio::test]
    async fn only_errors_within_the_wait_report_them_without_records() {
        let items = vec![Err("down".to_string()), Err("still down".to_string())];
        let started = Instant::now();
        let gathered = gather(queue(items), || false, 100, WAIT, LINGER).await;
        assert!(gathered.records.is_empty());
        assert_eq!((gathered.errors, gathered.last_error.as_deref()), (2, Some("still down")));
        assert!(started.elapsed() >= WAIT, "waits out the window rather than returning at the first error");
    }

    #[tokio::test]
    async fn stops_at_most_max_records() {
        let gathered = gather(queue((1..=10).map(Ok).collect()), || false, 4, WAIT, LINGER).await;
        assert_eq!(gathered.records, [1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_fatal_error_drops_what_was_gathered() {
        let taken = std::cell::Cell::new(0);
        let mut inner = queue(vec![Ok(1), Ok(2), Err("fenced".to_string()), Ok(3)]);
        let next = || {
            taken.set(taken.get() + 1);
            inner()
        };
        // The client is in its fatal state once the third item is taken.
        let gathered = gather(next, || taken.get() >= 3, 100, WAIT, LINGER).await;
        assert!(gathered.records.is_empty(), "records before a fatal error come again to the new client");
        assert_eq!(gathered.fatal.as_deref(), Some("fenced"));
        assert_eq!(taken.get(), 3, "nothing is taken after the fatal error");
    }
}

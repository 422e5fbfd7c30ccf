//! One poll's worth of a consumer queue.
//!
//! librdkafka puts its connection trouble (`BrokerTransportFailure`,
//! `AllBrokersDown`, …) on the same queue as the messages. Those errors are
//! informational: the client reconnects by itself. A poll that returned at
//! the first of them, followed by the service loop's pause, drained them at
//! two a second, so an outage left a backlog that kept the consumer off
//! the messages long after the broker was back. A poll here drains the
//! queued errors in one go and returns the messages behind them.

use std::future::Future;
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

/// What one poll found: records, or why there were none.
#[derive(Debug)]
pub(super) struct Gathered<T, E> {
    pub records: Vec<T>,
    /// Non-fatal errors drained on the way: how many, the first and, when
    /// there were more, the last.
    pub errors: usize,
    pub first_error: Option<E>,
    pub last_error: Option<E>,
    /// The client reported a fatal error: it is unusable from here on.
    pub fatal: Option<E>,
}

/// Waits up to `wait` for a first record, then gathers up to `max` records
/// while each next one comes within `linger` of the last; errors neither
/// end the wait nor extend it. `is_fatal` tells a fatal error (the error
/// itself or the client's state) from one the client recovers from.
pub(super) async fn gather<T, E, Next, Fut>(
    mut next: Next,
    is_fatal: impl Fn(&E) -> bool,
    max: usize,
    wait: Duration,
    linger: Duration,
) -> Gathered<T, E>
where
    Next: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut gathered = Gathered { records: Vec::new(), errors: 0, first_error: None, last_error: None, fatal: None };
    let mut deadline = Instant::now() + wait;
    while gathered.records.len() < max {
        // A ready item is taken even past the deadline (tokio's timeout
        // polls first), so the deadline is checked here too: an endless
        // run of errors cannot hold the poll.
        if Instant::now() >= deadline {
            break;
        }
        match timeout_at(deadline, next()).await {
            Err(_) => break,
            Ok(Ok(record)) => {
                gathered.records.push(record);
                deadline = Instant::now() + linger;
            }
            Ok(Err(error)) if is_fatal(&error) => {
                // Nothing gathered is processed yet: it comes again to a new client.
                gathered.records.clear();
                gathered.fatal = Some(error);
                break;
            }
            Ok(Err(error)) => {
                gathered.errors += 1;
                if gathered.first_error.is_none() {
                    gathered.first_error = Some(error);
                } else {
                    gathered.last_error = Some(error);
                }
            }
        }
    }
    gathered
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::pin::Pin;

    type Item = Result<u32, String>;

    /// A scripted queue: its items in order, then nothing (a wait that
    /// never ends, as an idle consumer queue).
    fn queue(items: Vec<Item>) -> impl FnMut() -> Pin<Box<dyn Future<Output = Item>>> {
        let items = RefCell::new(VecDeque::from(items));
        move || {
            let next = items.borrow_mut().pop_front();
            Box::pin(async move {
                match next {
                    Some(item) => item,
                    None => std::future::pending().await,
                }
            })
        }
    }

    /// A record, then errors for ever, each ready at once.
    fn record_then_endless_errors() -> impl FnMut() -> std::future::Ready<Item> {
        let mut taken = 0;
        move || {
            taken += 1;
            std::future::ready(if taken == 1 { Ok(1) } else { Err(format!("error {taken}")) })
        }
    }

    fn never_fatal(_: &String) -> bool {
        false
    }

    const WAIT: Duration = Duration::from_millis(200);
    const LINGER: Duration = Duration::from_millis(20);

    #[tokio::test]
    async fn drains_an_outage_backlog_and_returns_the_messages_behind_it() {
        let mut items: Vec<Item> = (0..5_000).map(|i| Err(format!("all brokers down {i}"))).collect();
        items.extend((1..=3).map(Ok));
        let gathered = gather(queue(items), never_fatal, 100, WAIT, LINGER).await;
        assert_eq!(gathered.records, [1, 2, 3]);
        assert_eq!(gathered.errors, 5_000);
        assert_eq!(gathered.first_error.as_deref(), Some("all brokers down 0"));
        assert_eq!(gathered.last_error.as_deref(), Some("all brokers down 4999"));
        assert!(gathered.fatal.is_none());
    }

    #[tokio::test]
    async fn errors_between_messages_do_not_end_the_batch() {
        let items = vec![Ok(1), Err("transport".to_string()), Ok(2), Ok(3)];
        let gathered = gather(queue(items), never_fatal, 100, WAIT, LINGER).await;
        assert_eq!(gathered.records, [1, 2, 3]);
        assert_eq!((gathered.errors, gathered.first_error.as_deref()), (1, Some("transport")));
        assert!(gathered.last_error.is_none());
    }

    #[tokio::test]
    async fn only_errors_within_the_wait_report_them_without_records() {
        let items = vec![Err("down".to_string()), Err("still down".to_string())];
        let started = Instant::now();
        let gathered = gather(queue(items), never_fatal, 100, WAIT, LINGER).await;
        assert!(gathered.records.is_empty());
        assert_eq!(gathered.errors, 2);
        assert_eq!(
            (gathered.first_error.as_deref(), gathered.last_error.as_deref()),
            (Some("down"), Some("still down"))
        );
        assert!(started.elapsed() >= WAIT, "waits out the window rather than returning at the first error");
    }

    #[tokio::test]
    async fn endless_errors_after_a_record_end_the_batch_at_the_linger() {
        let wait = Duration::from_secs(5);
        let started = Instant::now();
        let gathered = gather(record_then_endless_errors(), never_fatal, 100, wait, LINGER).await;
        assert_eq!(gathered.records, [1]);
        assert!(gathered.errors > 0);
        assert!(started.elapsed() < wait / 2, "errors kept the batch open for {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn endless_errors_without_a_record_end_at_the_wait() {
        let mut source = record_then_endless_errors();
        let _first_record = source().await;
        let started = Instant::now();
        let gathered = gather(source, never_fatal, 100, WAIT, LINGER).await;
        assert!(gathered.records.is_empty() && gathered.errors > 0);
        assert!(started.elapsed() >= WAIT);
    }

    #[tokio::test]
    async fn stops_at_most_max_records() {
        let gathered = gather(queue((1..=10).map(Ok).collect()), never_fatal, 4, WAIT, LINGER).await;
        assert_eq!(gathered.records, [1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_fatal_error_drops_what_was_gathered() {
        let items = vec![Ok(1), Ok(2), Err("fenced".to_string()), Ok(3)];
        let gathered = gather(queue(items), |error: &String| error == "fenced", 100, WAIT, LINGER).await;
        assert!(gathered.records.is_empty(), "records before a fatal error come again to the new client");
        assert_eq!(gathered.fatal.as_deref(), Some("fenced"));
    }

    #[tokio::test]
    async fn a_fatal_error_before_any_record_is_reported_at_once() {
        let items = vec![Err("down".to_string()), Err("fenced".to_string()), Ok(1)];
        let started = Instant::now();
        let gathered = gather(queue(items), |error: &String| error == "fenced", 100, WAIT, LINGER).await;
        assert!(gathered.records.is_empty());
        assert_eq!((gathered.fatal.as_deref(), gathered.errors), (Some("fenced"), 1));
        assert!(started.elapsed() < WAIT, "the poll returns at the fatal error, not at the end of its wait");
    }
}

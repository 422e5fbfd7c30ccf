//! Retrying an operation with capped exponential backoff until it succeeds
//! or shutdown is requested: back-pressure instead of loss.

use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first: Duration::from_millis(100), max: Duration::from_secs(5) }
    }
}

/// Runs `operation` until it returns Ok. Between failures it calls
/// `on_error(attempt, &error)` and sleeps; returns the last error if
/// `stop` resolves first.
pub async fn retry_until<T, E, Op, Fut, Stop>(
    backoff: Backoff,
    mut operation: Op,
    mut on_error: impl FnMut(u32, &E),
    stop: Stop,
) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    Stop: Future<Output = ()>,
{
    tokio::pin!(stop);
    let mut delay = backoff.first;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match operation().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        on_error(attempt, &error);
        tokio::select! {
            _ = &mut stop => return Err(error),
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(backoff.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_until_success() {
        let mut calls = 0;
        let mut errors = Vec::new();
        let fast = Backoff { first: Duration::from_millis(1), max: Duration::from_millis(2) };
        let result: Result<u32, String> = retry_until(
            fast,
            || {
                calls += 1;
                let outcome = if calls < 3 { Err(format!("fail {calls}")) } else { Ok(calls) };
                async move { outcome }
            },
            |attempt, error: &String| errors.push((attempt, error.clone())),
            std::future::pending(),
        )
        .await;
        assert_eq!(result, Ok(3));
        assert_eq!(errors, [(1, "fail 1".to_string()), (2, "fail 2".to_string())]);
    }

    #[tokio::test]
    async fn gives_up_when_told_to_stop() {
        let result: Result<(), &str> =
            retry_until(Backoff::default(), || async { Err("down") }, |_, _| {}, std::future::ready(())).await;
        assert_eq!(result, Err("down"));
    }
}

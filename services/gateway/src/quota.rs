//! Per-partner quotas: a token bucket of events per partner. A call that
//! would overdraw it is refused whole, with the delay after which it would
//! pass, never queued.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Quotas {
    rate_per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Quotas {
    /// `rate_per_s` of 0 turns quotas off.
    pub fn new(rate_per_s: f64, burst: u32) -> Quotas {
        Quotas { rate_per_s, burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// Takes `events` from the partner's bucket, or says how long until it
    /// holds them. More events than the burst can never pass at once: the
    /// delay is then the time to refill the whole burst.
    pub fn take(&self, partner: &str, events: usize, now: Instant) -> Result<(), Duration> {
        if self.rate_per_s <= 0.0 || events == 0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().expect("quota lock");
        let bucket = buckets.entry(partner.to_string()).or_insert_with(|| Bucket { tokens: self.burst, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate_per_s).min(self.burst);
        bucket.updated = now;
        let wanted = events as f64;
        if wanted <= bucket.tokens {
            bucket.tokens -= wanted;
            return Ok(());
        }
        let missing = wanted.min(self.burst) - bucket.tokens;
        Err(Duration::from_secs_f64((missing / self.rate_per_s).max(0.001)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partner_past_its_burst_waits_for_the_refill_and_others_go_on() {
        let quotas = Quotas::new(100.0, 50);
        let start = Instant::now();
        assert_eq!(quotas.take("a", 50, start), Ok(()));
        let delay = quotas.take("a", 10, start).unwrap_err();
        assert!((delay.as_secs_f64() - 0.1).abs() < 1e-6, "{delay:?}");
        assert_eq!(quotas.take("b", 50, start), Ok(()), "quotas are per partner");
        assert_eq!(quotas.take("a", 10, start + Duration::from_millis(100)), Ok(()));
    }

    #[test]
    fn zero_rate_means_no_quota() {
        let quotas = Quotas::new(0.0, 1);
        assert_eq!(quotas.take("a", 1_000_000, Instant::now()), Ok(()));
    }
}

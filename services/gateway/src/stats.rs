//! Gateway counters, per partner, for the metrics endpoint.

use skills_runtime::metrics::{Exposition, LatencyHistogram};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// What one partner sent, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerCounts {
    pub accepted: u64,
    pub duplicates: u64,
    /// Refused events by reason code.
    pub rejected: BTreeMap<String, u64>,
    /// Calls refused whole: quota, capacity, Kafka unavailable.
    pub refused_calls: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
pub struct GatewayStats {
    partners: Mutex<BTreeMap<String, PartnerCounts>>,
    /// From a write's start to Kafka's acknowledgement of all of it.
    pub ack_latency: LatencyHistogram,
    /// Calls refused because no partner credential matched.
    unauthenticated: Mutex<u64>,
}

impl GatewayStats {
    pub fn record(&self, partner: &str, update: impl FnOnce(&mut PartnerCounts)) {
        update(self.partners.lock().expect("stats lock").entry(partner.to_string()).or_default());
    }

    pub fn refused(&self, partner: &str, why: &'static str) {
        self.record(partner, |counts| *counts.refused_calls.entry(why).or_default() += 1);
    }

    pub fn unauthenticated(&self) {
        *self.unauthenticated.lock().expect("stats lock") += 1;
    }

    pub fn observe_ack(&self, latency: Duration) {
        self.ack_latency.observe(latency);
    }

    pub fn partner(&self, partner: &str) -> PartnerCounts {
        self.partners.lock().expect("stats lock").get(partner).cloned().unwrap_or_default()
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let partners = self.partners.lock().expect("stats lock").clone();
        let unauthenticated = *self.unauthenticated.lock().expect("stats lock");
        let per_partner = |value: fn(&PartnerCounts) -> u64| {
            partners.iter().map(move |(partner, counts)| (vec![("partner", partner.as_str())], value(counts)))
        };
        let rejected = partners.iter().flat_map(|(partner, counts)| {
            counts
                .rejected
                .iter()
                .map(move |(reason, n)| (vec![("partner", partner.as_str()), ("reason", reason.as_str())], *n))
        });
        let refused = partners.iter().flat_map(|(partner, counts)| {
            counts.refused_calls.iter().map(move |(why, n)| (vec![("partner", partner.as_str()), ("why", *why)], *n))
        });
        Exposition::default()
            .multi_labelled_counter(
                "skills_gateway_accepted_total",
                "Events durable in Kafka and acknowledged ACCEPTED, by partner.",
                per_partner(|counts| counts.accepted),
            )
            .multi_labelled_counter(
                "skills_gateway_duplicates_total",
                "Events acknowledged DUPLICATE (an id already accepted with the same content), by partner.",
                per_partner(|counts| counts.duplicates),
            )
            .multi_labelled_counter(
                "skills_gateway_rejected_total",
                "Events acknowledged REJECTED, by partner and reason.",
                rejected,
            )
            .multi_labelled_counter(
                "skills_gateway_refused_calls_total",
                "Calls refused whole (quota, capacity, kafka), by partner.",
                refused,
            )
            .counter(
                "skills_gateway_unauthenticated_total",
                "Calls refused for want of a partner credential.",
                unauthenticated,
            )
            .histogram(
                "skills_gateway_ack_seconds",
                "From a write's start to Kafka's acknowledgement.",
                &self.ack_latency,
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_per_partner_counters() {
        let stats = GatewayStats::default();
        stats.record("gen-lyon", |counts| {
            counts.accepted += 3;
            *counts.rejected.entry("unknown_region".into()).or_default() += 1;
        });
        stats.refused("gen-lyon", "quota");
        let text = stats.render();
        assert!(text.contains("skills_gateway_accepted_total{partner=\"gen-lyon\"} 3\n"), "{text}");
        assert!(text.contains("skills_gateway_rejected_total{partner=\"gen-lyon\",reason=\"unknown_region\"} 1\n"));
        assert!(text.contains("skills_gateway_refused_calls_total{partner=\"gen-lyon\",why=\"quota\"} 1\n"));
    }
}

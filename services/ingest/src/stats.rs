//! Ingestion counters, shared with the metrics endpoint.

use skills_runtime::metrics::Exposition;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Distinct partners labelled in the metrics; the rest are summed under
/// `OTHER_PARTNERS`. A raw topic takes any partner id an event claims, so
/// the label set is bounded here.
pub const MAX_LABELLED_PARTNERS: usize = 1_000;
pub const OTHER_PARTNERS: &str = "(other)";
/// The label of records whose partner is unknown (undecodable ones).
pub const UNKNOWN_PARTNER: &str = "(unknown)";

/// What one batch did, counted once the broker has it.
#[derive(Debug, Default)]
pub struct BatchTally {
    pub produced_by_partner: HashMap<String, u64>,
    /// The partner of each duplicate notice.
    pub duplicates: Vec<String>,
    /// Partner (empty when unknown) and reason of each dead letter.
    pub rejections: Vec<(String, &'static str)>,
}

/// Counters by partner.
#[derive(Debug, Default, Clone)]
struct PartnerCounts {
    produced: u64,
    duplicates: u64,
    dead_lettered: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
pub struct IngestStats {
    pub consumed: AtomicU64,
    pub produced: AtomicU64,
    pub duplicates: AtomicU64,
    pub batches: AtomicU64,
    pub bus_errors: AtomicU64,
    /// Raw records not yet committed by this instance's group member.
    pub lag: AtomicI64,
    dead_lettered: Mutex<BTreeMap<&'static str, u64>>,
    partners: Mutex<BTreeMap<String, PartnerCounts>>,
}

impl IngestStats {
    pub fn add_batch(&self, tally: BatchTally) {
        let produced: u64 = tally.produced_by_partner.values().sum();
        Self::add(&self.produced, produced);
        Self::add(&self.duplicates, tally.duplicates.len() as u64);
        Self::add(&self.batches, 1);
        {
            let mut dead_lettered = self.dead_lettered.lock().expect("stats lock");
            for (_, reason) in &tally.rejections {
                *dead_lettered.entry(reason).or_default() += 1;
            }
        }
        let mut partners = self.partners.lock().expect("stats lock");
        for (partner, count) in tally.produced_by_partner {
            partner_entry(&mut partners, &partner).produced += count;
        }
        for partner in tally.duplicates {
            partner_entry(&mut partners, &partner).duplicates += 1;
        }
        for (partner, reason) in tally.rejections {
            *partner_entry(&mut partners, &partner).dead_lettered.entry(reason).or_default() += 1;
        }
    }

    pub fn dead_lettered(&self) -> BTreeMap<&'static str, u64> {
        self.dead_lettered.lock().expect("stats lock").clone()
    }

    pub fn dead_lettered_total(&self) -> u64 {
        self.dead_lettered().values().sum()
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64, amount: u64) {
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let dead_lettered = self.dead_lettered();
        let partners = self.partners.lock().expect("stats lock").clone();
        let per_partner = |count: fn(&PartnerCounts) -> u64| {
            partners.iter().map(move |(partner, counts)| (vec![("partner", partner.as_str())], count(counts)))
        };
        let dead_lettered_by_partner = partners.iter().flat_map(|(partner, counts)| {
            counts
                .dead_lettered
                .iter()
                .map(move |(reason, n)| (vec![("partner", partner.as_str()), ("reason", *reason)], *n))
        });
        Exposition::default()
            .counter("skills_ingest_consumed_total", "Raw records read.", Self::get(&self.consumed))
            .counter("skills_ingest_produced_total", "Normalized events produced.", Self::get(&self.produced))
            .counter(
                "skills_ingest_duplicates_total",
                "Repeats of recently produced events from other raw records (a notice is produced in their place).",
                Self::get(&self.duplicates),
            )
            .multi_labelled_counter(
                "skills_ingest_partner_produced_total",
                "Normalized events produced, by partner.",
                per_partner(|counts| counts.produced),
            )
            .multi_labelled_counter(
                "skills_ingest_partner_duplicates_total",
                "Duplicates of recent events, by partner.",
                per_partner(|counts| counts.duplicates),
            )
            .multi_labelled_counter(
                "skills_ingest_partner_dead_lettered_total",
                "Raw records dead-lettered, by partner (as the event names it when the gateway did not) and reason.",
                dead_lettered_by_partner,
            )
            .labelled_counter(
                "skills_ingest_dead_lettered_total",
                "Raw records sent to the dead-letter topic, by reason.",
                "reason",
                dead_lettered.iter().map(|(reason, n)| (*reason, *n)),
            )
            .counter("skills_ingest_batches_total", "Batches processed and committed.", Self::get(&self.batches))
            .counter(
                "skills_ingest_bus_errors_total",
                "Failed polls, produces and commits (retried).",
                Self::get(&self.bus_errors),
            )
            .gauge(
                "skills_ingest_lag",
                "Raw records not yet committed by this member.",
                self.lag.load(Ordering::Relaxed),
            )
            .finish()
    }
}

/// The counters of `partner`, or of the catch-all labels once the label set
/// is full or the partner is unknown.
fn partner_entry<'a>(partners: &'a mut BTreeMap<String, PartnerCounts>, partner: &str) -> &'a mut PartnerCounts {
    let label = match partner {
        "" => UNKNOWN_PARTNER,
        _ if partners.contains_key(partner) || partners.len() < MAX_LABELLED_PARTNERS => partner,
        _ => OTHER_PARTNERS,
    };
    partners.entry(label.to_string()).or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_partner_with_a_bounded_label_set() {
        let stats = IngestStats::default();
        let mut tally = BatchTally::default();
        tally.produced_by_partner.insert("alpha".into(), 3);
        tally.duplicates.push("alpha".into());
        tally.rejections.push(("alpha".into(), "unknown_skill"));
        tally.rejections.push((String::new(), "undecodable"));
        stats.add_batch(tally);
        let text = stats.render();
        assert!(text.contains("skills_ingest_produced_total 3\n"), "{text}");
        assert!(text.contains("skills_ingest_partner_produced_total{partner=\"alpha\"} 3\n"), "{text}");
        assert!(text.contains("skills_ingest_partner_duplicates_total{partner=\"alpha\"} 1\n"), "{text}");
        assert!(
            text.contains("skills_ingest_partner_dead_lettered_total{partner=\"alpha\",reason=\"unknown_skill\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("partner=\"(unknown)\",reason=\"undecodable\"} 1\n"), "{text}");

        let mut many = BatchTally::default();
        for n in 0..MAX_LABELLED_PARTNERS + 5 {
            many.produced_by_partner.insert(format!("p{n}"), 1);
        }
        stats.add_batch(many);
        let labelled = stats.partners.lock().unwrap().len();
        assert_eq!(labelled, MAX_LABELLED_PARTNERS + 1, "the cap, plus the catch-all label");
        assert!(stats.partners.lock().unwrap()[OTHER_PARTNERS].produced >= 5);
    }
}

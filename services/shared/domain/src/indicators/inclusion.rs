//! Inclusion indicators: who is reached. Shares of women, of residents of
//! priority urban neighbourhoods, of rural residents, of under-26s and of
//! jobseekers, among enrolled and among learners certified at or above the
//! skill's target level, against targets.

use super::counters::SupplyCounters;
use serde::{Deserialize, Serialize};

pub const INCLUSION_GROUPS: [&str; 5] = ["women", "priority_neighbourhood", "rural", "under_26", "jobseekers"];

/// Target shares, configurable (`[indicators.inclusion_targets]`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct InclusionTargets {
    pub women: f64,
    pub priority_neighbourhood: f64,
    pub rural: f64,
    pub under_26: f64,
    pub jobseekers: f64,
}

impl Default for InclusionTargets {
    fn default() -> Self {
        InclusionTargets { women: 0.40, priority_neighbourhood: 0.20, rural: 0.20, under_26: 0.30, jobseekers: 0.50 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InclusionShare {
    pub group: &'static str,
    pub share_enrolled: Option<f64>,
    pub share_certified: Option<f64>,
    pub target: f64,
    /// share − target: negative means below target.
    pub distance_enrolled: Option<f64>,
    pub distance_certified: Option<f64>,
}

fn targets_in_order(targets: &InclusionTargets) -> [f64; 5] {
    [targets.women, targets.priority_neighbourhood, targets.rural, targets.under_26, targets.jobseekers]
}

fn share(count: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| count as f64 / total as f64)
}

pub fn inclusion_shares(supply: &SupplyCounters, targets: &InclusionTargets) -> Vec<InclusionShare> {
    let enrolled = supply.enrolled_groups.in_order();
    let certified = supply.certified_groups.in_order();
    let targets = targets_in_order(targets);
    INCLUSION_GROUPS
        .iter()
        .enumerate()
        .map(|(i, group)| {
            let share_enrolled = share(enrolled[i], supply.enrolled);
            let share_certified = share(certified[i], supply.certified_at_target);
            InclusionShare {
                group,
                share_enrolled,
                share_certified,
                target: targets[i],
                distance_enrolled: share_enrolled.map(|s| s - targets[i]),
                distance_certified: share_certified.map(|s| s - targets[i]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::counters::GroupCounts;
    use super::*;

    #[test]
    fn shares_and_distances_by_hand() {
        let supply = SupplyCounters {
            enrolled: 200,
            certified_at_target: 50,
            enrolled_groups: GroupCounts {
                women: 52,
                priority_neighbourhood: 38,
                rural: 40,
                under_26: 70,
                jobseekers: 100,
            },
            certified_groups: GroupCounts { women: 10, ..Default::default() },
            ..Default::default()
        };
        let shares = inclusion_shares(&supply, &InclusionTargets::default());
        let women = &shares[0];
        assert_eq!(women.group, "women");
        assert_eq!(women.share_enrolled, Some(0.26));
        assert!((women.distance_enrolled.unwrap() - (0.26 - 0.40)).abs() < 1e-12);
        assert_eq!(women.share_certified, Some(0.2));
        assert_eq!(shares[1].share_enrolled, Some(0.19));
        assert_eq!(shares[4].share_enrolled, Some(0.5));
        assert_eq!(shares[4].distance_enrolled, Some(0.0));
    }

    #[test]
    fn no_enrolled_means_undefined_shares() {
        let shares = inclusion_shares(&SupplyCounters::default(), &InclusionTargets::default());
        assert!(shares.iter().all(|s| s.share_enrolled.is_none() && s.distance_certified.is_none()));
        assert_eq!(shares.len(), 5);
    }
}

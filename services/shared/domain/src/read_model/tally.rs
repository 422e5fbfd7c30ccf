//! What learners and demand facts add to one cell: signed sums, so that a
//! change is a difference of tallies and a cell is their sum.

use crate::indicators::{CellCounters, DemandCounters, GroupCounts, SupplyCounters};
use std::collections::BTreeMap;

/// Sums of one cell. Learner counts are sums of 0/1 per learner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellTally {
    pub learners: i64,
    pub enrolled: i64,
    pub active: i64,
    pub completed: i64,
    pub dropped_out: i64,
    pub certified: i64,
    pub certified_at_target: i64,
    pub gain_sum: i64,
    pub gain_learners: i64,
    /// Women, priority neighbourhood, rural, under 26, jobseekers.
    pub enrolled_groups: [i64; 5],
    pub certified_groups: [i64; 5],
    pub openings: i64,
    pub hard_to_fill: i64,
    /// Demand facts counted (a posting of 0 openings still makes a cell).
    pub postings: i64,
    /// Active learners at the period's end, by the month (`month_index`)
    /// of their earliest planned end: any pipeline horizon that is a month
    /// boundary is answered by summing the months before it.
    pub finishing: BTreeMap<i32, i64>,
}

/// Column names of the scalar sums, in the order of `scalars`.
pub const TALLY_COLUMNS: [&str; 22] = [
    "learners",
    "enrolled",
    "active",
    "completed",
    "dropped_out",
    "certified",
    "certified_at_target",
    "gain_sum",
    "gain_learners",
    "enrolled_women",
    "enrolled_priority",
    "enrolled_rural",
    "enrolled_under_26",
    "enrolled_jobseekers",
    "certified_women",
    "certified_priority",
    "certified_rural",
    "certified_under_26",
    "certified_jobseekers",
    "openings",
    "hard_to_fill",
    "postings",
];

impl CellTally {
    pub fn scalars(&self) -> [i64; 22] {
        let e = &self.enrolled_groups;
        let c = &self.certified_groups;
        [
            self.learners,
            self.enrolled,
            self.active,
            self.completed,
            self.dropped_out,
            self.certified,
            self.certified_at_target,
            self.gain_sum,
            self.gain_learners,
            e[0],
            e[1],
            e[2],
            e[3],
            e[4],
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            self.openings,
            self.hard_to_fill,
            self.postings,
        ]
    }

    pub fn from_scalars(values: [i64; 22]) -> CellTally {
        let v = values;
        CellTally {
            learners: v[0],
            enrolled: v[1],
            active: v[2],
            completed: v[3],
            dropped_out: v[4],
            certified: v[5],
            certified_at_target: v[6],
            gain_sum: v[7],
            gain_learners: v[8],
            enrolled_groups: [v[9], v[10], v[11], v[12], v[13]],
            certified_groups: [v[14], v[15], v[16], v[17], v[18]],
            openings: v[19],
            hard_to_fill: v[20],
            postings: v[21],
            finishing: BTreeMap::new(),
        }
    }

    /// Adds `other` times `sign` (1 or −1).
    pub fn add(&mut self, other: &CellTally, sign: i64) {
        let mut sums = self.scalars();
        for (sum, value) in sums.iter_mut().zip(other.scalars()) {
            *sum += sign * value;
        }
        let finishing = std::mem::take(&mut self.finishing);
        *self = CellTally { finishing, ..CellTally::from_scalars(sums) };
        for (month, learners) in &other.finishing {
            *self.finishing.entry(*month).or_default() += sign * learners;
        }
        self.finishing.retain(|_, learners| *learners != 0);
    }

    /// No learner, no gain and no posting: the cell does not exist.
    pub fn is_empty(&self) -> bool {
        self.scalars().iter().all(|value| *value == 0) && self.finishing.is_empty()
    }

    /// The counters of the cell, for a pipeline horizon ending at the start
    /// of month `horizon_month` (a `month_index`).
    pub fn counters(&self, region: &str, skill: Option<&str>, horizon_month: i32) -> CellCounters {
        let count = |value: i64| value.max(0) as u64;
        let groups = |g: &[i64; 5]| GroupCounts {
            women: count(g[0]),
            priority_neighbourhood: count(g[1]),
            rural: count(g[2]),
            under_26: count(g[3]),
            jobseekers: count(g[4]),
        };
        let finishing: i64 = self.finishing.range(..horizon_month).map(|(_, learners)| learners).sum();
        CellCounters {
            region: region.to_string(),
            skill: skill.map(str::to_string),
            supply: SupplyCounters {
                learners: count(self.learners),
                enrolled: count(self.enrolled),
                active: count(self.active),
                active_finishing: count(finishing),
                completed: count(self.completed),
                dropped_out: count(self.dropped_out),
                certified: count(self.certified),
                certified_at_target: count(self.certified_at_target),
                gain_sum: self.gain_sum,
                gain_learners: count(self.gain_learners),
                enrolled_groups: groups(&self.enrolled_groups),
                certified_groups: groups(&self.certified_groups),
            },
            demand: DemandCounters { openings: count(self.openings), hard_to_fill: count(self.hard_to_fill) },
        }
    }

    /// The stock part only: what a later period with no events inherits
    /// from this one (everyone active stays active; no flows).
    pub fn stock(&self) -> CellTally {
        CellTally {
            learners: self.active,
            active: self.active,
            finishing: self.finishing.clone(),
            ..CellTally::default()
        }
    }
}

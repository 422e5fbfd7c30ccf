//! Counters a store returns per cell (region × skill × period) or per
//! region. Every count is of distinct learners unless said otherwise.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCounts {
    pub women: u64,
    pub priority_neighbourhood: u64,
    pub rural: u64,
    pub under_26: u64,
    pub jobseekers: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SupplyCounters {
    /// Learners the cell is built on: any enrolment event or assessment in
    /// the period, or active at its end. Small-cell suppression compares
    /// this with k.
    pub learners: u64,
    pub enrolled: u64,
    /// Latest status at the period's end is enrolled or started.
    pub active: u64,
    /// Active and planned to end before the period's end + the horizon.
    pub active_finishing: u64,
    /// Completed or certified in the period.
    pub completed: u64,
    pub dropped_out: u64,
    /// Certified in the period, at any level.
    pub certified: u64,
    /// Certified in the period at or above the skill's target level.
    pub certified_at_target: u64,
    /// Sum over (learner, skill) pairs of final − initial level, for pairs
    /// whose final assessment falls in the period.
    pub gain_sum: i64,
    pub gain_learners: u64,
    pub enrolled_groups: GroupCounts,
    pub certified_groups: GroupCounts,
}

impl GroupCounts {
    /// The counts in `INCLUSION_GROUPS` order.
    pub fn in_order(&self) -> [u64; 5] {
        [self.women, self.priority_neighbourhood, self.rural, self.under_26, self.jobseekers]
    }
}

impl std::ops::AddAssign<&GroupCounts> for GroupCounts {
    fn add_assign(&mut self, part: &GroupCounts) {
        self.women += part.women;
        self.priority_neighbourhood += part.priority_neighbourhood;
        self.rural += part.rural;
        self.under_26 += part.under_26;
        self.jobseekers += part.jobseekers;
    }
}

/// Sums of disjoint parts: the regions of the country, or the partners of
/// a cell (pseudonyms are partner-scoped, so distinct counts add up).
impl std::ops::AddAssign<&SupplyCounters> for SupplyCounters {
    fn add_assign(&mut self, part: &SupplyCounters) {
        self.learners += part.learners;
        self.enrolled += part.enrolled;
        self.active += part.active;
        self.active_finishing += part.active_finishing;
        self.completed += part.completed;
        self.dropped_out += part.dropped_out;
        self.certified += part.certified;
        self.certified_at_target += part.certified_at_target;
        self.gain_sum += part.gain_sum;
        self.gain_learners += part.gain_learners;
        self.enrolled_groups += &part.enrolled_groups;
        self.certified_groups += &part.certified_groups;
    }
}

impl std::ops::AddAssign<&DemandCounters> for DemandCounters {
    fn add_assign(&mut self, part: &DemandCounters) {
        self.openings += part.openings;
        self.hard_to_fill += part.hard_to_fill;
    }
}

impl SupplyCounters {
    /// The learners any value of the cell is built on, for the k rule:
    /// `learners` counts them all (assessment-only learners included); the
    /// maximum with each count guards the rule against a count that a
    /// store would ever give without its learners.
    pub fn contributors(&self) -> u64 {
        [
            self.learners,
            self.enrolled,
            self.active,
            self.completed,
            self.dropped_out,
            self.certified,
            self.gain_learners,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemandCounters {
    pub openings: u64,
    pub hard_to_fill: u64,
}

/// Counters of one cell; `skill` is None for a whole-region row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellCounters {
    pub region: String,
    pub skill: Option<String>,
    pub supply: SupplyCounters,
    pub demand: DemandCounters,
}

/// A partner's part of a cell: the same counts over its own learners and
/// postings only (pseudonyms are partner-scoped, so the parts of a cell
/// sum to the cell).
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerCell {
    pub partner: String,
    pub counters: CellCounters,
}

//! How a cell is served when withheld (statistical secrecy): every
//! learner-derived value goes, for partner and public callers; policy
//! teams see everything. Openings are not about learners and stay visible.
//! The gap and ratio are withheld too: with the openings visible they would
//! give certified + pipeline back. Which cells are withheld is decided per
//! year over every figure at once (`crate::disclosure`).

use super::cell::CellIndicators;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Policy,
    Partner(String),
    Public,
}

impl Audience {
    /// The k applied to this audience (0: no suppression).
    pub fn suppression_k(&self, k: u32) -> u32 {
        match self {
            Audience::Policy => 0,
            Audience::Partner(_) | Audience::Public => k,
        }
    }
}

/// A cell as served: None where a value is undefined or withheld.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedCell {
    pub region: String,
    pub skill: Option<String>,
    pub suppressed: bool,
    pub learners: Option<u64>,
    pub enrolled: Option<u64>,
    pub active: Option<u64>,
    pub completed: Option<u64>,
    pub dropped_out: Option<u64>,
    pub certified: Option<u64>,
    pub completion_rate: Option<f64>,
    pub mean_proficiency_gain: Option<f64>,
    pub pipeline: Option<f64>,
    pub openings: u64,
    pub hard_to_fill_share: Option<f64>,
    pub talent_gap: Option<f64>,
    pub shortage_ratio: Option<f64>,
    pub shortage_score: Option<u8>,
}

/// Which values of a cell are withheld: its flows (learners, enrolments,
/// completions, dropouts, certifications, gains) and its stocks (active
/// learners, those finishing within the horizon). Values built on both
/// (pipeline, gap, ratio, score) go with either.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hidden {
    pub flows: bool,
    pub stocks: bool,
}

impl Hidden {
    pub const ALL: Hidden = Hidden { flows: true, stocks: true };
    pub const NONE: Hidden = Hidden { flows: false, stocks: false };

    pub fn any(self) -> bool {
        self.flows || self.stocks
    }
}

/// A cell as served, with the values `hidden` withheld (decided by the
/// caller: `crate::disclosure`); `suppressed` says that some are.
pub fn publish_withheld(cell: &CellIndicators, hidden: Hidden) -> PublishedCell {
    let flow = |value| if hidden.flows { None } else { Some(value) };
    let both = !hidden.any();
    PublishedCell {
        region: cell.region.clone(),
        skill: cell.skill.clone(),
        suppressed: hidden.any(),
        learners: flow(cell.learners),
        enrolled: flow(cell.enrolled),
        active: (!hidden.stocks).then_some(cell.active),
        completed: flow(cell.completed),
        dropped_out: flow(cell.dropped_out),
        certified: flow(cell.certified),
        completion_rate: cell.completion_rate.filter(|_| !hidden.flows),
        mean_proficiency_gain: cell.mean_proficiency_gain.filter(|_| !hidden.flows),
        pipeline: both.then_some(cell.pipeline),
        openings: cell.openings,
        hard_to_fill_share: cell.hard_to_fill_share,
        talent_gap: both.then_some(cell.talent_gap),
        shortage_ratio: both.then_some(cell.shortage_ratio),
        shortage_score: cell.shortage_score.filter(|_| both),
    }
}

#[cfg(test)]
mod tests {
    use super::super::counters::{CellCounters, DemandCounters, SupplyCounters};
    use super::*;
    use proptest::prelude::*;

    fn cell(learners: u64, certified: u64, openings: u64) -> CellIndicators {
        let mut cell = CellIndicators::from_counters(&CellCounters {
            region: "94".into(),
            skill: Some("3.4".into()),
            supply: SupplyCounters {
                learners,
                enrolled: learners,
                certified_at_target: certified,
                ..Default::default()
            },
            demand: DemandCounters { openings, hard_to_fill: openings / 2 },
        });
        cell.shortage_score = Some(3);
        cell
    }

    #[test]
    fn policy_sees_everything_others_get_k() {
        assert_eq!(Audience::Policy.suppression_k(11), 0);
        assert_eq!(Audience::Public.suppression_k(11), 11);
        assert_eq!(Audience::Partner("p".into()).suppression_k(5), 5);
        let published = publish_withheld(&cell(3, 2, 40), Hidden::NONE);
        assert!(!published.suppressed);
        assert_eq!(published.certified, Some(2));
    }

    #[test]
    fn a_withheld_cell_keeps_only_demand() {
        let published = publish_withheld(&cell(10, 2, 40), Hidden::ALL);
        assert!(published.suppressed);
        assert_eq!(published.openings, 40);
        assert_eq!(published.hard_to_fill_share, Some(0.5));
        assert_eq!(published.certified, None);
        assert_eq!(published.talent_gap, None);
        assert_eq!(published.shortage_score, None);
    }

    proptest! {
        #[test]
        fn a_withheld_cell_reveals_no_learner_value(
            learners in 1u64..200, certified in 0u64..200, openings in 0u64..500, withheld: bool
        ) {
            let hidden = if withheld { Hidden::ALL } else { Hidden::NONE };
            let published = publish_withheld(&cell(learners, certified.min(learners), openings), hidden);
            prop_assert_eq!(published.openings, openings);
            if withheld {
                prop_assert!(published.suppressed);
                prop_assert!(published.learners.is_none() && published.enrolled.is_none());
                prop_assert!(published.active.is_none() && published.completed.is_none());
                prop_assert!(published.dropped_out.is_none() && published.certified.is_none());
                prop_assert!(published.completion_rate.is_none() && published.mean_proficiency_gain.is_none());
                prop_assert!(published.pipeline.is_none() && published.talent_gap.is_none());
                prop_assert!(published.shortage_ratio.is_none() && published.shortage_score.is_none());
            } else {
                prop_assert_eq!(published.certified, Some(certified.min(learners)));
            }
        }
    }
}

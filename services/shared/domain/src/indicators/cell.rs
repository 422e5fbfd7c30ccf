//! Supply, demand and gap indicators of one cell.

use super::counters::CellCounters;

#[derive(Debug, Clone, PartialEq)]
pub struct CellIndicators {
    pub region: String,
    pub skill: Option<String>,
    pub learners: u64,
    pub enrolled: u64,
    pub active: u64,
    pub completed: u64,
    pub dropped_out: u64,
    /// Certified at or above the skill's target level.
    pub certified: u64,
    pub completion_rate: Option<f64>,
    pub mean_proficiency_gain: Option<f64>,
    pub pipeline: f64,
    pub openings: u64,
    pub hard_to_fill_share: Option<f64>,
    pub talent_gap: f64,
    pub shortage_ratio: f64,
    pub shortage_score: Option<u8>,
}

/// completed / (completed + dropped out); None before anyone left.
pub fn completion_rate(completed: u64, dropped_out: u64) -> Option<f64> {
    let exits = completed + dropped_out;
    (exits > 0).then(|| completed as f64 / exits as f64)
}

/// Active learners expected to finish within the horizon, times the observed
/// completion rate. Without an observed rate there is no evidence yet that
/// they will finish, so the pipeline counts nothing.
pub fn pipeline(active_finishing: u64, completion_rate: Option<f64>) -> f64 {
    active_finishing as f64 * completion_rate.unwrap_or(0.0)
}

/// talent_gap = openings − (certified + pipeline)
pub fn talent_gap(openings: u64, certified: u64, pipeline: f64) -> f64 {
    openings as f64 - (certified as f64 + pipeline)
}

/// shortage_ratio = openings / max(1, certified + pipeline)
pub fn shortage_ratio(openings: u64, certified: u64, pipeline: f64) -> f64 {
    openings as f64 / (certified as f64 + pipeline).max(1.0)
}

/// Mean of final − initial level over learners with both.
pub fn mean_gain(gain_sum: i64, gain_learners: u64) -> Option<f64> {
    (gain_learners > 0).then(|| gain_sum as f64 / gain_learners as f64)
}

impl CellIndicators {
    pub fn from_counters(counters: &CellCounters) -> CellIndicators {
        let supply = &counters.supply;
        let demand = &counters.demand;
        let rate = completion_rate(supply.completed, supply.dropped_out);
        let pipeline = pipeline(supply.active_finishing, rate);
        CellIndicators {
            region: counters.region.clone(),
            skill: counters.skill.clone(),
            learners: supply.learners,
            enrolled: supply.enrolled,
            active: supply.active,
            completed: supply.completed,
            dropped_out: supply.dropped_out,
            certified: supply.certified_at_target,
            completion_rate: rate,
            mean_proficiency_gain: mean_gain(supply.gain_sum, supply.gain_learners),
            pipeline,
            openings: demand.openings,
            hard_to_fill_share: (demand.openings > 0).then(|| demand.hard_to_fill as f64 / demand.openings as f64),
            talent_gap: talent_gap(demand.openings, supply.certified_at_target, pipeline),
            shortage_ratio: shortage_ratio(demand.openings, supply.certified_at_target, pipeline),
            shortage_score: None,
        }
    }

    /// Certified at target plus pipeline: the qualified supply.
    pub fn qualified_supply(&self) -> f64 {
        self.certified as f64 + self.pipeline
    }
}

#[cfg(test)]
mod tests {
    use super::super::counters::{DemandCounters, SupplyCounters};
    use super::*;

    #[test]
    fn a_hand_computed_cell() {
        // 40 active finishing, 30 completed, 10 dropped: rate 0.75, pipeline 30.
        // 25 certified at target, 120 openings of which 30 hard to fill.
        let counters = CellCounters {
            region: "84".into(),
            skill: Some("3.4".into()),
            supply: SupplyCounters {
                learners: 100,
                enrolled: 60,
                active: 50,
                active_finishing: 40,
                completed: 30,
                dropped_out: 10,
                certified: 28,
                certified_at_target: 25,
                gain_sum: 45,
                gain_learners: 20,
                ..Default::default()
            },
            demand: DemandCounters { openings: 120, hard_to_fill: 30 },
        };
        let cell = CellIndicators::from_counters(&counters);
        assert_eq!(cell.completion_rate, Some(0.75));
        assert_eq!(cell.pipeline, 30.0);
        assert_eq!(cell.certified, 25);
        assert_eq!(cell.talent_gap, 120.0 - 55.0);
        assert!((cell.shortage_ratio - 120.0 / 55.0).abs() < 1e-12);
        assert_eq!(cell.hard_to_fill_share, Some(0.25));
        assert_eq!(cell.mean_proficiency_gain, Some(2.25));
        assert_eq!(cell.qualified_supply(), 55.0);
    }

    #[test]
    fn empty_supply_divides_by_one_and_rates_are_undefined() {
        assert_eq!(shortage_ratio(7, 0, 0.0), 7.0);
        assert_eq!(shortage_ratio(7, 0, 0.4), 7.0);
        assert_eq!(talent_gap(7, 0, 0.0), 7.0);
        assert_eq!(talent_gap(0, 10, 2.5), -12.5);
        assert_eq!(completion_rate(0, 0), None);
        assert_eq!(pipeline(12, None), 0.0);
        assert_eq!(mean_gain(5, 0), None);
        assert_eq!(mean_gain(-3, 2), Some(-1.5));
    }
}

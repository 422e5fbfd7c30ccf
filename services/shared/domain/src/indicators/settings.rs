//! Indicator settings (`[indicators]` in the configuration).

use super::inclusion::InclusionTargets;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndicatorSettings {
    /// Cells built on fewer learners are withheld from non-policy callers.
    pub suppression_k: u32,
    /// Active learners planned to finish within this many months after the
    /// period count towards the pipeline.
    pub pipeline_horizon_months: u32,
    /// A period is complete this many days after it ends (late events).
    pub late_allowance_days: u32,
    pub inclusion_targets: InclusionTargets,
}

impl Default for IndicatorSettings {
    fn default() -> Self {
        IndicatorSettings {
            suppression_k: 11,
            pipeline_horizon_months: 6,
            late_allowance_days: 7,
            inclusion_targets: InclusionTargets::default(),
        }
    }
}

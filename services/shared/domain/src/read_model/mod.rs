//! The read model: counters kept per cell (period × region × skill) as
//! events arrive, so that a read costs O(cells served) whatever the history.
//!
//! A cell's counters are a sum over learners of what each learner's facts
//! give that cell ("tallies"), plus one tally per demand fact. Distinct
//! counts become sums this way: a learner contributes 0 or 1 to each count.
//! When a batch brings new facts for a learner, the store adds
//! `tallies(after) − tallies(before)` over the periods the new facts can
//! change (`periods::touched_from`), and nothing else. The same functions
//! applied to every learner rebuild the model from the facts, which is how
//! `skills verify-model` and the tests check it.
//!
//! Stocks (active at the end of a period) are kept up to the end of the
//! store's last year of data (its frontier); a later period has no events,
//! so its stock is the frontier's December stock.

mod learner;
mod periods;
mod tally;

pub use learner::{demand_tallies, learner_tallies, profile_reach};
pub use periods::{is_month_start, month_index, period_of_window, touched_from};
pub use tally::{CellTally, TALLY_COLUMNS};

use crate::Period;

/// The skill code of a whole-region cell (learners counted once across skills).
pub const ALL_SKILLS: &str = "*";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub period: Period,
    pub region: String,
    /// A skill code, or `ALL_SKILLS` for the whole region.
    pub skill: String,
}

impl CellKey {
    pub fn new(period: Period, region: &str, skill: &str) -> CellKey {
        CellKey { period, region: region.to_string(), skill: skill.to_string() }
    }
}

#[cfg(test)]
mod tests;

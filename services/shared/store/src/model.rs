//! What both stores share about the read model: which windows it answers,
//! which stored period serves a period, how a stored cell becomes served
//! counters, and the cells a mirrored model copies (skills-model keeps an
//! embedded store as its state and copies its changed cells to ClickHouse).

use crate::CounterWindow;
use chrono::Datelike;
use skills_domain::Period;
use skills_domain::indicators::CellCounters;
use skills_domain::read_model::{ALL_SKILLS, CellTally, is_month_start, month_index, period_of_window};

/// One cell of the model as stored: its period as the API writes it
/// (2025, 2025-Q2, 2025-04), region, skill (`*` for the whole region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCell {
    pub period: String,
    pub region: String,
    pub skill: String,
    pub tally: CellTally,
    /// The cell's parts by partner, every non-empty one (they sum to
    /// `tally`): a copy of the cell replaces all of its parts.
    pub partners: Vec<(String, CellTally)>,
}

/// Where a mirrored model stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelSummary {
    /// Names one state: a new state (lost, restored) gets a new id.
    pub state_id: i64,
    /// The last change written (0: none).
    pub seq: i64,
    /// The last year whose periods hold stocks.
    pub last_year: Option<i32>,
    /// Learners erased in the state.
    pub erased: u64,
    /// Events the state counts.
    pub events: u64,
}

/// The calendar period and horizon month a window reads from the model;
/// None for a window that is counted from the facts (not a calendar
/// period, a horizon not on a month start, or a whole-region row
/// restricted to one skill).
pub(crate) fn model_window(window: &CounterWindow) -> Option<(Period, i32)> {
    let period = period_of_window(window.start, window.end)?;
    if !is_month_start(window.horizon_end) || (!window.by_skill && window.skill.is_some()) {
        return None;
    }
    Some((period, month_index(window.horizon_end)))
}

/// The stored period that serves `period`, and whether only its stock
/// counts: after the last year of data nothing happens, so the stock is
/// December's.
pub(crate) fn model_source(period: Period, last_year: i32) -> (Period, bool) {
    match period.start().year() > last_year {
        true => (Period::Month(last_year, 12), true),
        false => (period, false),
    }
}

/// The served counters of a stored cell; None when the cell is empty (no
/// learner, gain or posting: the fact queries would not return it).
pub(crate) fn served(
    region: &str,
    skill: &str,
    tally: CellTally,
    stock_only: bool,
    horizon_month: i32,
) -> Option<CellCounters> {
    let tally = if stock_only { tally.stock() } else { tally };
    if tally.is_empty() {
        return None;
    }
    let skill_code = (skill != ALL_SKILLS).then_some(skill);
    Some(tally.counters(region, skill_code, horizon_month))
}

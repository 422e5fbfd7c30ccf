//! Indicator math of the brief, as pure functions over counters. Stores
//! return counters; everything computed from them is computed here, once.

mod cell;
mod counters;
mod inclusion;
mod mismatch;
mod score;
mod settings;
mod suppression;

pub use cell::{CellIndicators, completion_rate, mean_gain, pipeline, shortage_ratio, talent_gap};
pub use counters::{CellCounters, DemandCounters, GroupCounts, PartnerCell, SupplyCounters};
pub use inclusion::{INCLUSION_GROUPS, InclusionShare, InclusionTargets, inclusion_shares};
pub use mismatch::duncan_index;
pub use score::quintile_scores;
pub use settings::IndicatorSettings;
pub use suppression::{Audience, Hidden, PublishedCell, publish_withheld};

use crate::Period;
use chrono::{DateTime, Datelike, Duration, Utc};

/// Indicators of every cell of one period, with shortage scores assigned by
/// quintiles across the period's cells that have openings.
pub fn period_cells(counters: &[CellCounters]) -> Vec<CellIndicators> {
    let mut cells: Vec<CellIndicators> = counters.iter().map(CellIndicators::from_counters).collect();
    let ratios: Vec<Option<f64>> =
        cells.iter().map(|cell| (cell.openings > 0).then_some(cell.shortage_ratio)).collect();
    for (cell, score) in cells.iter_mut().zip(quintile_scores(&ratios)) {
        cell.shortage_score = score;
    }
    cells
}

/// A period is complete once it is over and late events had their allowance.
pub fn is_complete(period_end: DateTime<Utc>, late_allowance: Duration, now: DateTime<Utc>) -> bool {
    period_end + late_allowance <= now
}

/// The period a request without one gets: the latest complete year that
/// has data (between the oldest and the newest counted event, by when they
/// happened); when no year with data is complete yet, the newest event's
/// year; with no data at all, the current year.
pub fn default_year(
    oldest_event: Option<DateTime<Utc>>,
    newest_event: Option<DateTime<Utc>>,
    late_allowance: Duration,
    now: DateTime<Utc>,
) -> Period {
    let Some(newest) = newest_event else { return Period::Year(now.year()) };
    let oldest = oldest_event.unwrap_or(newest).min(newest);
    (oldest.year()..=newest.year())
        .rev()
        .map(Period::Year)
        .find(|candidate| is_complete(candidate.end(), late_allowance, now))
        .unwrap_or(Period::Year(newest.year()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_latest_complete_year_with_data() {
        let at = |text: &str| -> DateTime<Utc> { text.parse().unwrap() };
        let week = Duration::days(7);
        let (oldest, newest) = (Some(at("2024-01-03T00:00:00Z")), Some(at("2026-02-01T00:00:00Z")));
        let default = |now: &str| default_year(oldest, newest, week, at(now)).to_string();
        assert_eq!(default("2026-12-02T00:00:00Z"), "2025", "2026 is not over");
        assert_eq!(default("2026-01-05T00:00:00Z"), "2024", "2025's late events may still come");
        assert_eq!(default("2027-01-08T00:00:00Z"), "2026");
        assert_eq!(
            default_year(newest, newest, week, at("2026-03-01T00:00:00Z")).to_string(),
            "2026",
            "no complete year with data: the newest event's year"
        );
        assert_eq!(default_year(None, None, week, at("2026-03-01T00:00:00Z")).to_string(), "2026");
    }

    #[test]
    fn scores_go_to_cells_with_openings_only() {
        let cell = |skill: &str, openings: u64, certified: u64| CellCounters {
            region: "11".into(),
            skill: Some(skill.into()),
            supply: SupplyCounters { certified_at_target: certified, learners: 50, ..Default::default() },
            demand: DemandCounters { openings, hard_to_fill: 0 },
        };
        let cells = period_cells(&[cell("1.1", 10, 10), cell("1.2", 0, 5), cell("1.3", 100, 10)]);
        assert_eq!(cells[0].shortage_score, Some(1));
        assert_eq!(cells[1].shortage_score, None);
        assert_eq!(cells[2].shortage_score, Some(3));
    }

    #[test]
    fn completeness_waits_for_the_late_allowance() {
        let end: DateTime<Utc> = "2025-02-01T00:00:00Z".parse().unwrap();
        let allowance = Duration::days(7);
        assert!(!is_complete(end, allowance, "2025-02-07T23:59:59Z".parse().unwrap()));
        assert!(is_complete(end, allowance, "2025-02-08T00:00:00Z".parse().unwrap()));
    }
}

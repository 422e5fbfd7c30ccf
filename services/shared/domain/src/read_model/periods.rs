//! Which periods a fact can change, and how windows map onto periods.

use crate::{Granularity, Period};
use chrono::{DateTime, Datelike, Timelike, Utc};

/// Months since year 0, so that month boundaries compare as integers.
pub fn month_index(instant: DateTime<Utc>) -> i32 {
    instant.year() * 12 + instant.month0() as i32
}

/// Every month, quarter and year that ends after `instant` (Unix seconds),
/// up to the end of `last_year`: a fact at `instant` changes flows of the
/// periods containing it and stocks (active at the end, gains measured
/// against an initial assessment) of every period ending later.
pub fn touched_from(instant: i64, last_year: i32) -> Vec<Period> {
    let Some(at) = DateTime::from_timestamp(instant, 0) else { return Vec::new() };
    let mut periods: Vec<Period> = (at.year()..=last_year).flat_map(Period::all_of_year).collect();
    periods.retain(|period| period.end() > at);
    periods
}

/// The calendar period a window [start, end) is exactly, if any.
pub fn period_of_window(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Period> {
    [Granularity::Month, Granularity::Quarter, Granularity::Year]
        .into_iter()
        .map(|granularity| Period::containing(granularity, start))
        .find(|period| period.start() == start && period.end() == end)
}

/// Whether an instant is the first instant of a month (a horizon the
/// model's finishing histogram can answer exactly).
pub fn is_month_start(instant: DateTime<Utc>) -> bool {
    instant.day() == 1 && instant.num_seconds_from_midnight() == 0 && instant.nanosecond() == 0
}

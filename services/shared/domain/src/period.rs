//! Periods of the indicators: a month ("2025-04"), a quarter ("2025-Q2") or
//! a year ("2025"), all in UTC and half-open: [start, end).

use chrono::{DateTime, Datelike, TimeZone, Utc};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Year(i32),
    Quarter(i32, u32),
    Month(i32, u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed period {}: expected YYYY, YYYY-Qn or YYYY-MM between 2015 and 2100", crate::text::quoted(.value))]
pub struct PeriodError {
    pub value: String,
}

const FIRST_YEAR: i32 = 2015;
const LAST_YEAR: i32 = 2100;

impl Period {
    pub fn year(self) -> i32 {
        match self {
            Period::Year(year) | Period::Quarter(year, _) | Period::Month(year, _) => year,
        }
    }

    pub fn granularity(self) -> Granularity {
        match self {
            Period::Year(_) => Granularity::Year,
            Period::Quarter(..) => Granularity::Quarter,
            Period::Month(..) => Granularity::Month,
        }
    }

    /// The period of this granularity that contains `instant`.
    pub fn containing(granularity: Granularity, instant: DateTime<Utc>) -> Period {
        let year = instant.year();
        match granularity {
            Granularity::Year => Period::Year(year),
            Granularity::Quarter => Period::Quarter(year, (instant.month() - 1) / 3 + 1),
            Granularity::Month => Period::Month(year, instant.month()),
        }
    }

    fn first_month(self) -> (i32, u32) {
        match self {
            Period::Year(year) => (year, 1),
            Period::Quarter(year, quarter) => (year, (quarter - 1) * 3 + 1),
            Period::Month(year, month) => (year, month),
        }
    }

    fn month_count(self) -> u32 {
        match self {
            Period::Year(_) => 12,
            Period::Quarter(..) => 3,
            Period::Month(..) => 1,
        }
    }

    pub fn start(self) -> DateTime<Utc> {
        let (year, month) = self.first_month();
        month_start(year, month)
    }

    /// The first instant after the period.
    pub fn end(self) -> DateTime<Utc> {
        let (year, month) = self.first_month();
        let (year, month) = add_months(year, month, self.month_count());
        month_start(year, month)
    }

    pub fn contains(self, instant: DateTime<Utc>) -> bool {
        self.start() <= instant && instant < self.end()
    }

    /// The periods of the same granularity in this period's year (the year
    /// itself for a year).
    pub fn siblings(self) -> Vec<Period> {
        match self {
            Period::Year(_) => vec![self],
            Period::Quarter(year, _) => (1..=4).map(|q| Period::Quarter(year, q)).collect(),
            Period::Month(year, _) => (1..=12).map(|m| Period::Month(year, m)).collect(),
        }
    }

    /// The year, its four quarters and its twelve months.
    pub fn all_of_year(year: i32) -> Vec<Period> {
        let mut periods = vec![Period::Year(year)];
        periods.extend((1..=4).map(|quarter| Period::Quarter(year, quarter)));
        periods.extend((1..=12).map(|month| Period::Month(year, month)));
        periods
    }

    pub fn next(self) -> Period {
        Period::containing(self.granularity(), self.end())
    }

    /// Every period from `self` to `last`, inclusive; empty when `last` is
    /// before `self` or of another granularity.
    pub fn through(self, last: Period) -> Vec<Period> {
        let mut periods = Vec::new();
        if self.granularity() != last.granularity() {
            return periods;
        }
        let mut current = self;
        while current <= last && periods.len() < 1200 {
            periods.push(current);
            current = current.next();
        }
        periods
    }
}

fn month_start(year: i32, month: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single().expect("the first of a month at midnight UTC always exists")
}

/// Adds months to (year, month), months counted 1..=12.
pub fn add_months(year: i32, month: u32, months: u32) -> (i32, u32) {
    let zero_based = (month - 1) + months;
    (year + (zero_based / 12) as i32, zero_based % 12 + 1)
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(year) => write!(f, "{year}"),
            Period::Quarter(year, quarter) => write!(f, "{year}-Q{quarter}"),
            Period::Month(year, month) => write!(f, "{year}-{month:02}"),
        }
    }
}

/// The number written with exactly `width` ASCII digits (no sign, no
/// space: `str::parse` alone takes "+1" for 1).
fn digits(text: &str, width: usize) -> Option<u32> {
    if text.len() != width || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let error = || PeriodError { value: value.to_string() };
        let (year_text, rest) = match value.split_once('-') {
            Some((year, rest)) => (year, Some(rest)),
            None => (value, None),
        };
        let year = digits(year_text, 4).ok_or_else(error)? as i32;
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(error());
        }
        let period = match rest {
            None => Period::Year(year),
            Some(rest) => {
                if let Some(quarter) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
                    let quarter = digits(quarter, 1).ok_or_else(error)?;
                    if !(1..=4).contains(&quarter) {
                        return Err(error());
                    }
                    Period::Quarter(year, quarter)
                } else {
                    let month = digits(rest, 2).ok_or_else(error)?;
                    if !(1..=12).contains(&month) {
                        return Err(error());
                    }
                    Period::Month(year, month)
                }
            }
        };
        Ok(period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_the_three_granularities() {
        for text in ["2025", "2025-Q2", "2025-04"] {
            assert_eq!(text.parse::<Period>().unwrap().to_string(), text);
        }
        assert_eq!("2025-q4".parse::<Period>().unwrap(), Period::Quarter(2025, 4));
    }

    #[test]
    fn rejects_malformed_periods_naming_the_value() {
        for text in [
            "",
            "25",
            "2025-13",
            "2025-Q5",
            "2025-Q0",
            "2025-4",
            "1999",
            "2025-00",
            "abcd",
            "2025-Q12",
            "2025-+1",
            "+025",
            " 2025",
            "2025-Q+",
            "2025-1 ",
            "２０２５",
            "2025-٠١",
        ] {
            let error = text.parse::<Period>().unwrap_err();
            assert!(error.to_string().contains(&format!("{text:?}")), "{text}");
        }
    }

    #[test]
    fn bounds_are_half_open_and_cross_years() {
        let q4 = Period::Quarter(2024, 4);
        assert_eq!(q4.start(), at("2024-10-01T00:00:00Z"));
        assert_eq!(q4.end(), at("2025-01-01T00:00:00Z"));
        assert!(q4.contains(at("2024-12-31T23:59:59Z")));
        assert!(!q4.contains(at("2025-01-01T00:00:00Z")));
        assert_eq!(Period::Month(2025, 12).end(), at("2026-01-01T00:00:00Z"));
        assert_eq!(Period::Year(2025).end(), at("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn containing_and_series() {
        let instant = at("2025-05-17T10:00:00Z");
        assert_eq!(Period::containing(Granularity::Quarter, instant), Period::Quarter(2025, 2));
        assert_eq!(Period::containing(Granularity::Month, instant), Period::Month(2025, 5));
        let series = Period::Month(2024, 11).through(Period::Month(2025, 2));
        let printed: Vec<String> = series.iter().map(|p| p.to_string()).collect();
        assert_eq!(printed, ["2024-11", "2024-12", "2025-01", "2025-02"]);
        assert!(Period::Month(2025, 2).through(Period::Month(2024, 2)).is_empty());
        assert!(Period::Year(2024).through(Period::Month(2025, 2)).is_empty());
    }
}

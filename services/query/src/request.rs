//! Request fields to domain values, with INVALID_ARGUMENT errors that name
//! the field and the value.

use crate::error::QueryError;
use skills_domain::Period;
use skills_domain::reference::{self, Region, Skill};

pub fn region(value: &str) -> Result<&'static Region, QueryError> {
    reference::region(value.trim()).map_err(|e| QueryError::invalid("region", e.to_string()))
}

pub fn skill(value: &str) -> Result<&'static Skill, QueryError> {
    reference::skill(value.trim()).map_err(|e| QueryError::invalid("skill", e.to_string()))
}

pub fn optional_region(value: &str) -> Result<Option<&'static Region>, QueryError> {
    if value.trim().is_empty() { Ok(None) } else { region(value).map(Some) }
}

pub fn optional_skill(value: &str) -> Result<Option<&'static Skill>, QueryError> {
    if value.trim().is_empty() { Ok(None) } else { skill(value).map(Some) }
}

/// A period; empty means `default` (`IndicatorEngine::default_period`).
pub fn period(field: &'static str, value: &str, default: Period) -> Result<Period, QueryError> {
    if value.trim().is_empty() {
        return Ok(default);
    }
    value.parse().map_err(|e: skills_domain::PeriodError| QueryError::invalid(field, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_field_and_value() {
        let error = region("99").unwrap_err().to_string();
        assert!(error.starts_with("invalid region") && error.contains("\"99\""), "{error}");
        assert!(skill("x").unwrap_err().to_string().contains("\"x\""));
        assert!(period("period", "2025-13", Period::Year(2025)).unwrap_err().to_string().contains("\"2025-13\""));
        assert_eq!(optional_region(" ").unwrap(), None);
        assert_eq!(period("period", "", Period::Year(2024)).unwrap(), Period::Year(2024), "empty: the default");
    }
}

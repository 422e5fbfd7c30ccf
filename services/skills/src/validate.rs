//! `skills validate FILE`: a partner's events checked offline, with the
//! code ingest and the gateway run, so a file can be fixed before it is
//! sent. One report line per event that would be refused or
//! dead-lettered.

use crate::cli::ValidateArgs;
use crate::config::SkillsConfig;
use chrono::{DateTime, Utc};
use serde_json::Value;
use skills_domain::events::{ContentType, IngestPolicy, RejectReason, Rejection, check_partner_event, decode};
use skills_domain::xapi::{Statement, to_envelope};
use skills_proto::Message;
use std::io::Read;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ValidateError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{0}")]
    NotStatements(String),
}

/// One event that would not be counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Line of the file (from 1); for a JSON array of statements, its
    /// position in the array (from 1).
    pub line: usize,
    pub event_id: String,
    pub rejection: Rejection,
}

/// What a file holds: how many events, and the problems.
#[derive(Debug, Default)]
pub struct Report {
    pub events: usize,
    pub problems: Vec<Problem>,
}

/// JSON events, one per line, as `skills send --file` sends them. Without
/// a partner, each event is checked as its own `partner_id`'s.
pub fn check_events(text: &str, partner: Option<&str>, policy: &IngestPolicy, now: DateTime<Utc>) -> Report {
    let mut report = Report::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        report.events += 1;
        let checked = decode(line.as_bytes(), Some(ContentType::Json)).and_then(|envelope| {
            let sender = partner.map(str::to_string).unwrap_or_else(|| envelope.partner_id.trim().to_string());
            check_partner_event(envelope, &sender, line.len(), policy, now).map(|_| ())
        });
        if let Err(rejection) = checked {
            let event_id = event_id_of(line);
            report.problems.push(Problem { line: index + 1, event_id, rejection });
        }
    }
    report
}

fn event_id_of(line: &str) -> String {
    let value: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    value.get("event_id").or_else(|| value.get("eventId")).and_then(Value::as_str).unwrap_or("").to_string()
}

/// xAPI statements (a JSON array, or one per line), mapped as the gateway
/// maps them. A statement without an id is checked as if the gateway had
/// given it one.
pub fn check_statements(
    text: &str,
    partner: &str,
    policy: &IngestPolicy,
    now: DateTime<Utc>,
) -> Result<Report, ValidateError> {
    let statements: Vec<Value> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|e| ValidateError::NotStatements(format!("not a JSON array: {e}")))?
    } else {
        let mut lines = Vec::new();
        for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
            let value = serde_json::from_str(line)
                .map_err(|e| ValidateError::NotStatements(format!("line {}: not JSON: {e}", index + 1)))?;
            lines.push(value);
        }
        lines
    };
    let mut report = Report { events: statements.len(), problems: Vec::new() };
    for (index, value) in statements.iter().enumerate() {
        let event_id = value.get("id").and_then(Value::as_str).unwrap_or("").to_string();
        let checked = Statement::parse(value)
            .map_err(|error| Rejection::new(RejectReason::Undecodable, format!("not a valid xAPI statement: {error}")))
            .and_then(|statement| to_envelope(&statement, partner, now))
            .and_then(|mut envelope| {
                if envelope.event_id.is_empty() {
                    envelope.event_id = uuid::Uuid::new_v4().to_string();
                }
                let size = envelope.encoded_len();
                check_partner_event(envelope, partner, size, policy, now).map(|_| ())
            });
        if let Err(rejection) = checked {
            report.problems.push(Problem { line: index + 1, event_id, rejection });
        }
    }
    Ok(report)
}

/// A problem as one line of text.
pub fn describe(problem: &Problem) -> String {
    let rejection = &problem.rejection;
    let at = match (&rejection.field, &rejection.value) {
        (Some(field), Some(value)) => format!(" ({field} = {value:?})"),
        (Some(field), None) => format!(" ({field})"),
        _ => String::new(),
    };
    let id = if problem.event_id.is_empty() { String::new() } else { format!(" [{}]", problem.event_id) };
    format!("line {}{id}: {}{at}: {}", problem.line, rejection.reason, rejection.message)
}

fn as_json(problem: &Problem) -> Value {
    let rejection = &problem.rejection;
    serde_json::json!({
        "line": problem.line,
        "event_id": problem.event_id,
        "reason": rejection.reason.code(),
        "field": rejection.field,
        "value": rejection.value,
        "message": rejection.message,
    })
}

/// Prints the report; false when any event would not be counted.
pub fn run(config: &SkillsConfig, args: &ValidateArgs) -> Result<bool, ValidateError> {
    let path = args.file.display().to_string();
    let read_error = |error| ValidateError::Read { path: path.clone(), error };
    let text = if path == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(read_error)?;
        text
    } else {
        std::fs::read_to_string(&args.file).map_err(read_error)?
    };
    let policy = config.ingest.policy();
    let now = Utc::now();
    let report = if args.xapi {
        check_statements(&text, args.partner.as_deref().unwrap_or("validate"), &policy, now)?
    } else {
        check_events(&text, args.partner.as_deref(), &policy, now)
    };
    for problem in &report.problems {
        if args.json {
            println!("{}", as_json(problem));
        } else {
            println!("{}", describe(problem));
        }
    }
    let bad = report.problems.len();
    eprintln!(
        "{path}: {} events, {} would be accepted, {bad} would be refused or dead-lettered",
        report.events,
        report.events - bad
    );
    Ok(bad == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-01-15T12:00:00Z".parse().unwrap()
    }

    fn example(kind: &str) -> Value {
        let text = match kind {
            "enrolment" => include_str!("../../../proto/examples/enrolment.json"),
            _ => include_str!("../../../proto/examples/labour_demand.json"),
        };
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn each_bad_line_is_reported_with_its_number_reason_field_and_value() {
        let mut unknown_region = example("enrolment");
        unknown_region["enrolment"]["place"] = serde_json::json!({"region": "99"});
        let mut other_partner = example("labour_demand");
        other_partner["partner_id"] = serde_json::json!("someone-else");
        let text = format!("{}\n\n{}\nnot json\n{}\n", example("enrolment"), unknown_region, other_partner);
        let report = check_events(&text, Some("gen-lyon-academy"), &IngestPolicy::default(), now());
        assert_eq!(report.events, 4);
        let lines: Vec<(usize, RejectReason)> = report.problems.iter().map(|p| (p.line, p.rejection.reason)).collect();
        assert_eq!(
            lines,
            [(3, RejectReason::UnknownRegion), (4, RejectReason::Undecodable), (5, RejectReason::PartnerMismatch)]
        );
        let first = describe(&report.problems[0]);
        assert!(first.starts_with("line 3 [2f1c7a9e-"), "{first}");
        assert!(first.contains("unknown_region (enrolment.place = \"99\")"), "{first}");
        // Without --partner, each event is its own partner's.
        let report = check_events(&text, None, &IngestPolicy::default(), now());
        assert_eq!(report.problems.len(), 2);
    }

    #[test]
    fn statements_are_mapped_as_the_gateway_maps_them() {
        let text = include_str!("../../../proto/examples/xapi-statements.json");
        let report = check_statements(text, "fun-mooc", &IngestPolicy::default(), now()).unwrap();
        assert_eq!((report.events, report.problems.len()), (2, 0));
        let mut statements: Vec<Value> = serde_json::from_str(text).unwrap();
        statements[1]["verb"]["id"] = serde_json::json!("http://adlnet.gov/expapi/verbs/experienced");
        let lines: String = statements.iter().map(|s| format!("{s}\n")).collect();
        let report = check_statements(&lines, "fun-mooc", &IngestPolicy::default(), now()).unwrap();
        assert_eq!(report.problems.len(), 1);
        assert_eq!(
            (report.problems[0].line, report.problems[0].rejection.reason),
            (2, RejectReason::UnmappedStatement)
        );
    }
}

//! The answers as CSV (RFC 4180): one row per cell, share or count, the
//! columns named as the JSON fields are (snake_case), the response's
//! as-of time and completeness repeated on every row so that a table
//! loaded alone still says how current it is. A withheld or undefined
//! value is an empty field; `suppressed` says which of the two it is.

use prost_types::Timestamp;
use skills_proto::v1 as pb;
use std::fmt::Write;

/// A CSV document under construction.
pub struct Csv {
    text: String,
}

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        let mut csv = Csv { text: String::new() };
        csv.row(header.iter().map(|h| h.to_string()));
        csv
    }

    pub fn row(&mut self, fields: impl IntoIterator<Item = String>) {
        let fields: Vec<String> = fields.into_iter().map(|f| quote(&f)).collect();
        self.text.push_str(&fields.join(","));
        self.text.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.text
    }
}

/// A field quoted when it holds a separator, quote or line break; one
/// that starts like a formula (`=`, `+`, `-`, `@`) and is not a number is
/// prefixed with `'` so that a spreadsheet shows it as text (CSV
/// injection through partner-supplied text such as dead-letter reasons).
fn quote(field: &str) -> String {
    let risky = field.starts_with(['=', '+', '-', '@', '\t', '\r']) && field.parse::<f64>().is_err();
    let field = if risky { format!("'{field}") } else { field.to_string() };
    if field.contains([',', '"', '\n', '\r']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field }
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// RFC 3339 in UTC, to the millisecond, as the JSON form writes it.
pub fn timestamp(value: Option<&Timestamp>) -> String {
    value
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

const CELL_COLUMNS: [&str; 23] = [
    "region",
    "skill",
    "period",
    "suppressed",
    "learners",
    "enrolled",
    "active",
    "completed",
    "dropped_out",
    "certified",
    "completion_rate",
    "mean_proficiency_gain",
    "pipeline",
    "openings",
    "hard_to_fill_share",
    "talent_gap",
    "shortage_ratio",
    "shortage_score",
    "as_of",
    "complete",
    "suppression_k",
    "response_period",
    "region_name",
];

/// Cells, one per row; `names` gives a region's name.
pub fn cells<'a>(
    meta: Option<&pb::ResponseMeta>,
    cells: impl IntoIterator<Item = &'a pb::CellIndicators>,
    names: impl Fn(&str) -> &'static str,
) -> String {
    let mut csv = Csv::new(&CELL_COLUMNS);
    let meta = meta.cloned().unwrap_or_default();
    let (as_of, complete) = (timestamp(meta.as_of.as_ref()), meta.complete.to_string());
    for c in cells {
        csv.row([
            c.region.clone(),
            c.skill.clone(),
            c.period.clone(),
            c.suppressed.to_string(),
            opt(c.learners),
            opt(c.enrolled),
            opt(c.active),
            opt(c.completed),
            opt(c.dropped_out),
            opt(c.certified),
            opt(c.completion_rate),
            opt(c.mean_proficiency_gain),
            opt(c.pipeline),
            c.openings.to_string(),
            opt(c.hard_to_fill_share),
            opt(c.talent_gap),
            opt(c.shortage_ratio),
            opt(c.shortage_score),
            as_of.clone(),
            complete.clone(),
            meta.suppression_k.to_string(),
            meta.period.clone(),
            names(&c.region).to_string(),
        ]);
    }
    csv.finish()
}

/// A region's inclusion shares, one group per row; a region withheld
/// whole is one row saying so.
pub fn inclusion(response: &pb::GetInclusionResponse) -> String {
    let mut csv = Csv::new(&[
        "region",
        "group",
        "suppressed",
        "share_enrolled",
        "share_certified",
        "target",
        "distance_enrolled",
        "distance_certified",
        "as_of",
        "complete",
        "suppression_k",
        "period",
    ]);
    let meta = response.meta.clone().unwrap_or_default();
    let withheld_whole = pb::InclusionShare { suppressed: true, ..Default::default() };
    let shares: Vec<&pb::InclusionShare> = match response.suppressed {
        true => vec![&withheld_whole],
        false => response.shares.iter().collect(),
    };
    for share in shares {
        csv.row([
            response.region.clone(),
            share.group.clone(),
            share.suppressed.to_string(),
            opt(share.share_enrolled),
            opt(share.share_certified),
            if response.suppressed { String::new() } else { share.target.to_string() },
            opt(share.distance_enrolled),
            opt(share.distance_certified),
            timestamp(meta.as_of.as_ref()),
            meta.complete.to_string(),
            meta.suppression_k.to_string(),
            meta.period.clone(),
        ]);
    }
    csv.finish()
}

pub fn regions(response: &pb::GetReferenceDataResponse) -> String {
    let mut csv = Csv::new(&["code", "name"]);
    for region in &response.regions {
        csv.row([region.code.clone(), region.name.clone()]);
    }
    csv.finish()
}

pub fn skills(response: &pb::GetReferenceDataResponse) -> String {
    let mut csv = Csv::new(&["code", "name", "area", "target_level"]);
    for skill in &response.skills {
        csv.row([skill.code.clone(), skill.name.clone(), skill.area.clone(), skill.target_level.to_string()]);
    }
    csv.finish()
}

/// Dead letters by reason, with the totals on every row (one row of
/// totals, with no reason, when there is none).
pub fn pipeline_status(response: &pb::GetPipelineStatusResponse) -> String {
    let mut csv = Csv::new(&["reason", "dead_letters", "events", "dead_letters_total", "as_of"]);
    let none = [pb::DeadLetterCount::default()];
    let rows = if response.dead_letters_by_reason.is_empty() { &none[..] } else { &response.dead_letters_by_reason };
    for row in rows {
        csv.row([
            row.reason.clone(),
            row.count.to_string(),
            response.events.to_string(),
            response.dead_letters.to_string(),
            timestamp(response.as_of.as_ref()),
        ]);
    }
    csv.finish()
}

/// A partner's dead letters by reason, with its totals on every row.
pub fn partner_status(response: &pb::GetPartnerStatusResponse) -> String {
    let mut csv = Csv::new(&[
        "partner_id",
        "reason",
        "dead_letters",
        "events_counted",
        "duplicates",
        "dead_letters_total",
        "last_received_at",
        "lag_seconds",
    ]);
    for row in &response.dead_letters_by_reason {
        csv.row([
            response.partner_id.clone(),
            row.reason.clone(),
            row.count.to_string(),
            response.events_counted.to_string(),
            response.duplicates.to_string(),
            response.dead_letters.to_string(),
            timestamp(response.last_received_at.as_ref()),
            response.lag_seconds.to_string(),
        ]);
    }
    let mut text = csv.finish();
    if response.dead_letters_by_reason.is_empty() {
        // No reason to list: one row of totals, so the counts still show.
        let _ = write!(
            text,
            "{},,0,{},{},{},{},{}\r\n",
            quote(&response.partner_id),
            response.events_counted,
            response.duplicates,
            response.dead_letters,
            timestamp(response.last_received_at.as_ref()),
            response.lag_seconds
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_separators_and_defuses_formulas() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(quote("-3.5"), "-3.5");
        assert_eq!(quote("@cmd"), "'@cmd");
    }

    #[test]
    fn a_withheld_cell_has_empty_values_and_says_it_is_suppressed() {
        let cell = pb::CellIndicators {
            region: "84".into(),
            skill: "5.1".into(),
            period: "2025".into(),
            suppressed: true,
            openings: 3,
            ..Default::default()
        };
        let meta = pb::ResponseMeta {
            as_of: Some(Timestamp { seconds: 1_700_000_000, nanos: 0 }),
            complete: true,
            suppression_k: 5,
            suppressed_cells: 1,
            period: "2025".into(),
        };
        let text = cells(Some(&meta), [&cell], |_| "Auvergne-Rhône-Alpes");
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap().split(',').count(), CELL_COLUMNS.len());
        assert_eq!(
            lines.next().unwrap(),
            "84,5.1,2025,true,,,,,,,,,,3,,,,,2023-11-14T22:13:20.000Z,true,5,2025,Auvergne-Rhône-Alpes"
        );
        assert!(text.ends_with("\r\n"));
    }
}

//! Answers as CSV (RFC 4180): one row per cell, raw numbers (ratios as
//! fractions, not percents), an empty field where a value is withheld or
//! absent, names beside codes. For spreadsheets and scripts.

use skills_proto::v1 as pb;
use std::fmt::Display;

/// Rows with a header line.
pub struct Csv {
    out: String,
}

impl Csv {
    pub fn new(headers: &[&str]) -> Self {
        let mut csv = Csv { out: String::new() };
        csv.row(headers.iter().map(|h| h.to_string()).collect());
        csv
    }

    pub fn row(&mut self, fields: Vec<String>) {
        let quoted: Vec<String> = fields.iter().map(|field| quote(field)).collect();
        self.out.push_str(&quoted.join(","));
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field.into() }
}

fn opt<T: Display>(value: Option<T>) -> String {
    value.map_or(String::new(), |v| v.to_string())
}

/// Cells of any answer (a region, a skill, a ranking, a trend).
pub fn cells(cells: &[pb::CellIndicators]) -> String {
    let with_own = cells.iter().any(|c| c.own.is_some());
    let mut headers = vec![
        "region",
        "region_name",
        "skill",
        "skill_name",
        "period",
        "suppressed",
        "learners",
        "enrolled",
        "active",
        "completed",
        "dropped_out",
        "certified",
        "completion_rate",
        "pipeline",
        "openings",
        "hard_to_fill_share",
        "talent_gap",
        "shortage_ratio",
        "shortage_score",
        "mean_proficiency_gain",
    ];
    if with_own {
        headers.extend(["own_learners", "own_certified", "own_openings"]);
    }
    let mut csv = Csv::new(&headers);
    for c in cells {
        let name = |code: &str, lookup: fn(&str) -> Option<&'static str>| lookup(code).unwrap_or_default().to_string();
        let mut row = vec![
            c.region.clone(),
            name(&c.region, |code| skills_domain::reference::region(code).ok().map(|r| r.name)),
            c.skill.clone(),
            name(&c.skill, |code| skills_domain::reference::skill(code).ok().map(|s| s.name)),
            c.period.clone(),
            c.suppressed.to_string(),
            opt(c.learners),
            opt(c.enrolled),
            opt(c.active),
            opt(c.completed),
            opt(c.dropped_out),
            opt(c.certified),
            opt(c.completion_rate),
            opt(c.pipeline),
            c.openings.to_string(),
            opt(c.hard_to_fill_share),
            opt(c.talent_gap),
            opt(c.shortage_ratio),
            opt(c.shortage_score),
            opt(c.mean_proficiency_gain),
        ];
        if with_own {
            let own = c.own.as_ref();
            row.extend([opt(own.map(|o| o.learners)), opt(own.map(|o| o.certified)), opt(own.map(|o| o.openings))]);
        }
        csv.row(row);
    }
    csv.finish()
}

/// One row per inclusion group, with the region's totals on each.
pub fn inclusion(response: &pb::GetInclusionResponse) -> String {
    let mut csv = Csv::new(&[
        "region",
        "period",
        "group",
        "suppressed",
        "enrolled",
        "certified",
        "share_enrolled",
        "share_certified",
        "target",
        "distance_enrolled",
        "distance_certified",
    ]);
    let period = response.meta.as_ref().map_or(String::new(), |m| m.period.clone());
    for share in &response.shares {
        csv.row(vec![
            response.region.clone(),
            period.clone(),
            share.group.clone(),
            (response.suppressed || share.suppressed).to_string(),
            opt(response.enrolled),
            opt(response.certified),
            opt(share.share_enrolled),
            opt(share.share_certified),
            share.target.to_string(),
            opt(share.distance_enrolled),
            opt(share.distance_certified),
        ]);
    }
    csv.finish()
}

/// Regions, then skills: `kind,code,name,area,target_level`.
pub fn reference(response: &pb::GetReferenceDataResponse) -> String {
    let mut csv = Csv::new(&["kind", "code", "name", "area", "target_level"]);
    for r in &response.regions {
        csv.row(vec!["region".into(), r.code.clone(), r.name.clone(), String::new(), String::new()]);
    }
    for s in &response.skills {
        csv.row(vec!["skill".into(), s.code.clone(), s.name.clone(), s.area.clone(), s.target_level.to_string()]);
    }
    csv.finish()
}

/// Dead letters by reason, after the totals.
pub fn status(response: &pb::GetPipelineStatusResponse) -> String {
    let mut csv = Csv::new(&["measure", "value"]);
    csv.row(vec!["events".into(), response.events.to_string()]);
    csv.row(vec!["dead_letters".into(), response.dead_letters.to_string()]);
    for reason in &response.dead_letters_by_reason {
        csv.row(vec![format!("dead_letters.{}", reason.reason), reason.count.to_string()]);
    }
    csv.finish()
}

pub fn partner_status(response: &pb::GetPartnerStatusResponse) -> String {
    let mut csv = Csv::new(&["measure", "value"]);
    csv.row(vec!["partner".into(), response.partner_id.clone()]);
    csv.row(vec!["events_counted".into(), response.events_counted.to_string()]);
    csv.row(vec!["duplicates".into(), response.duplicates.to_string()]);
    csv.row(vec!["dead_letters".into(), response.dead_letters.to_string()]);
    for reason in &response.dead_letters_by_reason {
        csv.row(vec![format!("dead_letters.{}", reason.reason), reason.count.to_string()]);
    }
    let time = |t: Option<skills_proto::Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    csv.row(vec!["last_received_at".into(), time(response.last_received_at)]);
    csv.row(vec!["last_occurred_at".into(), time(response.last_occurred_at)]);
    csv.row(vec!["lag_seconds".into(), response.lag_seconds.to_string()]);
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed_and_withheld_values_are_empty() {
        let cell = pb::CellIndicators {
            region: "93".into(),
            skill: "3.4".into(),
            period: "2025".into(),
            suppressed: true,
            openings: 27,
            ..Default::default()
        };
        let text = cells(&[cell]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[0].starts_with("region,region_name,skill,skill_name,period,suppressed,learners"));
        assert!(
            lines[1].starts_with("93,Provence-Alpes-Côte d'Azur,3.4,Programming,2025,true,,,"),
            "a name with no comma stays bare, a withheld count is empty: {}",
            lines[1]
        );
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

//! Plain-text tables for the command line and the demo.

use skills_domain::reference;
use skills_proto::v1 as pb;
use std::fmt::Write;

/// A table with right-aligned numeric columns (all but the first `text_columns`).
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    text_columns: usize,
}

impl Table {
    pub fn new(headers: &[&str], text_columns: usize) -> Self {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new(), text_columns }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let width = |i: usize| {
            std::iter::once(&self.headers[i])
                .chain(self.rows.iter().map(|r| &r[i]))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.headers.len()).map(width).collect();
        let mut out = String::new();
        let line = |out: &mut String, cells: &[String]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                if i > 0 {
                    text.push_str("  ");
                }
                if i < self.text_columns {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                } else {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                }
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(&mut out, &self.headers);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&mut out, &rule);
        for row in &self.rows {
            line(&mut out, row);
        }
        out
    }
}

pub fn count(value: Option<u64>) -> String {
    value.map_or("–".into(), |v| v.to_string())
}

pub fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or("–".into(), |v| format!("{v:.decimals$}"))
}

pub fn percent(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{:.0}%", v * 100.0))
}

pub fn region_name(code: &str) -> String {
    reference::region(code).map_or(code.to_string(), |r| format!("{code} {}", r.name))
}

pub fn skill_name(code: &str) -> String {
    reference::skill(code).map_or(code.to_string(), |s| {
        let mut name: String = s.name.chars().take(34).collect();
        if s.name.chars().count() > 34 {
            name.push('…');
        }
        format!("{code} {name}")
    })
}

pub fn meta_line(meta: Option<&pb::ResponseMeta>) -> String {
    let Some(meta) = meta else { return String::new() };
    let as_of = meta.as_of.as_ref().map_or("no data yet".to_string(), |t| format!("as of {t}"));
    let complete = if meta.complete { "complete" } else { "incomplete: late events may still arrive" };
    let suppression = if meta.suppression_k > 0 {
        // Small cells (under k learners) and those withheld to protect them.
        format!("; withheld (k = {}): {} cells", meta.suppression_k, meta.suppressed_cells)
    } else {
        String::new()
    };
    format!("period {} — {as_of} — {complete}{suppression}", meta.period)
}

/// Cells as a table; `label` picks the first column (region or skill).
/// A partner token's cells carry its own part: shown in three more columns.
pub fn cells_table(cells: &[pb::CellIndicators], label: fn(&pb::CellIndicators) -> String) -> String {
    let mut headers = vec![
        "",
        "learners",
        "enrolled",
        "completion",
        "certified",
        "pipeline",
        "openings",
        "hard",
        "gap",
        "ratio",
        "score",
        "gain",
    ];
    let with_own = cells.iter().any(|c| c.own.is_some());
    if with_own {
        headers.extend(["own learners", "own certified", "own openings"]);
    }
    let mut table = Table::new(&headers, 1);
    for c in cells {
        let mut first = label(c);
        if c.suppressed {
            first.push_str(" (withheld)");
        }
        let mut row = vec![
            first,
            count(c.learners),
            count(c.enrolled),
            percent(c.completion_rate),
            count(c.certified),
            number(c.pipeline, 1),
            c.openings.to_string(),
            percent(c.hard_to_fill_share),
            number(c.talent_gap, 0),
            number(c.shortage_ratio, 2),
            c.shortage_score.map_or("–".into(), |s| s.to_string()),
            number(c.mean_proficiency_gain, 2),
        ];
        if with_own {
            let own = c.own.as_ref();
            row.extend([
                count(own.map(|o| o.learners)),
                count(own.map(|o| o.certified)),
                count(own.map(|o| o.openings)),
            ]);
        }
        table.row(row);
    }
    table.render()
}

pub fn by_skill(cell: &pb::CellIndicators) -> String {
    skill_name(&cell.skill)
}

pub fn by_region(cell: &pb::CellIndicators) -> String {
    region_name(&cell.region)
}

pub fn by_region_and_skill(cell: &pb::CellIndicators) -> String {
    format!("{} · {}", region_name(&cell.region), skill_name(&cell.skill))
}

pub fn by_period(cell: &pb::CellIndicators) -> String {
    cell.period.clone()
}

pub fn inclusion_table(response: &pb::GetInclusionResponse) -> String {
    if response.suppressed {
        return "withheld: fewer learners than the suppression threshold\n".into();
    }
    let mut table = Table::new(&["group", "among enrolled", "among certified", "target", "distance (enrolled)"], 1);
    for share in &response.shares {
        table.row(vec![
            share.group.clone(),
            percent(share.share_enrolled),
            percent(share.share_certified),
            percent(Some(share.target)),
            share.distance_enrolled.map_or("–".into(), |d| format!("{:+.0} pts", d * 100.0)),
        ]);
    }
    let own = response.own.as_ref().map_or(String::new(), |o| {
        format!(" (your own learners: enrolled {} · certified {})", o.enrolled, o.certified)
    });
    format!("enrolled {} · certified {}{own}\n{}", count(response.enrolled), count(response.certified), table.render())
}

/// A partner's status: its figures, then its dead letters by reason with
/// their newest examples.
pub fn partner_status(response: &pb::GetPartnerStatusResponse) -> String {
    let time = |t: Option<skills_proto::Timestamp>| t.map(|t| t.to_string()).unwrap_or_else(|| "none yet".into());
    let mut text = format!(
        "partner {}: {} events counted, {} duplicates, {} dead letters\n\
         newest event received {} (occurred {}); lag {} s; pipeline's newest data {}\n",
        response.partner_id,
        response.events_counted,
        response.duplicates,
        response.dead_letters,
        time(response.last_received_at),
        time(response.last_occurred_at),
        response.lag_seconds,
        time(response.pipeline_as_of),
    );
    if response.dead_letters_by_reason.is_empty() {
        return text;
    }
    let mut table = Table::new(&["dead letters (count)", "newest examples (topic:partition:offset  message)"], 2);
    for reason in &response.dead_letters_by_reason {
        let mut examples = reason.examples.iter().map(|example| {
            format!(
                "{}:{}:{}  {}",
                example.source_topic, example.source_partition, example.source_offset, example.message
            )
        });
        let label = format!("{} ({})", reason.reason, reason.count);
        table.row(vec![label, examples.next().unwrap_or_default()]);
        for example in examples {
            table.row(vec![String::new(), example]);
        }
    }
    let _ = write!(text, "{}", table.render());
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let mut table = Table::new(&["name", "n"], 1);
        table.row(vec!["Île".into(), "1".into()]);
        table.row(vec!["a".into(), "100".into()]);
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "name    n");
        assert_eq!(lines[2], "Île     1");
        assert_eq!(lines[3], "a     100");
    }

    #[test]
    fn a_partners_own_part_gets_its_columns() {
        let cell = |own: Option<pb::Contribution>| pb::CellIndicators {
            region: "84".into(),
            skill: "3.4".into(),
            suppressed: true,
            own,
            ..Default::default()
        };
        let public = cells_table(&[cell(None)], by_skill);
        assert!(!public.contains("own learners"), "{public}");
        let mine = pb::Contribution { learners: 7, certified: 2, openings: 0, ..Default::default() };
        let partner = cells_table(&[cell(Some(mine))], by_skill);
        assert!(partner.lines().next().unwrap().ends_with("own learners  own certified  own openings"), "{partner}");
        assert!(partner.lines().nth(2).unwrap().trim_end().ends_with("7              2             0"), "{partner}");
    }

    #[test]
    fn missing_values_show_as_dashes() {
        assert_eq!(count(None), "–");
        assert_eq!(percent(Some(0.256)), "26%");
        assert_eq!(number(Some(2.0), 1), "2.0");
        assert_eq!(region_name("84"), "84 Auvergne-Rhône-Alpes");
        assert!(skill_name("1.1").ends_with('…'));
    }

    #[test]
    fn a_partner_status_shows_its_figures_and_examples_by_reason() {
        let example = |offset| pb::DeadLetterExample {
            source_topic: "skills.demand.v1".into(),
            source_partition: 1,
            source_offset: offset,
            message: "unknown skill code \"9.9\"".into(),
            recorded_at: None,
        };
        let response = pb::GetPartnerStatusResponse {
            partner_id: "gen-lyon".into(),
            events_counted: 120,
            duplicates: 3,
            dead_letters: 2,
            dead_letters_by_reason: vec![pb::PartnerDeadLetters {
                reason: "unknown_skill".into(),
                count: 2,
                examples: vec![example(9), example(4)],
            }],
            lag_seconds: 42,
            ..Default::default()
        };
        let text = partner_status(&response);
        assert!(text.starts_with("partner gen-lyon: 120 events counted, 3 duplicates, 2 dead letters\n"), "{text}");
        assert!(text.contains("lag 42 s"), "{text}");
        assert!(text.contains("unknown_skill (2)     skills.demand.v1:1:9  unknown skill code"), "{text}");
        assert!(text.contains("skills.demand.v1:1:4"), "{text}");
    }
}

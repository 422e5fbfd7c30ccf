//! METHODOLOGY.md's worked example, checked: the event file it describes
//! goes through the embedded stack with the example's settings, and every
//! row of the document's figure table is compared with what the service
//! answers to that audience. The document cannot drift from the code.

use skills::client::Client;
use skills::config::SkillsConfig;
use skills::stack::{EmbeddedStack, bind};
use skills_domain::indicators::Audience;
use skills_proto::v1 as pb;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repository").to_path_buf()
}

/// A value as the document writes it: a number (integer, decimal or
/// fraction), "absent" or "withheld".
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expected {
    Number(f64),
    Absent,
    Withheld,
}

fn parse_value(text: &str) -> Expected {
    match text {
        "absent" => Expected::Absent,
        "withheld" => Expected::Withheld,
        _ => Expected::Number(match text.split_once('/') {
            Some((numerator, denominator)) => {
                numerator.trim().parse::<f64>().expect("numerator")
                    / denominator.trim().parse::<f64>().expect("denominator")
            }
            None => text.parse().unwrap_or_else(|_| panic!("not a value: {text}")),
        }),
    }
}

#[derive(Debug)]
struct Row {
    line: usize,
    audience: String,
    call: String,
    period: String,
    region: String,
    skill: String,
    figure: String,
    value: Expected,
}

/// The rows between the example markers of METHODOLOGY.md.
fn document_rows() -> Vec<Row> {
    let text = std::fs::read_to_string(repo().join("METHODOLOGY.md")).expect("METHODOLOGY.md");
    let begin = text.find("<!-- example:begin -->").expect("begin marker");
    let first_line = text[..begin].lines().count() + 1;
    let end = text.find("<!-- example:end -->").expect("end marker");
    text[begin..end]
        .lines()
        .enumerate()
        .filter(|(_, line)| line.starts_with('|') && !line.starts_with("| audience") && !line.starts_with("|---"))
        .map(|(i, line)| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 7, "METHODOLOGY.md line {}: seven columns", first_line + i);
            Row {
                line: first_line + i,
                audience: cells[0].into(),
                call: cells[1].into(),
                period: cells[2].into(),
                region: cells[3].into(),
                skill: cells[4].into(),
                figure: cells[5].into(),
                value: parse_value(cells[6]),
            }
        })
        .collect()
}

/// What the service gave: a value or none, and whether it said withheld.
#[derive(Debug, Clone, Copy)]
struct Served {
    value: Option<f64>,
    withheld: bool,
}

fn agrees(expected: Expected, served: Served) -> bool {
    match expected {
        Expected::Absent => served.value.is_none() && !served.withheld,
        Expected::Withheld => served.value.is_none() && served.withheld,
        Expected::Number(v) => served.value.is_some_and(|s| (s - v).abs() <= 1e-9 * v.abs().max(1.0)),
    }
}

/// A partner's own part (`own_…` figures): never withheld; absent where
/// the partner has no part.
fn own_figure(own: Option<&pb::Contribution>, figure: &str) -> Served {
    let value = own.map(|own| match figure {
        "learners" => own.learners,
        "enrolled" => own.enrolled,
        "active" => own.active,
        "completed" => own.completed,
        "dropped_out" => own.dropped_out,
        "certified" => own.certified,
        "finishing" => own.finishing,
        "openings" => own.openings,
        "hard_to_fill" => own.hard_to_fill,
        other => match other.split_once(' ') {
            Some((measure, group)) => {
                let part = own.groups.iter().find(|g| g.group == group).expect("every group has a part");
                match measure {
                    "enrolled" => part.enrolled,
                    "certified" => part.certified,
                    other => panic!("unknown own group measure {other}"),
                }
            }
            None => panic!("unknown own figure {other}"),
        },
    });
    Served { value: value.map(|v| v as f64), withheld: false }
}

fn cell_figure(cell: &pb::CellIndicators, figure: &str) -> Served {
    if let Some(own) = figure.strip_prefix("own_") {
        return own_figure(cell.own.as_ref(), own);
    }
    let count = |v: Option<u64>| v.map(|v| v as f64);
    let value = match figure {
        "learners" => count(cell.learners),
        "enrolled" => count(cell.enrolled),
        "active" => count(cell.active),
        "completed" => count(cell.completed),
        "dropped_out" => count(cell.dropped_out),
        "certified" => count(cell.certified),
        "completion_rate" => cell.completion_rate,
        "mean_proficiency_gain" => cell.mean_proficiency_gain,
        "pipeline" => cell.pipeline,
        "openings" => Some(cell.openings as f64),
        "hard_to_fill_share" => cell.hard_to_fill_share,
        "talent_gap" => cell.talent_gap,
        "shortage_ratio" => cell.shortage_ratio,
        "shortage_score" => cell.shortage_score.map(f64::from),
        other => panic!("unknown cell figure {other}"),
    };
    Served { value, withheld: cell.suppressed }
}

fn inclusion_figure(response: &pb::GetInclusionResponse, figure: &str) -> Served {
    if let Some(own) = figure.strip_prefix("own_") {
        return own_figure(response.own.as_ref(), own);
    }
    let withheld = response.suppressed;
    match figure.split_once(' ') {
        None => {
            let value = match figure {
                "enrolled" => response.enrolled,
                "certified" => response.certified,
                other => panic!("unknown inclusion figure {other}"),
            };
            Served { value: value.map(|v| v as f64), withheld }
        }
        Some((measure, group)) => {
            let Some(share) = response.shares.iter().find(|s| s.group == group) else {
                return Served { value: None, withheld };
            };
            let value = match measure {
                "share_enrolled" => share.share_enrolled,
                "share_certified" => share.share_certified,
                "distance_enrolled" => share.distance_enrolled,
                "distance_certified" => share.distance_certified,
                other => panic!("unknown inclusion measure {other}"),
            };
            Served { value, withheld: withheld || share.suppressed }
        }
    }
}

async fn served(client: &mut Client, row: &Row) -> Served {
    match row.call.as_str() {
        "status" => {
            let status = client.pipeline_status().await.unwrap();
            let value = match row.figure.as_str() {
                "events" => status.events,
                "dead_letters" => status.dead_letters,
                other => panic!("unknown status figure {other}"),
            };
            Served { value: Some(value as f64), withheld: false }
        }
        "cell" => {
            let response = client.region(&row.region, &row.period).await.unwrap();
            let cell = response.cells.iter().find(|c| c.skill == row.skill).expect("every skill has a cell");
            cell_figure(cell, &row.figure)
        }
        "country" => {
            let response = client.skill(&row.skill, &row.period).await.unwrap();
            cell_figure(&response.national.expect("the country cell"), &row.figure)
        }
        "mismatch" => {
            let response = client.skill(&row.skill, &row.period).await.unwrap();
            Served { value: response.mismatch_index, withheld: false }
        }
        "inclusion" => {
            let response = client.inclusion(&row.region, &row.period).await.unwrap();
            inclusion_figure(&response, &row.figure)
        }
        other => panic!("unknown call {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worked_example_of_the_methodology_is_what_the_service_serves() {
    let rows = document_rows();
    assert!(rows.len() >= 40, "the example table has its rows ({} found)", rows.len());

    let dir = std::env::temp_dir().join(format!("skills-e2e-methodology-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = repo().join("docs/methodology/example.toml");
    let mut config: SkillsConfig = skills_runtime::load_with_env(Some(&settings), std::iter::empty()).unwrap();
    config = config.in_dir(dir.clone());
    assert_eq!(config.indicators.suppression_k, 3, "the document says the example runs with k = 3");
    config.query.refresh_interval_ms = 50;
    config.aggregator.batch_max_wait_ms = 20;
    config.ingest.batch_max_wait_ms = 20;
    // A token per partner the table reads as.
    std::fs::create_dir_all(&dir).unwrap();
    let partners = ["school-a", "school-b", "job-board"];
    let tokens: Vec<(String, String)> =
        partners.iter().map(|p| (format!("partner:{p}"), format!("token-of-{p}-{}", std::process::id()))).collect();
    let tokens_file = dir.join("tokens");
    let lines: Vec<String> = tokens.iter().map(|(scope, token)| format!("{scope} {token}")).collect();
    std::fs::write(&tokens_file, lines.join("\n")).unwrap();
    config.query.tokens_file = Some(tokens_file);

    let indicators = config.indicators.clone();
    let stack = EmbeddedStack::start(config, bind("127.0.0.1:0").await.unwrap()).await.unwrap();
    let events = skills::send::read_jsonl(&repo().join("docs/methodology/example-events.jsonl")).unwrap();
    assert_eq!(events.len(), 26, "the document describes 26 events");
    for (topic, message) in events {
        stack.send(topic, vec![message]).await.unwrap();
    }
    stack.wait_idle(WAIT).await.unwrap();
    // The query side refreshes on its own clock: wait for the last event.
    let mut policy = Client::connect(&stack.endpoint(), Some(stack.policy_token().into())).await.unwrap();
    for _ in 0..100 {
        if policy.pipeline_status().await.unwrap().events >= 24 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut public = Client::connect(&stack.endpoint(), None).await.unwrap();
    let mut partner_clients = std::collections::HashMap::new();
    for (scope, token) in &tokens {
        partner_clients.insert(scope.clone(), Client::connect(&stack.endpoint(), Some(token.clone())).await.unwrap());
    }

    let mut wrong = Vec::new();
    for row in &rows {
        let client = match row.audience.as_str() {
            "policy" => &mut policy,
            "public" => &mut public,
            other => partner_clients.get_mut(other).unwrap_or_else(|| panic!("unknown audience {other}")),
        };
        let served = served(client, row).await;
        if !agrees(row.value, served) {
            wrong.push(format!("METHODOLOGY.md line {}: {row:?} but the service gave {served:?}", row.line));
        }
    }
    // And what the public sees of the example withholds safely.
    let store: std::sync::Arc<dyn skills_store::MetricsStore> = std::sync::Arc::new(stack.store.clone());
    let audit =
        skills::audit::audit_store(store.clone(), indicators.clone(), Audience::Public, 2025, 10.0, 5).await.unwrap();
    let partner = Audience::Partner("school-a".into());
    let partner_audit = skills::audit::audit_store(store, indicators, partner, 2025, 10.0, 5).await.unwrap();
    stack.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(audit.withheld_figures > 0 && audit.passed(), "{audit:#?}");
    assert!(partner_audit.passed(), "{partner_audit:#?}");
    assert!(wrong.is_empty(), "{} of {} figures differ:\n{}", wrong.len(), rows.len(), wrong.join("\n"));
}

#[test]
fn values_are_read_as_the_document_writes_them() {
    assert_eq!(parse_value("49/3"), Expected::Number(49.0 / 3.0));
    assert_eq!(parse_value("-3/10"), Expected::Number(-0.3));
    assert_eq!(parse_value("18"), Expected::Number(18.0));
    assert_eq!(parse_value("withheld"), Expected::Withheld);
    let shown = Served { value: Some(2.0), withheld: false };
    assert!(agrees(Expected::Number(2.0), shown));
    assert!(!agrees(Expected::Number(2.5), shown));
    assert!(!agrees(Expected::Withheld, shown));
    assert!(agrees(Expected::Withheld, Served { value: None, withheld: true }));
    assert!(!agrees(Expected::Absent, Served { value: None, withheld: true }));
}

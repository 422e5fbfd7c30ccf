//! The Grafana dashboard (deploy/grafana/skills-pipeline.json) names only
//! metrics the services export: each service's exposition is rendered by
//! its own code, and every metric a panel's query reads must be declared
//! there (`# TYPE`), a histogram's `_bucket` by its family. A renamed
//! counter fails here instead of leaving a panel empty in production.

use skills_domain::indicators::IndicatorSettings;
use std::collections::BTreeSet;

const DASHBOARD: &str = include_str!("../deploy/grafana/skills-pipeline.json");

/// Every metric family the services declare, with its type.
async fn declared() -> BTreeSet<(String, String)> {
    let store = std::sync::Arc::new(skills_store::EmbeddedStore::in_memory().unwrap());
    let engine = skills_query::IndicatorEngine::new(store, IndicatorSettings::default()).await.unwrap();
    let mut query = skills_runtime::metrics::Exposition::default();
    skills_query::ServeOptions::default().metrics.render(&mut query);
    let mut gateway = skills_runtime::metrics::Exposition::default();
    skills_gateway::server::grpc_metrics().render(&mut gateway);
    let texts = [
        skills_ingest::IngestStats::default().render(),
        skills_aggregator::AggregatorStats::default().render(),
        skills_aggregator::model::ModelStats::default().render(),
        skills_gateway::stats::GatewayStats::default().render(),
        query.finish(),
        gateway.finish(),
        skills_query::app::engine_metrics(&engine),
    ];
    texts
        .iter()
        .flat_map(|text| text.lines())
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, kind)| (name.to_string(), kind.to_string()))
        .collect()
}

/// The metric names a PromQL expression reads (this project's families).
fn names_in(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut word = String::new();
    for ch in expr.chars().chain([' ']) {
        if ch.is_ascii_alphanumeric() || ch == '_' || ch == ':' {
            word.push(ch);
            continue;
        }
        if (word.starts_with("skills_") || word.starts_with("grpc_server_")) && ch != '=' && ch != '~' && ch != '!' {
            names.push(word.clone());
        }
        word.clear();
    }
    names
}

fn expressions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr", serde_json::Value::String(expr)) => out.push(expr.clone()),
                    _ => expressions(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| expressions(item, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_metric_the_dashboard_reads_is_exported() {
    let declared = declared().await;
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).unwrap();
    let mut exprs = Vec::new();
    expressions(&dashboard, &mut exprs);
    assert!(exprs.len() >= 10, "the dashboard's panels have queries: {exprs:?}");
    let mut read = BTreeSet::new();
    for expr in &exprs {
        for name in names_in(expr) {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| declared.contains(&(base.to_string(), "histogram".to_string())))
                .unwrap_or(&name)
                .to_string();
            assert!(
                declared.iter().any(|(declared, _)| *declared == family),
                "{name} (in `{expr}`) is exported by no service"
            );
            read.insert(family);
        }
    }
    // What the dashboard is for: lag, dead letters by reason, freshness,
    // RPC latency and codes.
    for needed in [
        "skills_ingest_lag",
        "skills_aggregator_lag",
        "skills_ingest_dead_lettered_total",
        "skills_query_data_as_of_seconds",
        "grpc_server_handling_seconds",
        "grpc_server_handled_total",
    ] {
        assert!(read.contains(needed), "the dashboard shows no {needed}");
    }
}

#[test]
fn names_are_read_from_promql() {
    let names = names_in(
        r#"histogram_quantile(0.99, sum by (le) (rate(grpc_server_handling_seconds_bucket{job="skills-query"}[5m])))"#,
    );
    assert_eq!(names, ["grpc_server_handling_seconds_bucket"]);
    assert_eq!(names_in("time() - max(skills_query_data_as_of_seconds > 0)"), ["skills_query_data_as_of_seconds"]);
}

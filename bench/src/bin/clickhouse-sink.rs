//! Benchmark scenario 3: the aggregator's ClickHouse sink
//! (`ClickHouseStore::apply`: idempotency lookup, facts, dead letters,
//! applied events, checkpoints) against a bare `clickhouse` crate inserter
//! writing exactly the same fact and applied-event rows, with no lookup.
//!
//!   clickhouse-sink URL LEARNERS BATCH RUNS
//!
//! The synthetic data set's events become facts through the domain code
//! once; each run writes them in batches of BATCH events into a fresh
//! database per system (schema made by the store's own migrations), and
//! prints one JSON line per system: rows per second, CPU seconds of this
//! process during the writes, peak RSS. Databases are dropped afterwards.

use clickhouse::Client;
use skills_bench::{cpu_seconds, peak_rss_mib};
use skills_domain::facts::EventFacts;
use skills_store::clickhouse::rows::{AppliedEventRow, AssessmentRow, DemandRow, EnrolmentRow};
use skills_store::{Batch, ClickHouseConfig, ClickHouseStore, MetricsStore};
use std::time::Instant;

fn rows_of(events: &[EventFacts]) -> u64 {
    events
        .iter()
        .map(|e| 1 + e.facts.enrolments.len() + e.facts.assessments.len() + e.facts.demands.len())
        .sum::<usize>() as u64
}

async fn insert<T: clickhouse::RowOwned + clickhouse::RowWrite + Send + Sync>(
    client: &Client,
    table: &str,
    rows: &[T],
) {
    if rows.is_empty() {
        return;
    }
    let mut insert = client.insert_unescaped::<T>(table).await.expect("insert");
    for row in rows {
        insert.write(row).await.expect("write");
    }
    insert.end().await.expect("end");
}

/// The bare inserter: the same rows, one insert per table per batch.
async fn bare(client: &Client, db: &str, batch: &[EventFacts]) {
    let enrolments: Vec<EnrolmentRow> =
        batch.iter().flat_map(|e| e.facts.enrolments.iter().map(EnrolmentRow::from)).collect();
    let assessments: Vec<AssessmentRow> =
        batch.iter().flat_map(|e| e.facts.assessments.iter().map(AssessmentRow::from)).collect();
    let demands: Vec<DemandRow> = batch.iter().flat_map(|e| e.facts.demands.iter().map(DemandRow::from)).collect();
    let applied: Vec<AppliedEventRow> = batch.iter().map(AppliedEventRow::from).collect();
    insert(client, &format!("{db}.enrolment_facts"), &enrolments).await;
    insert(client, &format!("{db}.assessment_facts"), &assessments).await;
    insert(client, &format!("{db}.demand_facts"), &demands).await;
    insert(client, &format!("{db}.applied_events"), &applied).await;
}

fn report(system: &str, run: usize, rows: u64, seconds: f64, cpu: f64) {
    println!(
        "{}",
        serde_json::json!({
            "scenario": "3. ClickHouse write path", "system": system, "run": run,
            "value": rows as f64 / seconds, "cpu_s_per_million": cpu * 1e6 / rows as f64, "rss_mib": peak_rss_mib(),
        })
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, learners, batch, runs, only) = match args.as_slice() {
        [url, learners, batch, runs] => (url, learners, batch, runs, None),
        [url, learners, batch, runs, only] => (url, learners, batch, runs, Some(only.as_str())),
        _ => {
            eprintln!("usage: clickhouse-sink URL LEARNERS BATCH RUNS [sink|bare]");
            std::process::exit(2);
        }
    };
    let (learners, batch, runs): (usize, usize, usize) =
        (learners.parse().expect("LEARNERS"), batch.parse().expect("BATCH"), runs.parse().expect("RUNS"));
    let events = skills_bench::synthetic_facts(0..learners);
    let rows = rows_of(&events);
    eprintln!("{} events, {rows} rows per run", events.len());
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let client = Client::default().with_url(url).with_validation(false);
    for run in 1..=runs {
        let systems = ["aggregator sink", "bare clickhouse inserter"];
        // "sink" or "bare": one system only (deploy/bench.sh gives each a fresh server).
        for system in systems.into_iter().filter(|s| only.is_none_or(|o| s.contains(o))) {
            let database =
                format!("bench_sink_{stamp}_{run}_{}", if system.starts_with("bare") { "bare" } else { "sink" });
            let config = ClickHouseConfig { url: url.clone(), database: database.clone(), ..Default::default() };
            let store = ClickHouseStore::connect(&config).await.expect("schema");
            let (cpu, started) = (cpu_seconds(), Instant::now());
            for chunk in events.chunks(batch) {
                if system.starts_with("bare") {
                    bare(&client, &database, chunk).await;
                } else {
                    store.apply(Batch { events: chunk.to_vec(), ..Default::default() }).await.expect("apply");
                }
            }
            report(system, run, rows, started.elapsed().as_secs_f64(), cpu_seconds() - cpu);
            client.query(&format!("DROP DATABASE IF EXISTS {database}")).execute().await.expect("drop");
        }
    }
}

//! Benchmark scenario 7: what a read costs as the stored history grows, on
//! the embedded store's read model and on its copy in ClickHouse
//! (skills-model), over real gRPC with the cache off — beside the recount
//! from the facts that every read paid before it — and what a cached read
//! costs while events stream in.
//!
//!   read-model CALLS LEARNERS... [--clickhouse URL]
//!
//! For each size: the synthetic set of LEARNERS learners, normalized as
//! skills-ingest does, applied to a fresh store in batches of 5,000 (the
//! write side's events/s); then CALLS uncached calls of each kind
//! (GetRegionIndicators 84/2025, RankShortages 2025 by gap, GetTrend
//! 84 × 3.4 over 24 months) and one recount of 2025 from the facts. At the
//! largest size, cached GetRegionIndicators idle and while new learners'
//! events are applied at 5,000/s. One JSON line per measurement.
//!
//! With `--clickhouse`, for each size the same again on ClickHouse (a
//! fresh database): the facts written as the aggregator writes them, the
//! embedded store above adopted by skills-model's materializer as its state
//! and copied whole, then the same calls against the ClickHouse store, the
//! recount of 2025 from ClickHouse's facts, and at the largest size cached
//! calls while new events go to the facts and through the materializer at
//! 5,000/s. BENCH_CLICKHOUSE_PID names the server whose memory is reported.

// The allocator the services ship with (the embedded demo is one of them).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::json;
use skills_aggregator::model::Materializer;
use skills_bench::{cpu_seconds, latency_summary, peak_rss_mib, synthetic_facts};
use skills_domain::facts::EventFacts;
use skills_domain::indicators::{Audience, IndicatorSettings};
use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_client::TalentGapServiceClient;
use skills_query::auth::Authorizer;
use skills_query::service::TalentGapApi;
use skills_query::{IndicatorEngine, ServeOptions};
use skills_store::{Batch, ClickHouseConfig, ClickHouseStore, CounterWindow, EmbeddedStore, MetricsStore};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

const SCENARIO: &str = "7. read cost (embedded)";
const SCENARIO_CLICKHOUSE: &str = "7. read cost (ClickHouse)";
const TOKEN: &str = "bench-policy";
const LIVE_RATE: usize = 5_000;

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let clickhouse = match args.iter().position(|a| a == "--clickhouse") {
        Some(index) if index + 1 < args.len() => {
            let url = args.remove(index + 1);
            args.remove(index);
            Some(url)
        }
        Some(_) => usage(),
        None => None,
    };
    let Some((calls, sizes)) = args.split_first() else { usage() };
    let calls: usize = calls.parse().expect("CALLS");
    let sizes: Vec<usize> = sizes.iter().map(|s| s.parse().expect("LEARNERS")).collect();
    let largest = *sizes.iter().max().expect("at least one size");
    for learners in sizes {
        measure(learners, calls, learners == largest, clickhouse.as_deref()).await;
    }
}

fn usage() -> ! {
    eprintln!("usage: read-model CALLS LEARNERS... [--clickhouse URL]");
    std::process::exit(2);
}

fn line(system: String, value: f64, cpu_s_per_million: f64, p99_ms: Option<f64>, extra: serde_json::Value) {
    row(SCENARIO, system, value, cpu_s_per_million, p99_ms, extra);
}

fn row(
    scenario: &str,
    system: String,
    value: f64,
    cpu_s_per_million: f64,
    p99_ms: Option<f64>,
    extra: serde_json::Value,
) {
    let mut row = json!({
        "scenario": scenario, "system": system, "run": 1, "value": value,
        "cpu_s_per_million": cpu_s_per_million, "rss_mib": peak_rss_mib(),
    });
    if let Some(pid) = std::env::var("BENCH_CLICKHOUSE_PID").ok().and_then(|p| p.parse().ok()) {
        let (rss, peak) = skills_bench::process_memory_mib(pid);
        row["clickhouse_rss_mib"] = json!(rss);
        row["clickhouse_peak_rss_mib"] = json!(peak);
    }
    if let Some(p99) = p99_ms {
        row["p99_ms"] = json!(p99);
    }
    for (key, value) in extra.as_object().into_iter().flatten() {
        row[key] = value.clone();
    }
    println!("{row}");
}

async fn measure(learners: usize, calls: usize, with_live_ingest: bool, clickhouse: Option<&str>) {
    let directory = std::env::temp_dir().join(format!("skills-read-model-{}-{learners}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let store = Arc::new(EmbeddedStore::open(&directory.join("skills.db")).expect("store"));
    let events = synthetic_facts(0..learners);
    let total = events.len();
    let (started, cpu) = (Instant::now(), cpu_seconds());
    for chunk in events.chunks(5_000) {
        store.apply(Batch { events: chunk.to_vec(), ..Default::default() }).await.expect("apply");
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    eprintln!("{learners} learners: {total} events applied in {seconds:.1} s");
    // The store file per learner: the facts, their indexes and the model.
    let store_bytes: u64 = ["skills.db", "skills.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(directory.join(name)).ok())
        .map(|metadata| metadata.len())
        .sum();
    line(
        format!("apply with the model, {learners} learners"),
        total as f64 / seconds,
        cpu * 1e6 / total as f64,
        None,
        json!({"unit": "events/s", "store_bytes_per_learner": store_bytes / learners as u64}),
    );

    uncached_calls(SCENARIO, store.clone(), learners, calls, "").await;

    let year = CounterWindow::of_period(skills_domain::Period::Year(2025), 6, true);
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let recounted = store.recount(&year).await.expect("recount");
    let recount_ms = started.elapsed().as_secs_f64() * 1e3;
    let (started_model, _) = (Instant::now(), ());
    let model = store.counters(&year).await.expect("model");
    let model_ms = started_model.elapsed().as_secs_f64() * 1e3;
    assert_eq!(model, recounted, "the model and the facts agree on 2025");
    eprintln!("{learners} learners, 2025 all cells: recount {recount_ms:.0} ms, model {model_ms:.1} ms");
    line(
        format!("2025 from the facts (recount), {learners} learners"),
        recount_ms,
        (cpu_seconds() - cpu) * 1e6,
        Some(recount_ms),
        json!({"unit": "ms", "model_ms": model_ms}),
    );

    // ClickHouse first: skills-model adopts a copy of this store as its
    // state, which must then hold exactly the events ClickHouse holds.
    if let Some(url) = clickhouse {
        // skills-model's state is a copy: adopting the store itself would
        // turn change tracking on for the embedded live run below.
        let state = directory.join("model-state.db");
        let connection = rusqlite::Connection::open(directory.join("skills.db")).expect("store file");
        connection.execute("VACUUM INTO ?1", [state.display().to_string()]).expect("copy of the store");
        drop(connection);
        measure_clickhouse(url, &state, &events, learners, calls, with_live_ingest).await;
    }
    if with_live_ingest {
        live_ingest(store.clone(), learners, calls).await;
    }
    let _ = std::fs::remove_dir_all(&directory);
}

/// Waits (up to 300 s) until the server runs no background merge;
/// returns the seconds waited.
async fn drain_merges(admin: &clickhouse::Client) -> f64 {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        let merges: u64 = admin.query("SELECT count() FROM system.merges").fetch_one().await.expect("merges");
        if merges == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed().as_secs_f64()
}

/// CALLS uncached calls of each kind; one line each.
async fn uncached_calls(scenario: &str, store: Arc<dyn MetricsStore>, learners: usize, calls: usize, label: &str) {
    let (client, trigger) = serve(store, false).await;
    for (name, call) in
        [("GetRegionIndicators", Call::Region), ("RankShortages year", Call::Rank), ("GetTrend 24 months", Call::Trend)]
    {
        let mut client = client.clone();
        let (cpu, mut samples, mut served) = (cpu_seconds(), Vec::with_capacity(calls), 0);
        for _ in 0..calls {
            let started = Instant::now();
            served = call.run(&mut client).await;
            samples.push(started.elapsed().as_secs_f64() * 1e3);
        }
        let per_call = (cpu_seconds() - cpu) * 1e6 / calls as f64;
        let summary = latency_summary(samples);
        let p99 = summary["p99_ms"].as_f64().expect("p99");
        // What a call serves grows with the data until every cell is
        // populated: the cost per served cell is what must stay flat.
        eprintln!("{label}{learners} learners, {name} uncached ({served} cells or points served): {summary}");
        row(
            scenario,
            format!("{label}{name} uncached, {learners} learners"),
            p99,
            per_call,
            Some(p99),
            json!({"unit": "ms p99", "p50_ms": summary["p50_ms"], "served": served}),
        );
    }
    trigger.trigger();
}

/// The same history in ClickHouse: facts, the model copied by skills-model's
/// materializer from the state built above, then reads.
async fn measure_clickhouse(
    url: &str,
    state: &Path,
    events: &[EventFacts],
    learners: usize,
    calls: usize,
    with_live_ingest: bool,
) {
    let config = ClickHouseConfig {
        url: url.to_string(),
        database: format!("bench_read_model_{learners}"),
        ..ClickHouseConfig::default()
    };
    let admin = clickhouse::Client::default().with_url(url).with_validation(false);
    admin.query(&format!("DROP DATABASE IF EXISTS {}", config.database)).execute().await.expect("drop");
    let clickhouse = ClickHouseStore::connect(&config).await.expect("ClickHouse");
    let started = Instant::now();
    for chunk in events.chunks(20_000) {
        clickhouse.apply(Batch { events: chunk.to_vec(), ..Default::default() }).await.expect("facts");
    }
    eprintln!("ClickHouse, {learners} learners: facts written in {:.1} s", started.elapsed().as_secs_f64());

    let (started, cpu) = (Instant::now(), cpu_seconds());
    let mut materializer = Materializer::adopt(state, clickhouse.clone()).await.expect("materializer");
    let seconds = started.elapsed().as_secs_f64();
    let cells = clickhouse.model_keys().await.expect("keys").len();
    eprintln!("ClickHouse, {learners} learners: model copied whole ({cells} cells) in {seconds:.1} s");
    row(
        SCENARIO_CLICKHOUSE,
        format!("model copied whole, {learners} learners"),
        seconds,
        (cpu_seconds() - cpu) * 1e6 / cells.max(1) as f64,
        None,
        json!({"unit": "s", "cells": cells}),
    );

    // The same server state for every size: the merges the facts started
    // are done before reads are timed.
    let waited = drain_merges(&admin).await;
    eprintln!("ClickHouse, {learners} learners: background merges drained in {waited:.1} s");
    uncached_calls(SCENARIO_CLICKHOUSE, Arc::new(clickhouse.clone()), learners, calls, "ClickHouse model: ").await;

    let year = CounterWindow::of_period(skills_domain::Period::Year(2025), 6, true);
    let started = Instant::now();
    let recounted = clickhouse.recount(&year).await.expect("recount");
    let recount_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let model = clickhouse.counters(&year).await.expect("model");
    let model_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(model, recounted, "the ClickHouse model and facts agree on 2025");
    eprintln!("ClickHouse, {learners} learners, 2025 all cells: recount {recount_ms:.0} ms, model {model_ms:.1} ms");
    row(
        SCENARIO_CLICKHOUSE,
        format!("2025 from the facts (recount), {learners} learners"),
        recount_ms,
        0.0,
        Some(recount_ms),
        json!({"unit": "ms", "model_ms": model_ms}),
    );

    if with_live_ingest {
        let store: Arc<dyn MetricsStore> = Arc::new(clickhouse.clone());
        let (client, trigger) = serve(store, true).await;
        let mut idle_client = client.clone();
        let idle = timed_calls(&mut idle_client, calls, Duration::from_millis(20)).await;
        // Learners of their own: the embedded live run below uses the next 50,000.
        let first = learners + 100_000;
        let live_events = synthetic_facts(first..first + learners.clamp(1_000, 50_000));
        // Two writers side by side, as skills-aggregator (facts) and
        // skills-model (the model) run side by side.
        let facts_done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let model_done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let facts_writer = {
            let (events, done, clickhouse) = (live_events.clone(), facts_done.clone(), clickhouse.clone());
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(Duration::from_millis(100));
                for chunk in events.chunks(LIVE_RATE / 10) {
                    ticker.tick().await;
                    clickhouse.apply(Batch { events: chunk.to_vec(), ..Default::default() }).await.expect("facts");
                    done.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        let model_writer = {
            let (events, done) = (live_events, model_done.clone());
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(Duration::from_millis(100));
                for chunk in events.chunks(LIVE_RATE / 10) {
                    ticker.tick().await;
                    materializer.apply(chunk.to_vec()).await.expect("model");
                    done.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        let mut live_client = client.clone();
        let started = Instant::now();
        let live = timed_calls(&mut live_client, calls, Duration::from_millis(20)).await;
        let seconds = started.elapsed().as_secs_f64();
        let facts_rate = facts_done.load(std::sync::atomic::Ordering::Relaxed) as f64 / seconds;
        let model_rate = model_done.load(std::sync::atomic::Ordering::Relaxed) as f64 / seconds;
        facts_writer.abort();
        model_writer.abort();
        trigger.trigger();
        let achieved = facts_rate.min(model_rate);
        eprintln!(
            "ClickHouse, {learners} learners, while the cached calls ran: facts {facts_rate:.0} events/s, \
             model {model_rate:.0} events/s"
        );
        for (label, summary) in [("idle", idle), ("while 5,000 events/s are applied", live)] {
            let p99 = summary["p99_ms"].as_f64().expect("p99");
            eprintln!("ClickHouse, {learners} learners, cached GetRegionIndicators {label}: {summary}");
            row(
                SCENARIO_CLICKHOUSE,
                format!("ClickHouse model: GetRegionIndicators cached, {label}"),
                p99,
                0.0,
                Some(p99),
                json!({
                    "unit": "ms p99", "p50_ms": summary["p50_ms"], "events_per_second_applied": achieved,
                    "facts_events_per_second": facts_rate, "model_events_per_second": model_rate,
                }),
            );
        }
    }
    admin.query(&format!("DROP DATABASE IF EXISTS {}", config.database)).execute().await.expect("drop");
}

/// Cached GetRegionIndicators, idle and while new learners' events are
/// applied at LIVE_RATE a second (the cache drops at each new version).
async fn live_ingest(store: Arc<EmbeddedStore>, learners: usize, calls: usize) {
    let (client, trigger) = serve(store.clone(), true).await;
    let mut idle_client = client.clone();
    let idle = timed_calls(&mut idle_client, calls, Duration::from_millis(20)).await;
    let live_events = synthetic_facts(learners..learners + learners.clamp(1_000, 50_000));
    let writer_store = store.clone();
    let applied = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let applied_by_writer = applied.clone();
    let writer = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(100));
        for chunk in live_events.chunks(LIVE_RATE / 10) {
            ticker.tick().await;
            writer_store.apply(Batch { events: chunk.to_vec(), ..Default::default() }).await.expect("apply");
            applied_by_writer.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
        }
    });
    let mut live_client = client.clone();
    let started = Instant::now();
    let live = timed_calls(&mut live_client, calls, Duration::from_millis(20)).await;
    // What the writer achieved, not what it was asked for.
    let achieved = applied.load(std::sync::atomic::Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    writer.abort();
    trigger.trigger();
    eprintln!("{learners} learners: {achieved:.0} events/s applied while the cached calls ran");
    for (label, summary) in [("idle", idle), ("while 5,000 events/s are applied", live)] {
        let p99 = summary["p99_ms"].as_f64().expect("p99");
        eprintln!("{learners} learners, cached GetRegionIndicators {label}: {summary}");
        line(
            format!("GetRegionIndicators cached, {label}"),
            p99,
            0.0,
            Some(p99),
            json!({"unit": "ms p99", "p50_ms": summary["p50_ms"], "events_per_second_applied": achieved}),
        );
    }
}

async fn timed_calls(client: &mut TalentGapServiceClient<Channel>, calls: usize, every: Duration) -> serde_json::Value {
    let mut samples = Vec::with_capacity(calls);
    let mut ticker = tokio::time::interval(every);
    for _ in 0..calls {
        ticker.tick().await;
        let started = Instant::now();
        Call::Region.run(client).await;
        samples.push(started.elapsed().as_secs_f64() * 1e3);
    }
    latency_summary(samples)
}

async fn serve(
    store: Arc<dyn MetricsStore>,
    cache: bool,
) -> (TalentGapServiceClient<Channel>, skills_runtime::ShutdownTrigger) {
    let engine = IndicatorEngine::with_cache(store, IndicatorSettings::default(), cache).await.expect("engine");
    let mut auth = Authorizer::new(None).expect("auth");
    auth.add_token(TOKEN, Audience::Policy);
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(engine.clone().refresh_every(Duration::from_millis(500), shutdown.clone()));
    let api = TalentGapApi::in_process(engine, auth, 64, shutdown.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(skills_query::serve(listener, api, ServeOptions::default(), shutdown));
    (TalentGapServiceClient::connect(endpoint).await.expect("connect"), trigger)
}

#[derive(Clone, Copy)]
enum Call {
    Region,
    Rank,
    Trend,
}

impl Call {
    /// Makes the call; returns how many cells (or trend points) it served.
    async fn run(self, client: &mut TalentGapServiceClient<Channel>) -> usize {
        fn authorized<T>(body: T) -> tonic::Request<T> {
            let mut request = tonic::Request::new(body);
            request.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().expect("header"));
            request
        }
        let outcome = match self {
            Call::Region => client
                .get_region_indicators(authorized(pb::GetRegionIndicatorsRequest {
                    region: "84".into(),
                    period: "2025".into(),
                }))
                .await
                .map(|r| r.into_inner().cells.len()),
            Call::Rank => client
                .rank_shortages(authorized(pb::RankShortagesRequest {
                    period: "2025".into(),
                    top: 500,
                    ..Default::default()
                }))
                .await
                .map(|r| r.into_inner().cells.len()),
            Call::Trend => client
                .get_trend(authorized(pb::GetTrendRequest {
                    region: "84".into(),
                    skill: "3.4".into(),
                    from: "2024-01".into(),
                    to: "2025-12".into(),
                }))
                .await
                .map(|r| r.into_inner().points.len()),
        };
        let answered = outcome.expect("the call succeeds");
        assert!(answered > 0, "the call answered with cells");
        answered
    }
}

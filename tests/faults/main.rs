//! The fault suite: tries to break the pipeline's promises (nothing lost,
//! counted once, bad input dead-lettered, services back without help) on
//! private Kafka and ClickHouse servers, one scenario at a time, and
//! prints the results table of RELIABILITY.md.
//!
//!   fault-suite [--quick] [--only broker,kill,...] [--report FILE] [--keep]
//!
//! Needs the service binaries built beside it (`cargo build --workspace
//! --bins`); deploy/faults.sh builds them in release and runs it.

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod hostile;
mod pipeline;
mod report;
mod scenarios;

use clap::Parser;
use common::processes::PrivateInfra;
use scenarios::{Fault, Settings};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Fault scenarios on real Kafka and ClickHouse, audited by skills reconcile")]
struct Args {
    /// The short suite (smaller load, shorter outages) of the test command.
    #[arg(long)]
    quick: bool,
    /// Only these scenarios (broker, clickhouse, kill, burst, poison, repeat, rebalance, hostile).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Also write the table (markdown) here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Also write the hostile scenario's table (markdown) here.
    #[arg(long)]
    hostile_report: Option<PathBuf>,
    /// Keep the logs and servers' data even when every scenario passes.
    #[arg(long)]
    keep: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let settings = if args.quick { Settings::quick() } else { Settings::full() };
    let faults: Vec<Fault> =
        Fault::ALL.into_iter().filter(|f| args.only.is_empty() || args.only.iter().any(|o| o == f.name())).collect();
    if faults.is_empty() {
        eprintln!("no scenario matches --only {:?}", args.only);
        std::process::exit(2);
    }
    let dir = std::env::temp_dir().join(format!("skills-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let scenarios_dir = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios_dir).unwrap();
    eprintln!("fault suite: logs in {}", dir.display());

    let infra = PrivateInfra::new(dir.join("infra"));
    infra.infra("up", "all");
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("fault moments seeded with {seed}");

    let mut outcomes = Vec::new();
    for fault in faults {
        eprintln!("\n--- {}: {}", fault.name(), fault.title(&settings));
        let outcome = scenarios::run(fault, &infra, &settings, &scenarios_dir, seed).await;
        let r = &outcome.reconciled;
        eprintln!(
            "{}: raw {} counted {} (clean run {}) repeats {} dead-lettered {} lost {} over {} cells differing {} recovery {:?} drain {:?}",
            if outcome.passed() { "pass" } else { "FAIL" },
            r.raw,
            r.counted,
            outcome.expected_events,
            r.duplicates,
            r.dead_lettered,
            outcome.lost,
            outcome.counters.over,
            outcome.counters.cells_differing,
            outcome.recovery,
            outcome.drained_in,
        );
        for problem in &outcome.problems {
            eprintln!("  problem: {problem}");
        }
        outcomes.push(outcome);
    }
    drop(infra);

    // Every log the services and tools wrote, against the keys, the token
    // and the raw learner ids they saw.
    let files = pipeline::log_files(&scenarios_dir);
    let mut secrets = vec![("the policy token".to_string(), pipeline::POLICY_TOKEN.to_string())];
    for fault in Fault::ALL {
        if let Ok(key) = std::fs::read_to_string(scenarios_dir.join(fault.name()).join("pseudonym.key")) {
            secrets.push((format!("the pseudonymisation key of {}", fault.name()), key.trim().to_string()));
        }
    }
    let (lines, findings) = audit::scan_logs(&files, &secrets);
    let log_scan = if findings.is_empty() {
        format!(
            "Log scan: {} files, {lines} lines of service and tool logs; no key, no token, no raw learner id.",
            files.len()
        )
    } else {
        let shown: Vec<String> = findings.iter().take(10).map(|(f, n, what)| format!("{what} at {f}:{n}")).collect();
        format!("Log scan: FAIL, {} findings: {}", findings.len(), shown.join("; "))
    };
    let command = if args.quick { "fault-suite --quick" } else { "deploy/faults.sh" };
    let table = report::table(&outcomes, &settings, command, &log_scan);
    let hostile_tables: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.hostile.as_ref())
        .map(|hostile| hostile::table(hostile, command, &settings.hostile))
        .collect();
    println!("\n{table}");
    for hostile in &hostile_tables {
        println!("\n{hostile}");
    }
    if let Some(path) = &args.report {
        std::fs::write(path, &table).unwrap();
    }
    if let (Some(path), Some(hostile)) = (&args.hostile_report, hostile_tables.first()) {
        std::fs::write(path, hostile).unwrap();
    }
    let passed = outcomes.iter().all(|o| o.passed()) && findings.is_empty();
    if passed && !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("logs kept in {}", dir.display());
    }
    std::process::exit(if passed { 0 } else { 1 });
}

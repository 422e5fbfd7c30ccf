//! skills-ingest: raw partner events from Kafka to the normalized topic.
//! Configuration: defaults, then the file named by `--config` or
//! SKILLS_CONFIG, then SKILLS__* variables (see the README).

/// mimalloc: the services allocate many small, short-lived buffers per
/// batch; glibc malloc took a fifth of ingest's CPU (deploy/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde::Deserialize;
use skills_bus::BusConfig;
use skills_ingest::config::PseudonymisationConfig;
use skills_ingest::keys::load_pseudonymiser;
use skills_ingest::{IngestConfig, IngestStats};
use skills_runtime::telemetry::{LogFormat, init_tracing};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Config {
    log_format: LogFormat,
    bus: BusConfig,
    ingest: IngestConfig,
    pseudonymisation: PseudonymisationConfig,
    metrics: skills_runtime::metrics::MetricsConfig,
}

#[tokio::main]
async fn main() -> ExitCode {
    let config: Config = match skills_runtime::config::load_or_explain("skills-ingest") {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    init_tracing(config.log_format);
    skills_runtime::exit_code("skills-ingest", run(config).await)
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let bus = skills_bus::connect_shared(&config.bus)?;
    let pseudonymiser = load_pseudonymiser(&config.pseudonymisation)?;
    let stats = Arc::new(IngestStats::default());
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(trigger.trigger_on_signals());
    let render_stats = stats.clone();
    let render = Arc::new(move || render_stats.render());
    skills_runtime::metrics::spawn_endpoint(&config.metrics.ingest_listen, render, shutdown.clone()).await?;
    skills_ingest::run(config.ingest, bus, pseudonymiser, stats, shutdown).await?;
    Ok(())
}

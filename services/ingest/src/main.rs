//! skills-ingest: raw partner events from Kafka to the normalized topic.
//! Configuration: defaults, then the file named by `--config` or
//! SKILLS_CONFIG, then SKILLS__* variables (see the README).

use serde::Deserialize;
use skills_bus::{BusConfig, BusKind};
use skills_ingest::config::PseudonymisationConfig;
use skills_ingest::keys::load_pseudonymiser;
use skills_ingest::{IngestConfig, IngestStats};
use skills_runtime::telemetry::{LogFormat, init_tracing};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Config {
    log_format: LogFormat,
    bus: BusConfig,
    ingest: IngestConfig,
    pseudonymisation: PseudonymisationConfig,
    metrics: MetricsConfig,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MetricsConfig {
    /// Prometheus endpoint of this process; empty to disable.
    ingest_listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { ingest_listen: "127.0.0.1:9101".into() }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config: Config = match skills_runtime::config::load_or_explain("skills-ingest") {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    init_tracing(config.log_format);
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("skills-ingest: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    if config.bus.kind == BusKind::Embedded {
        return Err("bus.kind = \"embedded\" works only inside the all-in-one `skills` process; \
                    set bus.kind = \"kafka\" (SKILLS__BUS__KIND=kafka)"
            .into());
    }
    let bus = skills_bus::connect(&config.bus)?;
    let pseudonymiser = load_pseudonymiser(&config.pseudonymisation)?;
    let stats = Arc::new(IngestStats::default());
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(trigger.trigger_on_signals());
    if !config.metrics.ingest_listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&config.metrics.ingest_listen).await?;
        let render_stats = stats.clone();
        let render = Arc::new(move || render_stats.render());
        tokio::spawn(skills_runtime::metrics::serve(listener, render, shutdown.clone()));
    }
    skills_ingest::run(config.ingest, bus, pseudonymiser, stats, shutdown).await?;
    Ok(())
}

//! skills-aggregator: normalized events from Kafka to the metrics store
//! (ClickHouse at scale). Configuration: defaults, then the file named by
//! `--config` or SKILLS_CONFIG, then SKILLS__* variables (see the README).

use serde::Deserialize;
use skills_aggregator::{AggregatorConfig, AggregatorStats};
use skills_bus::{BusConfig, BusKind};
use skills_runtime::telemetry::{LogFormat, init_tracing};
use skills_store::StoreConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
#[serde(default)]
struct Config {
    data_dir: PathBuf,
    log_format: LogFormat,
    bus: BusConfig,
    store: StoreConfig,
    aggregator: AggregatorConfig,
    metrics: MetricsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            log_format: LogFormat::default(),
            bus: BusConfig::default(),
            store: StoreConfig::default(),
            aggregator: AggregatorConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct MetricsConfig {
    /// Prometheus endpoint of this process; empty to disable.
    aggregator_listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { aggregator_listen: "127.0.0.1:9102".into() }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config: Config = match skills_runtime::config::load_or_explain("skills-aggregator") {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    init_tracing(config.log_format);
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("skills-aggregator: {error}");
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
    let store = skills_store::open(&config.store, &config.data_dir).await?;
    let stats = Arc::new(AggregatorStats::default());
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(trigger.trigger_on_signals());
    if !config.metrics.aggregator_listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&config.metrics.aggregator_listen).await?;
        let render_stats = stats.clone();
        let render = Arc::new(move || render_stats.render());
        tokio::spawn(skills_runtime::metrics::serve(listener, render, shutdown.clone()));
    }
    skills_aggregator::run(config.aggregator, bus, store, stats, shutdown).await?;
    Ok(())
}

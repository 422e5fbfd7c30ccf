//! skills-aggregator: normalized events from Kafka to the metrics store
//! (ClickHouse at scale). Configuration: defaults, then the file named by
//! `--config` or SKILLS_CONFIG, then SKILLS__* variables (see the README).

/// mimalloc: the services allocate many small, short-lived buffers per
/// batch; glibc malloc took a fifth of ingest's CPU (deploy/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde::Deserialize;
use skills_aggregator::{AggregatorConfig, AggregatorStats};
use skills_bus::BusConfig;
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
    metrics: skills_runtime::metrics::MetricsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            log_format: LogFormat::default(),
            bus: BusConfig::default(),
            store: StoreConfig::default(),
            aggregator: AggregatorConfig::default(),
            metrics: Default::default(),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config: Config = match skills_runtime::config::load_or_explain("skills-aggregator") {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    init_tracing(config.log_format);
    skills_runtime::exit_code("skills-aggregator", run(config).await)
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let bus = skills_bus::connect_shared(&config.bus)?;
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(trigger.trigger_on_signals());
    let mut stop = shutdown.clone();
    let store =
        skills_store::open_when_ready(&config.store, &config.data_dir, async move { stop.wait().await }).await?;
    let stats = Arc::new(AggregatorStats::default());
    let render_stats = stats.clone();
    let render = Arc::new(move || render_stats.render());
    skills_runtime::metrics::spawn_endpoint(&config.metrics.aggregator_listen, render, shutdown.clone()).await?;
    skills_aggregator::run(config.aggregator, bus, store, stats, shutdown).await?;
    Ok(())
}

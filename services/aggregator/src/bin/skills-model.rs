//! skills-model: keeps the read model of a ClickHouse deployment (see
//! `skills_aggregator::model`). Configuration as for skills-aggregator:
//! defaults, then `--config` or SKILLS_CONFIG, then SKILLS__* variables.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde::Deserialize;
use skills_aggregator::model::{Materializer, ModelConfig, ModelStats};
use skills_bus::BusConfig;
use skills_runtime::Shutdown;
use skills_runtime::telemetry::{LogFormat, init_tracing};
use skills_store::{ClickHouseStore, StoreConfig, StoreError, StoreKind};
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Config {
    data_dir: Option<PathBuf>,
    log_format: LogFormat,
    bus: BusConfig,
    store: StoreConfig,
    model: ModelConfig,
    metrics: skills_runtime::metrics::MetricsConfig,
}

#[tokio::main]
async fn main() -> ExitCode {
    let config: Config = match skills_runtime::config::load_or_explain("skills-model") {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    init_tracing(config.log_format);
    skills_runtime::exit_code("skills-model", run(config).await)
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    if config.store.kind != StoreKind::ClickHouse {
        return Err("skills-model keeps the read model of a ClickHouse store (store.kind = \"clickhouse\"); \
                    the embedded store keeps its own"
            .into());
    }
    let data_dir = config.data_dir.unwrap_or_else(|| PathBuf::from("data"));
    let state_path = config.model.state_path.clone().unwrap_or_else(|| data_dir.join("model-state.db"));
    let bus = skills_bus::connect_shared(&config.bus)?;
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(trigger.trigger_on_signals());
    let Some(materializer) = open_when_ready(&config.store, &state_path, shutdown.clone()).await? else {
        return Ok(());
    };
    let stats = Arc::new(ModelStats::default());
    let render_stats = stats.clone();
    let render = Arc::new(move || render_stats.render());
    skills_runtime::metrics::spawn_endpoint(&config.metrics.model_listen, render, shutdown.clone()).await?;
    skills_aggregator::model::run(config.model, bus, materializer, stats, shutdown).await?;
    Ok(())
}

/// Connects and opens the state, waiting while ClickHouse is unreachable
/// (it may start after this service); None once shutdown comes first.
async fn open_when_ready(
    store: &StoreConfig,
    state_path: &Path,
    mut shutdown: Shutdown,
) -> Result<Option<Materializer>, StoreError> {
    loop {
        let opened = async {
            let clickhouse = ClickHouseStore::connect(&store.clickhouse).await?;
            Materializer::open(state_path, clickhouse).await
        };
        let error = match opened.await {
            Ok(materializer) => return Ok(Some(materializer)),
            Err(error) if error.is_retryable() => error,
            Err(error) => return Err(error),
        };
        tracing::warn!(%error, "ClickHouse not ready; retrying in 1 s");
        tokio::select! {
            _ = shutdown.wait() => return Ok(None),
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

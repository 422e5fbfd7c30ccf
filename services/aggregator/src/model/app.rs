//! skills-model assembled from the configuration file: what its main and
//! the tests run.

use super::{Materializer, ModelConfig, ModelStats};
use skills_bus::Bus;
use skills_config::SkillsConfig;
use skills_runtime::{BoxError, Shutdown};
use skills_store::{ClickHouseStore, StoreConfig, StoreError, StoreKind};
use std::path::Path;
use std::sync::Arc;

pub const ABOUT: &str = "Keeps the read model of a ClickHouse deployment: counters per cell as events \
                         arrive, copied to ClickHouse (docs/READ_MODEL.md). One instance per deployment.";

pub struct ModelService {
    config: ModelConfig,
    bus: Arc<dyn Bus>,
    /// None when shutdown came before ClickHouse did.
    materializer: Option<Materializer>,
    stats: Arc<ModelStats>,
    metrics_listen: String,
}

impl ModelService {
    /// The configured bus, the state (`model.state_path`, default
    /// `<data_dir>/model-state.db`) and ClickHouse, waited for while
    /// unreachable.
    pub async fn build(config: &SkillsConfig, shutdown: &Shutdown) -> Result<Self, BoxError> {
        if config.store.kind != StoreKind::ClickHouse {
            return Err("skills-model keeps the read model of a ClickHouse store (store.kind = \"clickhouse\"); \
                        the embedded store keeps its own"
                .into());
        }
        let state_path = config.model.state_path.clone().unwrap_or_else(|| config.data_dir.join("model-state.db"));
        let bus = skills_bus::connect_shared(&config.bus)?;
        let materializer = open_when_ready(&config.store, &state_path, shutdown.clone()).await?;
        Ok(ModelService {
            config: config.model.clone(),
            bus,
            materializer,
            stats: Arc::default(),
            metrics_listen: config.metrics.model_listen.clone(),
        })
    }

    /// Runs until `shutdown`, then finishes the batch in hand.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), BoxError> {
        let Some(materializer) = self.materializer else {
            return Ok(());
        };
        let stats = self.stats.clone();
        let render = Arc::new(move || stats.render());
        skills_runtime::metrics::spawn_endpoint(&self.metrics_listen, render, shutdown.clone()).await?;
        super::run(self.config, self.bus, materializer, self.stats, shutdown).await?;
        Ok(())
    }
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

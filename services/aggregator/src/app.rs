//! skills-aggregator assembled from the configuration file: what its
//! main, the all-in-one process and the tests run.

use crate::{AggregatorConfig, AggregatorStats};
use skills_bus::Bus;
use skills_config::SkillsConfig;
use skills_runtime::{BoxError, Shutdown};
use skills_store::MetricsStore;
use std::sync::Arc;

pub const ABOUT: &str = "Applies normalized events and dead letters from Kafka to the metrics store \
                         (ClickHouse at scale), each event counted once.";

pub struct AggregatorService {
    config: AggregatorConfig,
    bus: Arc<dyn Bus>,
    store: Arc<dyn MetricsStore>,
    stats: Arc<AggregatorStats>,
    /// Where the Prometheus counters are served; empty: nowhere.
    metrics_listen: String,
}

impl AggregatorService {
    /// The configured bus and store (waited for while unreachable: it may
    /// start after this service), and the metrics endpoint.
    pub async fn build(config: &SkillsConfig, shutdown: &Shutdown) -> Result<Self, BoxError> {
        let bus = skills_bus::connect_shared(&config.bus)?;
        let mut stop = shutdown.clone();
        let store =
            skills_store::open_when_ready(&config.store, &config.data_dir, async move { stop.wait().await }).await?;
        let mut service = AggregatorService::new(config.aggregator.clone(), bus, store);
        service.metrics_listen = config.metrics.aggregator_listen.clone();
        Ok(service)
    }

    /// Over a bus and store already open (the all-in-one process shares
    /// them), with no metrics endpoint.
    pub fn new(config: AggregatorConfig, bus: Arc<dyn Bus>, store: Arc<dyn MetricsStore>) -> Self {
        AggregatorService { config, bus, store, stats: Arc::default(), metrics_listen: String::new() }
    }

    pub fn stats(&self) -> Arc<AggregatorStats> {
        self.stats.clone()
    }

    /// Runs until `shutdown`, then finishes the batch in hand.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), BoxError> {
        let stats = self.stats.clone();
        let render = Arc::new(move || stats.render());
        skills_runtime::metrics::spawn_endpoint(&self.metrics_listen, render, shutdown.clone()).await?;
        crate::run(self.config, self.bus, self.store, self.stats, shutdown).await?;
        Ok(())
    }
}

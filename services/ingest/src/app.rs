//! skills-ingest assembled from the configuration file: what its main,
//! the all-in-one process and the tests run.

use crate::keys::load_pseudonymiser;
use crate::{IngestConfig, IngestStats};
use skills_bus::Bus;
use skills_config::SkillsConfig;
use skills_domain::pseudonym::Pseudonymiser;
use skills_runtime::{BoxError, Shutdown};
use std::sync::Arc;

pub const ABOUT: &str = "Reads raw partner events from Kafka; validates, deduplicates, pseudonymises and \
                         enriches them; produces normalized events or dead letters with their reason.";

pub struct IngestService {
    config: IngestConfig,
    bus: Arc<dyn Bus>,
    pseudonymiser: Pseudonymiser,
    stats: Arc<IngestStats>,
    /// Where the Prometheus counters are served; empty: nowhere.
    metrics_listen: String,
}

impl IngestService {
    /// The configured bus and key, and the metrics endpoint. Unless
    /// `generate_if_missing` says so, a replica never makes up a key:
    /// replicas must share one, so a missing key is an error.
    pub fn build(config: &SkillsConfig) -> Result<Self, BoxError> {
        let bus = skills_bus::connect_shared(&config.bus)?;
        let pseudonymiser = load_pseudonymiser(&config.pseudonymisation, false)?;
        let mut service = IngestService::new(config.ingest.clone(), bus, pseudonymiser);
        service.metrics_listen = config.metrics.ingest_listen.clone();
        Ok(service)
    }

    /// Over a bus and key already made (the all-in-one process shares its
    /// bus), with no metrics endpoint.
    pub fn new(config: IngestConfig, bus: Arc<dyn Bus>, pseudonymiser: Pseudonymiser) -> Self {
        IngestService { config, bus, pseudonymiser, stats: Arc::default(), metrics_listen: String::new() }
    }

    pub fn stats(&self) -> Arc<IngestStats> {
        self.stats.clone()
    }

    /// Runs until `shutdown`, then finishes the batch in hand.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), BoxError> {
        let stats = self.stats.clone();
        let render = Arc::new(move || stats.render());
        skills_runtime::metrics::spawn_endpoint(&self.metrics_listen, render, shutdown.clone()).await?;
        crate::run(self.config, self.bus, self.pseudonymiser, self.stats, shutdown).await?;
        Ok(())
    }
}

//! skills-gateway assembled from the configuration file: what its main,
//! the all-in-one process and the tests run.

use crate::credentials::CredentialStore;
use crate::grpc::EventGatewayApi;
use crate::publisher::Publisher;
use crate::stats::GatewayStats;
use skills_bus::Bus;
use skills_config::{GatewayConfig, SkillsConfig};
use skills_runtime::{BoxError, Shutdown};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub const ABOUT: &str = "The partner gateway: events in over gRPC (skills.v1.EventGateway) or as xAPI statements \
                         (/xAPI/statements), checked as ingest checks them, acknowledged once durable in Kafka.";

pub struct GatewayService {
    config: GatewayConfig,
    listener: TcpListener,
    bus: Arc<dyn Bus>,
    publisher: Arc<Publisher>,
    credentials: Arc<CredentialStore>,
    /// Where the Prometheus counters are served; empty: nowhere.
    metrics_listen: String,
}

impl GatewayService {
    /// The configured bus, credentials, address and metrics endpoint.
    pub async fn build(config: &SkillsConfig) -> Result<Self, BoxError> {
        let bus = skills_bus::connect_shared(&config.bus)?;
        let listener = skills_runtime::bind(&config.gateway.listen).await?;
        let mut service = GatewayService::new(config, bus, listener, Vec::new())?;
        service.metrics_listen = config.metrics.gateway_listen.clone();
        Ok(service)
    }

    /// Over a bus already made and a bound listener, with credentials
    /// (partner, token) beside the configured file's (the all-in-one
    /// process gives its demo partner one).
    pub fn new(
        config: &SkillsConfig,
        bus: Arc<dyn Bus>,
        listener: TcpListener,
        extra_credentials: Vec<(String, String)>,
    ) -> Result<Self, BoxError> {
        let gateway = config.gateway.clone();
        let credentials = CredentialStore::load(gateway.credentials_file.as_deref(), extra_credentials)?;
        if credentials.current().is_empty() {
            tracing::warn!("no partner credentials: set gateway.credentials_file; every call will be refused");
        }
        let stats = Arc::new(GatewayStats::default());
        let publisher = Arc::new(Publisher::new(bus.producer(), gateway.clone(), config.ingest.policy(), stats));
        Ok(GatewayService { config: gateway, listener, bus, publisher, credentials, metrics_listen: String::new() })
    }

    /// Serves the Prometheus metrics on `listen` too ("" = nowhere).
    pub fn with_metrics_listen(mut self, listen: impl Into<String>) -> Self {
        self.metrics_listen = listen.into();
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn stats(&self) -> Arc<GatewayStats> {
        self.publisher.stats().clone()
    }

    /// Serves until `shutdown`, re-reading the credentials file as it changes.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), BoxError> {
        tokio::spawn(ensure_topics(self.bus.clone(), self.config.topics(), shutdown.clone()));
        let stats = self.stats();
        let calls = crate::server::grpc_metrics();
        let render = {
            let calls = calls.clone();
            Arc::new(move || {
                let mut text = stats.render();
                let mut exposition = skills_runtime::metrics::Exposition::default();
                calls.render(&mut exposition);
                text.push_str(&exposition.finish());
                text
            })
        };
        skills_runtime::metrics::spawn_endpoint(&self.metrics_listen, render, shutdown.clone()).await?;
        let reload = Duration::from_millis(self.config.credentials_reload_ms.max(100));
        tokio::spawn(self.credentials.clone().watch(reload, shutdown.clone()));
        let api = EventGatewayApi::new(self.publisher.clone(), self.credentials.clone(), shutdown.clone());
        let xapi = crate::xapi::router(self.publisher.clone(), self.credentials.clone());
        crate::server::serve(self.listener, api, xapi, &self.config, calls, shutdown).await
    }
}

/// Creates the raw topics, retrying while Kafka is unreachable: the gateway
/// serves meanwhile, and answers UNAVAILABLE until Kafka takes writes.
async fn ensure_topics(bus: Arc<dyn Bus>, topics: Vec<String>, mut shutdown: Shutdown) {
    loop {
        match bus.ensure_topics(&topics).await {
            Ok(()) => return,
            Err(error) => tracing::warn!(%error, "cannot create the raw topics yet; retrying in 5 s"),
        }
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

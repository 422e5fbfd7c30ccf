//! The embedded stack: ingest, aggregator and query in one process, over
//! the in-process bus and the SQLite store, under the same service code as
//! the separate processes.

use crate::config::SkillsConfig;
use skills_aggregator::{AggregatorService, AggregatorStats};
use skills_bus::embedded::EmbeddedBus;
use skills_bus::{Bus, Message};
use skills_domain::indicators::Audience;
use skills_gateway::GatewayService;
use skills_ingest::keys::load_pseudonymiser;
use skills_ingest::{IngestService, IngestStats};
use skills_query::{IndicatorEngine, QueryService};
use skills_runtime::{ShutdownTrigger, shutdown_pair};
use skills_store::{EmbeddedStore, MetricsStore};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Debug, Error)]
pub enum StackError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] skills_store::StoreError),
    #[error(transparent)]
    Key(#[from] skills_ingest::keys::KeyError),
    #[error("{0}")]
    Listen(String),
    #[error("bus: {0}")]
    Bus(#[from] skills_bus::BusError),
    #[error("pipeline still busy after {0:?}")]
    NotIdle(Duration),
    #[error("{task} failed: {message}")]
    Task { task: &'static str, message: String },
}

/// The partner the all-in-one process's gateway knows, for trying the
/// gateway against the demo.
pub const DEMO_PARTNER: &str = "demo-partner";

pub struct EmbeddedStack {
    pub address: SocketAddr,
    /// Where the gateway listens, when the stack runs one.
    pub gateway_address: Option<SocketAddr>,
    pub bus: EmbeddedBus,
    pub store: EmbeddedStore,
    pub engine: Arc<IndicatorEngine>,
    pub ingest_stats: Arc<IngestStats>,
    pub aggregator_stats: Arc<AggregatorStats>,
    config: SkillsConfig,
    policy_token: String,
    partner_token: String,
    trigger: ShutdownTrigger,
    tasks: Vec<(&'static str, JoinHandle<Result<(), String>>)>,
}

/// A service's run as a task whose error is text.
fn spawn_service(
    run: impl std::future::Future<Output = Result<(), skills_runtime::BoxError>> + Send + 'static,
) -> JoinHandle<Result<(), String>> {
    tokio::spawn(async move { run.await.map_err(|error| error.to_string()) })
}

/// The query service's bind: one error text for an address that is taken.
pub use skills_query::app::bind;

impl EmbeddedStack {
    /// Ingest, aggregator and query, the query service on `listener`.
    pub async fn start(config: SkillsConfig, listener: TcpListener) -> Result<Self, StackError> {
        EmbeddedStack::start_with_gateway(config, listener, None).await
    }

    /// The same, with the partner gateway on `gateway` when given.
    pub async fn start_with_gateway(
        config: SkillsConfig,
        listener: TcpListener,
        gateway: Option<TcpListener>,
    ) -> Result<Self, StackError> {
        if config.bus.kind != skills_bus::BusKind::Embedded {
            return Err(StackError::Config(
                "the all-in-one process runs on the embedded bus; on Kafka, run skills-ingest, \
                 skills-aggregator and skills-query as separate processes"
                    .into(),
            ));
        }
        let config = latency_tuned(config);
        let address =
            listener.local_addr().map_err(|error| StackError::Listen(format!("listener has no address: {error}")))?;
        let store = EmbeddedStore::open(&config.store_path())?;
        // The embedded default makes its own key on first run.
        let pseudonymiser = load_pseudonymiser(&config.pseudonymisation, true)?;
        let bus = EmbeddedBus::new(config.bus.capacity);
        let shared_bus: Arc<dyn Bus> = Arc::new(bus.clone());
        let shared_store: Arc<dyn MetricsStore> = Arc::new(store.clone());
        let (trigger, shutdown) = shutdown_pair();

        // The process's own reports read as policy; other callers get the
        // configured scopes.
        // The demo partner's token serves both its gateway and its status.
        let policy_token = uuid::Uuid::new_v4().to_string();
        let partner_token = uuid::Uuid::new_v4().simple().to_string();
        let extra_tokens = [
            (policy_token.clone(), Audience::Policy),
            (partner_token.clone(), Audience::Partner(DEMO_PARTNER.to_string())),
        ];
        let ingest = IngestService::new(config.ingest.clone(), shared_bus.clone(), pseudonymiser);
        let aggregator = AggregatorService::new(config.aggregator.clone(), shared_bus.clone(), shared_store.clone());
        let query = QueryService::new(&config, shared_store, listener, &extra_tokens, &shutdown)
            .await
            .map_err(|error| StackError::Task { task: "query", message: error.to_string() })?;
        let (ingest_stats, aggregator_stats, engine) = (ingest.stats(), aggregator.stats(), query.engine());
        let gateway = match gateway {
            Some(listener) => {
                let credentials = vec![(DEMO_PARTNER.to_string(), partner_token.clone())];
                let service = GatewayService::new(&config, shared_bus.clone(), listener, credentials)
                    .map_err(|error| StackError::Task { task: "gateway", message: error.to_string() })?;
                Some(service)
            }
            None => None,
        };
        let gateway_address = gateway.as_ref().and_then(|service| service.local_addr().ok());
        let mut tasks = vec![
            ("ingest", spawn_service(ingest.run(shutdown.clone()))),
            ("aggregator", spawn_service(aggregator.run(shutdown.clone()))),
        ];
        if let Some(gateway) = gateway {
            tasks.push(("gateway", spawn_service(gateway.run(shutdown.clone()))));
        }
        let refresh = refresh_after_writes(engine.clone(), aggregator_stats.clone(), shutdown.clone());
        let refresh = async move {
            refresh.await;
            Ok(())
        };
        tasks.push(("indicator refresh", spawn_service(refresh)));
        tasks.push(("query", spawn_service(query.run(shutdown))));
        Ok(EmbeddedStack {
            address,
            gateway_address,
            bus,
            store,
            engine,
            ingest_stats,
            aggregator_stats,
            config,
            policy_token,
            partner_token,
            trigger,
            tasks,
        })
    }

    /// The gateway token of `DEMO_PARTNER`, valid for this process only.
    pub fn partner_token(&self) -> &str {
        &self.partner_token
    }

    /// A token with the policy scope, valid for this process only.
    pub fn policy_token(&self) -> &str {
        &self.policy_token
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn shutdown_trigger(&self) -> ShutdownTrigger {
        self.trigger.clone()
    }

    /// Produces raw events as a partner would.
    pub async fn send(&self, topic: &str, messages: Vec<Message>) -> Result<(), StackError> {
        Ok(self.bus.producer().send(topic, messages).await?)
    }

    /// Waits until every raw event went through ingest and every result
    /// through the aggregator, then refreshes the served indicators.
    pub async fn wait_idle(&self, timeout: Duration) -> Result<(), StackError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Ingest commits only after producing, so once the raw topics
            // are drained everything they led to is already downstream.
            let raw_lag: i64 =
                self.config.ingest.raw_topics.iter().map(|t| self.bus.lag(t, &self.config.ingest.group_id)).sum();
            let aggregator = &self.config.aggregator;
            let downstream_lag = self.bus.lag(&aggregator.normalized_topic, &aggregator.group_id)
                + self.bus.lag(&aggregator.dead_letter_topic, &aggregator.group_id);
            if raw_lag == 0 && downstream_lag == 0 {
                self.engine
                    .refresh()
                    .await
                    .map_err(|e| StackError::Task { task: "indicator refresh", message: e.to_string() })?;
                return Ok(());
            }
            if let Some((task, _)) = self.tasks.iter().find(|(_, handle)| handle.is_finished()) {
                return Err(StackError::Task { task, message: "stopped while work was pending".into() });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StackError::NotIdle(timeout));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops every task after its current batch.
    pub async fn stop(self) -> Result<(), StackError> {
        self.trigger.trigger();
        let mut first_error = None;
        for (task, handle) in self.tasks {
            let outcome = match handle.await {
                Ok(result) => result,
                Err(join_error) => Err(join_error.to_string()),
            };
            if let Err(message) = outcome {
                tracing::error!(task, error = %message, "task failed");
                first_error.get_or_insert(StackError::Task { task, message });
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// In one process the query engine need not poll for new data: it looks
/// again as soon as the aggregator has written a batch (the periodic
/// check of `query.refresh_interval_ms` stays as the fallback). Watchers
/// see a new event that much sooner.
async fn refresh_after_writes(
    engine: Arc<skills_query::IndicatorEngine>,
    stats: Arc<skills_aggregator::AggregatorStats>,
    mut shutdown: skills_runtime::Shutdown,
) {
    let batches = || skills_aggregator::AggregatorStats::get(&stats.batches);
    let mut seen = batches();
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        let now = batches();
        if now != seen {
            seen = now;
            // Not waiting for the decision: the next batch's version is
            // read (and served to policy callers) while this one is decided.
            if let Err(error) = engine.refresh_ahead().await {
                tracing::warn!(error = %error, "indicator refresh after a write failed");
            }
        }
    }
}

/// The batch waits of the all-in-one process when left at their defaults:
/// its store is a local file, not ClickHouse (whose parts want large
/// batches), so ingest and the aggregator wait 20 and 50 ms for a batch to
/// fill instead of 100 and 200, and a new event is served that much sooner.
fn latency_tuned(mut config: SkillsConfig) -> SkillsConfig {
    let (ingest, aggregator) = (&mut config.ingest.batch_max_wait_ms, &mut config.aggregator.batch_max_wait_ms);
    if *ingest == skills_config::IngestConfig::default().batch_max_wait_ms {
        *ingest = 20;
    }
    if *aggregator == skills_config::AggregatorConfig::default().batch_max_wait_ms {
        *aggregator = 50;
    }
    // Said once, as --check-config shows the configured values.
    tracing::info!(
        ingest_batch_max_wait_ms = *ingest,
        aggregator_batch_max_wait_ms = *aggregator,
        "all-in-one batch waits (20 and 50 ms unless configured to other than the defaults)"
    );
    config
}

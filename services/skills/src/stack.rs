//! The embedded stack: ingest, aggregator and query in one process, over
//! the in-process bus and the SQLite store, under the same service code as
//! the separate processes.

use crate::config::SkillsConfig;
use skills_aggregator::AggregatorStats;
use skills_bus::embedded::EmbeddedBus;
use skills_bus::{Bus, Message};
use skills_domain::indicators::Audience;
use skills_ingest::IngestStats;
use skills_ingest::keys::load_pseudonymiser;
use skills_query::IndicatorEngine;
use skills_query::auth::Authorizer;
use skills_query::service::TalentGapApi;
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
    #[error("cannot listen on {address}: {error}")]
    Listen { address: String, error: std::io::Error },
    #[error("bus: {0}")]
    Bus(#[from] skills_bus::BusError),
    #[error("pipeline still busy after {0:?}")]
    NotIdle(Duration),
    #[error("{task} failed: {message}")]
    Task { task: &'static str, message: String },
}

pub struct EmbeddedStack {
    pub address: SocketAddr,
    pub bus: EmbeddedBus,
    pub store: EmbeddedStore,
    pub engine: Arc<IndicatorEngine>,
    pub ingest_stats: Arc<IngestStats>,
    pub aggregator_stats: Arc<AggregatorStats>,
    config: SkillsConfig,
    policy_token: String,
    trigger: ShutdownTrigger,
    tasks: Vec<(&'static str, JoinHandle<Result<(), String>>)>,
}

/// Binds the configured gRPC address, with a clear error when it is taken.
pub async fn bind(address: &str) -> Result<TcpListener, StackError> {
    TcpListener::bind(address).await.map_err(|error| StackError::Listen { address: address.to_string(), error })
}

impl EmbeddedStack {
    pub async fn start(config: SkillsConfig, listener: TcpListener) -> Result<Self, StackError> {
        if config.bus.kind != skills_bus::BusKind::Embedded {
            return Err(StackError::Config(
                "the all-in-one process runs on the embedded bus; on Kafka, run skills-ingest, \
                 skills-aggregator and skills-query as separate processes"
                    .into(),
            ));
        }
        let address =
            listener.local_addr().map_err(|error| StackError::Listen { address: "listener".into(), error })?;
        let store = EmbeddedStore::open(&config.store_path())?;
        let pseudonymiser = load_pseudonymiser(&config.pseudonymisation)?;
        let bus = EmbeddedBus::new(config.bus.capacity);
        let shared_bus: Arc<dyn Bus> = Arc::new(bus.clone());
        let shared_store: Arc<dyn MetricsStore> = Arc::new(store.clone());
        let engine =
            IndicatorEngine::with_cache(shared_store.clone(), config.indicators.clone(), config.query.cache).await?;

        // The process's own reports read as policy; other callers get the
        // configured scopes.
        let policy_token = uuid::Uuid::new_v4().to_string();
        let mut auth = Authorizer::new(config.query.anonymous_scope.as_deref()).map_err(StackError::Config)?;
        if let Some(file) = &config.query.tokens_file {
            auth.add_tokens_file(file).map_err(StackError::Config)?;
        }
        auth.add_token(policy_token.clone(), Audience::Policy);

        let (trigger, shutdown) = shutdown_pair();
        let ingest_stats = Arc::new(IngestStats::default());
        let aggregator_stats = Arc::new(AggregatorStats::default());
        let mut tasks = Vec::new();
        tasks.push((
            "ingest",
            tokio::spawn({
                let (config, bus, stats, shutdown) =
                    (config.ingest.clone(), shared_bus.clone(), ingest_stats.clone(), shutdown.clone());
                async move {
                    skills_ingest::run(config, bus, pseudonymiser, stats, shutdown).await.map_err(|e| e.to_string())
                }
            }),
        ));
        tasks.push((
            "aggregator",
            tokio::spawn({
                let (config, bus, store, stats, shutdown) = (
                    config.aggregator.clone(),
                    shared_bus.clone(),
                    shared_store.clone(),
                    aggregator_stats.clone(),
                    shutdown.clone(),
                );
                async move { skills_aggregator::run(config, bus, store, stats, shutdown).await.map_err(|e| e.to_string()) }
            }),
        ));
        let refresh = Duration::from_millis(config.query.refresh_interval_ms);
        tasks.push((
            "indicator refresh",
            tokio::spawn({
                let (engine, shutdown) = (engine.clone(), shutdown.clone());
                async move {
                    engine.refresh_every(refresh, shutdown).await;
                    Ok(())
                }
            }),
        ));
        let api = TalentGapApi::new(
            engine.clone(),
            auth,
            config.query.limits(),
            std::time::Duration::from_secs(config.query.watch_max_age_s),
            shutdown.clone(),
        );
        let options = config.query.serve_options();
        tasks.push((
            "query",
            tokio::spawn(async move {
                skills_query::serve(listener, api, options, shutdown).await.map_err(|e| e.to_string())
            }),
        ));
        Ok(EmbeddedStack {
            address,
            bus,
            store,
            engine,
            ingest_stats,
            aggregator_stats,
            config,
            policy_token,
            trigger,
            tasks,
        })
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

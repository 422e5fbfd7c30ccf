//! skills-query assembled from the configuration file: what its main, the
//! all-in-one process and the tests run.

use crate::auth::Authorizer;
use crate::config::Limits;
use crate::service::TalentGapApi;
use crate::{IndicatorEngine, ServeOptions};
use skills_config::SkillsConfig;
use skills_domain::indicators::Audience;
use skills_runtime::{BoxError, Shutdown};
use skills_store::MetricsStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub const ABOUT: &str = "Serves the talent-gap indicators over gRPC (skills.v1.TalentGapService, with \
                         health, reflection and gRPC-web) from the metrics store.";

pub struct QueryService {
    listener: TcpListener,
    engine: Arc<IndicatorEngine>,
    api: TalentGapApi,
    options: ServeOptions,
    refresh_interval: Duration,
    /// Where the Prometheus metrics are served; empty: nowhere.
    metrics_listen: String,
}

impl QueryService {
    /// The configured store (waited for while unreachable), tokens and
    /// address.
    pub async fn build(config: &SkillsConfig, shutdown: &Shutdown) -> Result<Self, BoxError> {
        let mut stop = shutdown.clone();
        let store =
            skills_store::open_when_ready(&config.store, &config.data_dir, async move { stop.wait().await }).await?;
        let listener = bind(&config.query.listen).await?;
        let mut service = QueryService::new(config, store, listener, &[], shutdown).await?;
        service.metrics_listen = config.metrics.query_listen.clone();
        Ok(service)
    }

    /// Over a store already open and a bound listener, with `extra_tokens`
    /// beside the configured ones (the all-in-one process gives itself a
    /// policy token).
    pub async fn new(
        config: &SkillsConfig,
        store: Arc<dyn MetricsStore>,
        listener: TcpListener,
        extra_tokens: &[(String, Audience)],
        shutdown: &Shutdown,
    ) -> Result<Self, BoxError> {
        let query = &config.query;
        let mut auth = Authorizer::new(query.anonymous_scope.as_deref())?;
        if let Some(file) = &query.tokens_file {
            auth.add_tokens_file(file)?;
        }
        for (token, audience) in extra_tokens {
            auth.add_token(token.clone(), audience.clone());
        }
        let engine = IndicatorEngine::with_cache(store, config.indicators.clone(), query.cache).await?;
        let watch_max_age = Duration::from_secs(query.watch_max_age_s);
        let keepalive = (query.watch_keepalive_s > 0).then(|| Duration::from_secs(query.watch_keepalive_s));
        let api = TalentGapApi::new(engine.clone(), auth, Limits::from_config(query), watch_max_age, shutdown.clone())
            .with_watch_keepalive(keepalive);
        Ok(QueryService {
            listener,
            engine,
            api,
            options: ServeOptions::from_config(query),
            refresh_interval: Duration::from_millis(query.refresh_interval_ms),
            metrics_listen: String::new(),
        })
    }

    /// The indicators served (the all-in-one process refreshes them when
    /// its pipeline is idle).
    pub fn engine(&self) -> Arc<IndicatorEngine> {
        self.engine.clone()
    }

    /// Serves until `shutdown`, looking for new data every
    /// `refresh_interval_ms`.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), BoxError> {
        tokio::spawn(self.engine.clone().refresh_every(self.refresh_interval, shutdown.clone()));
        let render = self.render_metrics();
        skills_runtime::metrics::spawn_endpoint(&self.metrics_listen, render, shutdown.clone()).await?;
        crate::serve(self.listener, self.api, self.options, shutdown).await?;
        Ok(())
    }
}

impl QueryService {
    /// The Prometheus text of this service: what it last saw of the store
    /// (`engine_metrics`) and its gRPC calls.
    pub fn render_metrics(&self) -> skills_runtime::metrics::Render {
        let (engine, calls) = (self.engine.clone(), self.options.metrics.clone());
        std::sync::Arc::new(move || {
            let mut out = skills_runtime::metrics::Exposition::default();
            calls.render(&mut out);
            engine_metrics(&engine) + &out.finish()
        })
    }
}

/// What the engine last saw of the store: reachability, counts, and the
/// newest counted event's ingestion time (the served data's age is
/// `time() - skills_query_data_as_of_seconds`).
pub fn engine_metrics(engine: &IndicatorEngine) -> String {
    let status = engine.status();
    skills_runtime::metrics::Exposition::default()
        .gauge("skills_query_store_reachable", "1 while the store answers, else 0.", engine.store_reachable().into())
        .gauge("skills_query_events", "Events counted in the store, as last read.", status.events as i64)
        .gauge("skills_query_dead_letters", "Dead letters in the store, as last read.", status.dead_letters as i64)
        .gauge(
            "skills_query_data_as_of_seconds",
            "Ingestion time of the newest counted event (Unix seconds; 0: none yet).",
            status.as_of.map(|t| t.timestamp()).unwrap_or(0),
        )
        .gauge("skills_query_data_version", "The store's data version served.", status.version as i64)
        .finish()
}

pub use skills_runtime::bind;

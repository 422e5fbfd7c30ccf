//! skills-query as its own process, serving the configured store
//! (`store.kind`: the embedded file, or ClickHouse at scale).

/// mimalloc: the services allocate many small, short-lived buffers per
/// batch; glibc malloc took a fifth of ingest's CPU (deploy/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use skills_query::auth::Authorizer;
use skills_query::service::TalentGapApi;
use skills_query::{IndicatorEngine, QueryConfig};
use skills_runtime::telemetry::{LogFormat, init_tracing};
use skills_store::StoreConfig;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Config {
    data_dir: Option<PathBuf>,
    log_format: LogFormat,
    store: StoreConfig,
    query: QueryConfig,
    indicators: skills_domain::indicators::IndicatorSettings,
}

#[tokio::main]
async fn main() -> ExitCode {
    let config: Config = match skills_runtime::config::load_or_explain("skills-query") {
        Ok(config) => config,
        Err(exit) => return exit,
    };
    init_tracing(config.log_format);
    skills_runtime::exit_code("skills-query", run(config).await)
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = config.data_dir.unwrap_or_else(|| PathBuf::from("data"));
    let mut auth = Authorizer::new(config.query.anonymous_scope.as_deref())?;
    if let Some(file) = &config.query.tokens_file {
        auth.add_tokens_file(file)?;
    }
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(trigger.trigger_on_signals());
    let mut stop = shutdown.clone();
    let store = skills_store::open_when_ready(&config.store, &data_dir, async move { stop.wait().await }).await?;
    let engine = IndicatorEngine::with_cache(store, config.indicators, config.query.cache).await?;
    let interval = std::time::Duration::from_millis(config.query.refresh_interval_ms);
    tokio::spawn(engine.clone().refresh_every(interval, shutdown.clone()));
    let listener = tokio::net::TcpListener::bind(&config.query.listen).await?;
    let api = TalentGapApi::new(
        engine,
        auth,
        config.query.limits(),
        std::time::Duration::from_secs(config.query.watch_max_age_s),
        shutdown.clone(),
    );
    skills_query::serve(listener, api, config.query.serve_options(), shutdown).await?;
    Ok(())
}

//! What the query tests share: the embedded store behind the shared
//! fault-injecting wrapper (it counts and slows counter reads), and a
//! served API over real gRPC.

#![allow(dead_code)]

use skills_domain::indicators::{Audience, IndicatorSettings};
use skills_proto::v1::talent_gap_service_client::TalentGapServiceClient;
use skills_query::auth::Authorizer;
use skills_query::config::Limits;
use skills_query::service::TalentGapApi;
use skills_query::{IndicatorEngine, ServeOptions};
use skills_store::fixtures::{FaultyStore, story};
use skills_store::{Batch, EmbeddedStore, MetricsStore};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;

pub const TOKEN: &str = "policy-token";

pub struct Running {
    pub client: TalentGapServiceClient<Channel>,
    pub store: Arc<FaultyStore>,
    pub engine: Arc<IndicatorEngine>,
    pub trigger: skills_runtime::ShutdownTrigger,
    pub endpoint: String,
}

/// A public token, beside the policy one.
pub const PUBLIC_TOKEN: &str = "public-token";
/// The token of partner `p`, the partner of the story's events.
pub const PARTNER_TOKEN: &str = "partner-token";

/// The story's data served with `limits`: `TOKEN` is policy, `PUBLIC_TOKEN`
/// public, anonymous callers public.
pub async fn serve_with(limits: Limits, watch_max_age: Duration, options: ServeOptions) -> Running {
    let inner = EmbeddedStore::in_memory().unwrap();
    inner.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    let store = Arc::new(FaultyStore::new(Arc::new(inner)));
    let engine = IndicatorEngine::new(store.clone(), IndicatorSettings::default()).await.unwrap();
    let mut auth = Authorizer::new(Some("public")).unwrap();
    auth.add_token(TOKEN, Audience::Policy);
    auth.add_token(PUBLIC_TOKEN, Audience::Public);
    auth.add_token(PARTNER_TOKEN, Audience::Partner("p".into()));
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    let api = TalentGapApi::new(engine.clone(), auth, limits, watch_max_age, shutdown.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(skills_query::serve(listener, api, options, shutdown));
    let client = TalentGapServiceClient::connect(endpoint.clone()).await.unwrap();
    Running { client, store, engine, trigger, endpoint }
}

/// No rate limit, `max_concurrent` calls at once, one computation at a time.
pub async fn serve(max_concurrent: usize) -> Running {
    let mut limits = Limits::unlimited(max_concurrent);
    limits.audiences.policy.store_computations = 1;
    serve_with(limits, Duration::from_secs(600), ServeOptions::default()).await
}

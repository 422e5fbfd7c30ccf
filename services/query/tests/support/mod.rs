//! What the query tests share: the embedded store behind a wrapper that
//! counts and slows its counter reads, and a served API over real gRPC.

#![allow(dead_code)]

use async_trait::async_trait;
use skills_domain::indicators::{Audience, CellCounters, IndicatorSettings};
use skills_proto::v1::talent_gap_service_client::TalentGapServiceClient;
use skills_query::auth::Authorizer;
use skills_query::config::Limits;
use skills_query::service::TalentGapApi;
use skills_query::{IndicatorEngine, ServeOptions};
use skills_store::fixtures::story;
use skills_store::{
    ApplyOutcome, Batch, Checkpoint, CounterWindow, EmbeddedStore, MetricsStore, StoreError, StoreStatus,
};
use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tonic::transport::Channel;

pub const TOKEN: &str = "policy-token";

#[derive(Default)]
pub struct Probe {
    pub reads: AtomicU64,
    pub finished: AtomicU64,
    pub abandoned: AtomicU64,
    pub delay_ms: AtomicU64,
}

/// Counts a read as abandoned if it is dropped before it finishes.
struct ReadGuard<'a>(&'a Probe, bool);

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        let counter = if self.1 { &self.0.finished } else { &self.0.abandoned };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct SlowStore {
    pub inner: EmbeddedStore,
    pub probe: Arc<Probe>,
}

#[async_trait]
impl MetricsStore for SlowStore {
    async fn apply(&self, batch: Batch) -> Result<ApplyOutcome, StoreError> {
        self.inner.apply(batch).await
    }
    async fn counters(&self, window: &CounterWindow) -> Result<Vec<CellCounters>, StoreError> {
        self.probe.reads.fetch_add(1, Ordering::Relaxed);
        let mut guard = ReadGuard(&self.probe, false);
        tokio::time::sleep(Duration::from_millis(self.probe.delay_ms.load(Ordering::Relaxed))).await;
        let counters = self.inner.counters(window).await;
        guard.1 = true;
        counters
    }
    async fn status(&self) -> Result<StoreStatus, StoreError> {
        self.inner.status().await
    }
    async fn checkpoints(&self, consumer: &str) -> Result<Vec<Checkpoint>, StoreError> {
        self.inner.checkpoints(consumer).await
    }
    async fn forget(&self, erasure: &skills_store::Erasure) -> Result<skills_store::ErasureOutcome, StoreError> {
        self.inner.forget(erasure).await
    }
    async fn learners(&self) -> Result<Vec<String>, StoreError> {
        self.inner.learners().await
    }
    async fn rename_learners(&self, renames: &[(String, String)]) -> Result<(), StoreError> {
        self.inner.rename_learners(renames).await
    }
    async fn dead_letter_reasons(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.inner.dead_letter_reasons().await
    }
    async fn counted_events(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        self.inner.counted_events(ids).await
    }
    async fn dead_lettered_offsets(
        &self,
        topic: &str,
        partition: i32,
        offsets: Range<i64>,
    ) -> Result<HashSet<i64>, StoreError> {
        self.inner.dead_lettered_offsets(topic, partition, offsets).await
    }
}

pub struct Running {
    pub client: TalentGapServiceClient<Channel>,
    pub store: Arc<SlowStore>,
    pub engine: Arc<IndicatorEngine>,
    pub trigger: skills_runtime::ShutdownTrigger,
    pub endpoint: String,
}

/// A public token, beside the policy one.
pub const PUBLIC_TOKEN: &str = "public-token";

/// The story's data served with `limits`: `TOKEN` is policy, `PUBLIC_TOKEN`
/// public, anonymous callers public.
pub async fn serve_with(limits: Limits, watch_max_age: Duration, options: ServeOptions) -> Running {
    let inner = EmbeddedStore::in_memory().unwrap();
    inner.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    let store = Arc::new(SlowStore { inner, probe: Arc::default() });
    let engine = IndicatorEngine::new(store.clone(), IndicatorSettings::default()).await.unwrap();
    let mut auth = Authorizer::new(Some("public")).unwrap();
    auth.add_token(TOKEN, Audience::Policy);
    auth.add_token(PUBLIC_TOKEN, Audience::Public);
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

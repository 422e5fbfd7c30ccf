//! How the service behaves under load and slowness, over real gRPC: hot
//! reads come from the cache until new data lands, a client's deadline
//! answers that client at once while the shared computation goes on to
//! fill the cache, and overload is refused quickly with RESOURCE_EXHAUSTED. The store is the embedded one behind a wrapper that
//! counts and slows its counter reads.

use async_trait::async_trait;
use skills_domain::indicators::{Audience, CellCounters, IndicatorSettings};
use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_client::TalentGapServiceClient;
use skills_query::auth::Authorizer;
use skills_query::service::TalentGapApi;
use skills_query::{IndicatorEngine, ServeOptions};
use skills_store::fixtures::{demand, story};
use skills_store::{
    ApplyOutcome, Batch, Checkpoint, CounterWindow, EmbeddedStore, MetricsStore, StoreError, StoreStatus,
};
use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tonic::Code;
use tonic::transport::Channel;

const TOKEN: &str = "policy-token";

#[derive(Default)]
struct Probe {
    reads: AtomicU64,
    finished: AtomicU64,
    abandoned: AtomicU64,
    delay_ms: AtomicU64,
}

/// Counts a read as abandoned if it is dropped before it finishes.
struct ReadGuard<'a>(&'a Probe, bool);

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        let counter = if self.1 { &self.0.finished } else { &self.0.abandoned };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

struct SlowStore {
    inner: EmbeddedStore,
    probe: Arc<Probe>,
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

struct Running {
    client: TalentGapServiceClient<Channel>,
    store: Arc<SlowStore>,
    engine: Arc<IndicatorEngine>,
    trigger: skills_runtime::ShutdownTrigger,
}

async fn serve(max_concurrent: usize) -> Running {
    let inner = EmbeddedStore::in_memory().unwrap();
    inner.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    let store = Arc::new(SlowStore { inner, probe: Arc::default() });
    let engine = IndicatorEngine::new(store.clone(), IndicatorSettings::default()).await.unwrap();
    let mut auth = Authorizer::new(None).unwrap();
    auth.add_token(TOKEN, Audience::Policy);
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    let api = TalentGapApi::new(engine.clone(), auth, max_concurrent, shutdown.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(skills_query::serve(listener, api, ServeOptions::default(), shutdown));
    let client = TalentGapServiceClient::connect(endpoint).await.unwrap();
    Running { client, store, engine, trigger }
}

fn region_request(region: &str, timeout: Option<Duration>) -> tonic::Request<pb::GetRegionIndicatorsRequest> {
    let mut request =
        tonic::Request::new(pb::GetRegionIndicatorsRequest { region: region.into(), period: "2025".into() });
    request.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    request
}

fn openings(response: &pb::GetRegionIndicatorsResponse, skill: &str) -> u64 {
    response.cells.iter().find(|c| c.skill == skill).map_or(0, |c| c.openings)
}

/// A year's publication reads its 17 periods' cells and region rows.
const READS_PER_YEAR: u64 = 34;

#[tokio::test]
async fn hot_reads_come_from_the_cache_until_new_data_lands() {
    let mut running = serve(16).await;
    let first = running.client.get_region_indicators(region_request("11", None)).await.unwrap().into_inner();
    let reads = running.store.probe.reads.load(Ordering::Relaxed);
    for _ in 0..50 {
        running.client.get_region_indicators(region_request("11", None)).await.unwrap();
        running.client.get_region_indicators(region_request("84", None)).await.unwrap();
    }
    assert_eq!(running.store.probe.reads.load(Ordering::Relaxed), reads, "100 calls, no store read");
    assert_eq!(openings(&first, "3.4"), 15);

    running.store.apply(Batch { events: vec![demand(70, 5, 0, "2025-06-01")], ..Default::default() }).await.unwrap();
    running.engine.refresh().await.unwrap();
    let after = running.client.get_region_indicators(region_request("11", None)).await.unwrap().into_inner();
    assert_eq!(openings(&after, "3.4"), 20, "new data invalidates the cache");
    assert!(running.store.probe.reads.load(Ordering::Relaxed) > reads);
    running.trigger.trigger();
}

#[tokio::test]
async fn a_caller_that_gives_up_leaves_the_shared_work_to_finish_for_the_next() {
    let mut running = serve(16).await;
    running.store.probe.delay_ms.store(1_000, Ordering::Relaxed);
    let started = Instant::now();
    let error =
        running.client.get_region_indicators(region_request("11", Some(Duration::from_millis(200)))).await.unwrap_err();
    assert!(matches!(error.code(), Code::DeadlineExceeded | Code::Cancelled), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(900), "answered at the deadline, not after the slow read");
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(running.store.probe.abandoned.load(Ordering::Relaxed), 0, "the computation was not dropped");
    assert_eq!(running.store.probe.finished.load(Ordering::Relaxed), READS_PER_YEAR, "and it finished once");

    let started = Instant::now();
    let response = running.client.get_region_indicators(region_request("11", None)).await.unwrap().into_inner();
    assert!(started.elapsed() < Duration::from_millis(500), "the next caller is served from the filled cache");
    assert_eq!(openings(&response, "3.4"), 15);
    assert_eq!(running.store.probe.reads.load(Ordering::Relaxed), READS_PER_YEAR, "no second computation");
    running.trigger.trigger();
}

#[tokio::test]
async fn overload_is_refused_quickly_with_resource_exhausted() {
    let running = serve(1).await;
    running.store.probe.delay_ms.store(2_000, Ordering::Relaxed);
    let mut busy = running.client.clone();
    let slow = tokio::spawn(async move { busy.get_region_indicators(region_request("11", None)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = running.client.clone();
    let started = Instant::now();
    let error = second.get_region_indicators(region_request("84", None)).await.unwrap_err();
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "refused after the short queue wait, not after the slow call");
    assert!(slow.await.unwrap().is_ok(), "the call holding the slot completes");
    running.trigger.trigger();
}

#[tokio::test]
async fn new_data_is_computed_before_the_cache_moves_so_polling_never_waits_on_the_store() {
    let mut running = serve(16).await;
    let first = running.client.get_region_indicators(region_request("11", None)).await.unwrap().into_inner();
    assert_eq!(openings(&first, "3.4"), 15);
    running.store.probe.delay_ms.store(600, Ordering::Relaxed);
    running.store.apply(Batch { events: vec![demand(71, 5, 0, "2025-06-01")], ..Default::default() }).await.unwrap();
    let engine = running.engine.clone();
    let refresh = tokio::spawn(async move { engine.refresh().await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let during = running.client.get_region_indicators(region_request("11", None)).await.unwrap().into_inner();
    assert!(started.elapsed() < Duration::from_millis(300), "served from the current version, not the store");
    assert_eq!(openings(&during, "3.4"), 15, "the version being replaced");

    refresh.await.unwrap().unwrap();
    let reads = running.store.probe.reads.load(Ordering::Relaxed);
    let started = Instant::now();
    let after = running.client.get_region_indicators(region_request("11", None)).await.unwrap().into_inner();
    assert!(started.elapsed() < Duration::from_millis(300), "the new version was computed ahead");
    assert_eq!(openings(&after, "3.4"), 20, "and holds the new data");
    assert_eq!(running.store.probe.reads.load(Ordering::Relaxed), reads, "no read on the caller's path");
    running.trigger.trigger();
}

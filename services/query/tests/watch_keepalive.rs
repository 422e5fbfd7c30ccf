//! A watch stream with nothing new sends its last state again every
//! keepalive period (proxies keep the stream, a departed client is
//! noticed), from memory: the store is not read for it.

use skills_domain::indicators::IndicatorSettings;
use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_server::TalentGapService;
use skills_query::IndicatorEngine;
use skills_query::auth::Authorizer;
use skills_query::service::TalentGapApi;
use skills_store::fixtures::{FaultyStore, story};
use skills_store::{Batch, EmbeddedStore, MetricsStore};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_stream::StreamExt;

#[tokio::test]
async fn an_idle_watch_repeats_its_state_without_reading_the_store() {
    let inner = EmbeddedStore::in_memory().unwrap();
    inner.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    let store = Arc::new(FaultyStore::new(Arc::new(inner)));
    let engine = IndicatorEngine::new(store.clone(), IndicatorSettings::default()).await.unwrap();
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    let api = TalentGapApi::in_process(engine, Authorizer::new(Some("public")).unwrap(), 4, shutdown)
        .with_watch_keepalive(Some(Duration::from_millis(200)));
    let request = tonic::Request::new(pb::WatchIndicatorsRequest { region: "11".into(), period: "2025".into() });
    let mut stream = api.watch_indicators(request).await.unwrap().into_inner();
    let first = stream.next().await.unwrap().unwrap();
    let reads = store.probe.reads();
    let started = Instant::now();
    let second = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap().unwrap().unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "the repeat came after the keepalive period, not at once ({waited:?})"
    );
    assert_eq!(second, first, "the same state");
    assert_eq!(store.probe.reads(), reads, "a keepalive reads nothing from the store");
    trigger.trigger();
}

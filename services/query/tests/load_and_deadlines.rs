//! How the service behaves under load and slowness, over real gRPC: hot
//! reads come from the cache until new data lands, a client's deadline
//! answers that client at once while the shared computation goes on to
//! fill the cache, and overload is refused quickly with RESOURCE_EXHAUSTED.
//! The store is the embedded one behind a wrapper that counts and slows
//! its counter reads (`support`).

use skills_proto::v1 as pb;
use skills_store::fixtures::demand;
use skills_store::{Batch, MetricsStore};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tonic::Code;

mod support;

use support::{TOKEN, serve};

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
    running.store.set_read_delay(Duration::from_millis(1_000));
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
    running.store.set_read_delay(Duration::from_millis(2_000));
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
    running.store.set_read_delay(Duration::from_millis(600));
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

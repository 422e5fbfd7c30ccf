//! Callers who do not play fair, over real gRPC against the embedded store
//! behind a slow wrapper (`support`): floods past a rate, cache misses of
//! one audience while another reads, periods with no data, watch-stream
//! floods, undecodable and oversized requests, odd authorization headers.

mod support;

use skills_proto::v1 as pb;
use skills_query::ServeOptions;
use skills_query::config::Limits;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::{PUBLIC_TOKEN, TOKEN, serve, serve_with};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_types::StatusExt;

fn request<T>(body: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

fn region(region: &str, period: &str, token: Option<&str>) -> tonic::Request<pb::GetRegionIndicatorsRequest> {
    request(pb::GetRegionIndicatorsRequest { region: region.into(), period: period.into() }, token)
}

fn limits() -> Limits {
    let mut limits = Limits::unlimited(64);
    limits.audiences.anonymous.rate_per_s = 5.0;
    limits.audiences.anonymous.burst = 5;
    limits.audiences.anonymous.watch_streams_per_caller = 2;
    limits.max_watch_streams = 3;
    limits.audiences.policy.store_computations = 1;
    limits.audiences.anonymous.store_computations = 1;
    limits
}

#[tokio::test]
async fn a_flood_past_the_rate_is_refused_with_retry_info_and_other_callers_go_on() {
    let running = serve_with(limits(), Duration::from_secs(600), ServeOptions::default()).await;
    let mut client = running.client.clone();
    // Computed once first (as policy, not rate-limited): the first
    // computation takes a sizeable part of the 200 ms a token takes to come
    // back, and with the other tests running beside it, sometimes all of it.
    client.get_region_indicators(region("11", "2025", Some(TOKEN))).await.unwrap();
    for _ in 0..5 {
        client.get_region_indicators(region("11", "2025", None)).await.unwrap();
    }
    let refused = client.get_region_indicators(region("11", "2025", None)).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let delay = refused.get_error_details().retry_info().and_then(|r| r.retry_delay);
    assert!(delay.is_some_and(|d| d > Duration::ZERO && d <= Duration::from_millis(200)), "{delay:?}");
    assert!(refused.message().contains("anonymous"), "{}", refused.message());
    client.get_region_indicators(region("11", "2025", Some(TOKEN))).await.expect("policy is not limited by it");
    client.get_region_indicators(region("11", "2025", Some(PUBLIC_TOKEN))).await.expect("a public token neither");
    tokio::time::sleep(delay.unwrap()).await;
    client.get_region_indicators(region("11", "2025", None)).await.expect("served again after the delay");
    running.trigger.trigger();
}

#[tokio::test]
async fn periods_with_no_data_answer_at_once_without_reading_the_store() {
    let running = serve(16).await;
    running.store.set_read_delay(Duration::from_millis(2_000));
    let mut client = running.client.clone();
    // The story starts in October 2024; 2060 has not started.
    for period in ["2016", "2023-06", "2023-Q4", "2060-06", "2090", "2099-Q4"] {
        let started = Instant::now();
        let response = client.get_region_indicators(region("11", period, None)).await.unwrap().into_inner();
        assert!(started.elapsed() < Duration::from_millis(500), "{period}: {:?}", started.elapsed());
        assert!(response.cells.iter().all(|c| c.openings == 0 && c.enrolled == Some(0)), "{period}: empty");
    }
    assert_eq!(running.store.probe.reads.load(Ordering::Relaxed), 0, "no store read for a period without data");
    running.trigger.trigger();
}

#[tokio::test]
async fn one_audiences_cache_misses_never_hold_up_another_audience_or_cached_reads() {
    let mut limits = Limits::unlimited(64);
    limits.audiences.public.store_computations = 1;
    let running = serve_with(limits, Duration::from_secs(600), ServeOptions::default()).await;
    let mut policy = running.client.clone();
    policy.get_region_indicators(region("11", "2025", Some(TOKEN))).await.unwrap();
    // Every read now takes 300 ms: a year in the foreground (34 reads side
    // by side) about as long, in the background (one at a time, paced)
    // some 20 s.
    running.store.set_read_delay(Duration::from_millis(300));
    let flood: Vec<_> = (0..12)
        .map(|n| {
            let mut client = running.client.clone();
            tokio::spawn(async move {
                // 2024 first: the public lane's one turn is taken by it.
                tokio::time::sleep(Duration::from_millis(if n == 0 { 0 } else { 100 })).await;
                let period = if n % 2 == 0 { "2024-11" } else { "2026" };
                let started = Instant::now();
                let mut request = region("84", period, Some(PUBLIC_TOKEN));
                request.set_timeout(Duration::from_secs(2));
                (client.get_region_indicators(request).await, started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    policy.get_region_indicators(region("93", "2025-Q2", Some(TOKEN))).await.unwrap();
    policy.get_pipeline_status(request(pb::GetPipelineStatusRequest {}, Some(TOKEN))).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300), "cached and status reads: {:?}", started.elapsed());

    let mut refused = 0;
    for task in flood {
        let (outcome, took) = task.await.unwrap();
        if let Err(status) = outcome {
            match status.code() {
                Code::ResourceExhausted => {
                    assert!(status.get_error_details().retry_info().is_some());
                    assert!(took < Duration::from_millis(1_200), "refused after a short wait: {took:?}");
                    refused += 1;
                }
                Code::DeadlineExceeded | Code::Cancelled => {} // waiting on the background computation of 2024
                other => panic!("{other:?}: {status:?}"),
            }
        }
    }
    assert!(refused >= 1, "the public lane computes one year at a time; the other misses are told to retry");
    // 2026 is nobody's computation: the policy caller's lane computes it in
    // the foreground, whatever the public lane is doing.
    let started = Instant::now();
    policy.get_region_indicators(region("11", "2026-03", Some(TOKEN))).await.expect("policy miss");
    let policy_miss = started.elapsed();
    assert!(policy_miss < Duration::from_secs(4), "policy miss held to the public lane: {policy_miss:?}");
    running.trigger.trigger();
}

#[tokio::test]
async fn a_policy_caller_waiting_on_a_background_computation_hurries_it() {
    let running = serve(16).await;
    running.store.set_read_delay(Duration::from_millis(200));
    let mut public = running.client.clone();
    let background = tokio::spawn(async move {
        let started = Instant::now();
        let answer = public.get_region_indicators(region("84", "2024-11", Some(PUBLIC_TOKEN))).await;
        (answer, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reads_before = running.store.probe.reads.load(Ordering::Relaxed);
    assert!(reads_before <= 3, "one read at a time, paced: {reads_before} begun in 500 ms");
    let mut policy = running.client.clone();
    let started = Instant::now();
    policy.get_region_indicators(region("11", "2024-Q4", Some(TOKEN))).await.expect("policy joins it");
    let joined = started.elapsed();
    // Alone it would take some 34 × 400 ms; hurried, the reads left run
    // side by side.
    assert!(joined < Duration::from_secs(3), "the policy caller waited {joined:?}");
    let (answer, took) = background.await.unwrap();
    assert!(answer.is_ok() && took < Duration::from_secs(4), "{took:?}");
    assert_eq!(running.store.probe.reads.load(Ordering::Relaxed), 34, "computed once, for both");
    running.trigger.trigger();
}

#[tokio::test]
async fn watch_streams_are_capped_and_end_at_their_maximum_age() {
    let running = serve_with(limits(), Duration::from_secs(1), ServeOptions::default()).await;
    let mut client = running.client.clone();
    let watch =
        |token: Option<&str>| request(pb::WatchIndicatorsRequest { region: "11".into(), period: "2025".into() }, token);
    let mut first = client.watch_indicators(watch(None)).await.unwrap().into_inner();
    let _second = client.watch_indicators(watch(None)).await.unwrap().into_inner();
    let third = client.watch_indicators(watch(None)).await.unwrap_err();
    assert_eq!(third.code(), Code::ResourceExhausted, "two per anonymous caller: {third:?}");
    let _policy = client.watch_indicators(watch(Some(TOKEN))).await.unwrap().into_inner();
    let over = client.watch_indicators(watch(Some(TOKEN))).await.unwrap_err();
    assert_eq!(over.code(), Code::ResourceExhausted, "three in all: {over:?}");

    assert!(first.next().await.unwrap().is_ok(), "the first update");
    let started = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(5), first.next()).await.expect("the stream ends by its age");
    let status = end.expect("a final status").unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("reconnect"), "{}", status.message());
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.watch_indicators(watch(None)).await.expect("an ended stream gives its slot back");
    running.trigger.trigger();
}

/// GetRegionIndicatorsRequest as raw fields, to send what the real type
/// cannot hold.
#[derive(Clone, PartialEq, prost::Message)]
struct RawRegionRequest {
    #[prost(bytes = "vec", tag = "1")]
    region: Vec<u8>,
    #[prost(uint64, tag = "2")]
    period_as_number: u64,
}

async fn send_raw(endpoint: &str, body: RawRegionRequest) -> tonic::Status {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string()).unwrap().connect().await.unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/skills.v1.TalentGapService/GetRegionIndicators");
    let codec = tonic_prost::ProstCodec::<RawRegionRequest, pb::GetRegionIndicatorsResponse>::default();
    grpc.unary(tonic::Request::new(body), path, codec).await.unwrap_err()
}

#[tokio::test]
async fn undecodable_and_oversized_requests_are_the_callers_error_with_a_short_message() {
    let running = serve(16).await;
    let invalid_utf8 =
        send_raw(&running.endpoint, RawRegionRequest { region: vec![0xff, 0xfe], period_as_number: 0 }).await;
    assert_eq!(invalid_utf8.code(), Code::InvalidArgument, "{invalid_utf8:?}");
    let wrong_wire_type =
        send_raw(&running.endpoint, RawRegionRequest { region: b"11".to_vec(), period_as_number: 2025 }).await;
    assert_eq!(wrong_wire_type.code(), Code::InvalidArgument, "{wrong_wire_type:?}");

    let mut client = running.client.clone();
    let long = "9".repeat(60_000);
    let status = client.get_region_indicators(region(&long, "2025", None)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().len() < 200 && status.message().contains("60000 bytes"), "{}", status.message());
    let status = client.get_region_indicators(region("11", &long, None)).await.unwrap_err();
    assert!(status.message().len() < 200, "a period is quoted short too: {}", status.message());
    let huge = "9".repeat(1_000_000);
    let status = client.get_region_indicators(region(&huge, "2025", None)).await.unwrap_err();
    assert_ne!(status.code(), Code::Ok);
    assert!(status.message().len() < 200, "over the request size limit: {}", status.message());
    let status = client.get_region_indicators(region("11", "2025-+1", None)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "periods are parsed strictly");
    running.trigger.trigger();
}

#[tokio::test]
async fn ambiguous_authorization_is_refused() {
    let running = serve(16).await;
    let mut client = running.client.clone();
    let mut two = region("11", "2025", Some(TOKEN));
    two.metadata_mut().append("authorization", "Bearer other".parse().unwrap());
    let status = client.get_region_indicators(two).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("more than one"), "{}", status.message());
    let mut padded = region("11", "2025", None);
    padded.metadata_mut().insert("authorization", format!("Bearer {TOKEN} ").parse().unwrap());
    assert_eq!(client.get_region_indicators(padded).await.unwrap_err().code(), Code::Unauthenticated);
    running.trigger.trigger();
}

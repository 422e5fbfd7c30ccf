//! Benchmark scenario 5's freshness probe: while the pipeline runs under
//! load, each of several probes sends one new job posting at a time (a raw
//! partner demand event, JSON, through the demand topic) for its own skill
//! and waits until skills-query serves that cell's openings one higher,
//! then the next; prints the send → served percentiles over all probes.
//!
//!   freshness-probe BROKERS DEMAND_TOPIC QUERY_ENDPOINT TOKEN SECONDS
//!
//! Postings are for region 11 at the current time, so the period the
//! probes read is the current year.

use skills_bus::kafka::{KafkaBus, KafkaConfig};
use skills_bus::{Bus, Message, Producer, headers};
use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_client::TalentGapServiceClient;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REGION: &str = "11";
/// One probe per skill: independent cells, so probes never see each
/// other's postings.
const SKILLS: [&str; 5] = ["1.1", "2.1", "3.4", "4.1", "5.2"];

/// A gRPC client of skills-query and the bearer token it sends.
struct Client {
    grpc: TalentGapServiceClient<tonic::transport::Channel>,
    authorization: tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
}

async fn openings(client: &mut Client, period: &str, skill: &str) -> u64 {
    let mut request =
        tonic::Request::new(pb::GetRegionIndicatorsRequest { region: REGION.into(), period: period.into() });
    request.metadata_mut().insert("authorization", client.authorization.clone());
    let response = client.grpc.get_region_indicators(request).await.expect("GetRegionIndicators").into_inner();
    response.cells.iter().find(|cell| cell.skill == skill).map_or(0, |cell| cell.openings)
}

/// Postings for `skill`, one at a time, until `until`; the latencies in ms.
async fn probe(
    producer: Arc<dyn Producer>,
    topic: String,
    mut client: Client,
    skill: &'static str,
    until: Instant,
) -> Vec<f64> {
    let period = chrono::Utc::now().format("%Y").to_string();
    let mut samples = Vec::new();
    while Instant::now() < until {
        let before = openings(&mut client, &period, skill).await;
        let event = serde_json::json!({
            "event_id": uuid::Uuid::new_v4().to_string(),
            "occurred_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "partner_id": "bench-probe", "schema_version": 1,
            "labour_demand": {"source": "board", "place": {"region": REGION}, "skill": skill, "openings": 1, "hard_to_fill": 0},
        });
        let message =
            Message::new(event.to_string().into_bytes()).with_header(headers::CONTENT_TYPE, "application/json");
        let sent_at = Instant::now();
        producer.send(&topic, vec![message]).await.expect("send");
        loop {
            let now = openings(&mut client, &period, skill).await;
            if now > before {
                assert_eq!(now, before + 1, "one posting moved openings of {skill} by {}", now - before);
                break;
            }
            assert!(sent_at.elapsed() < Duration::from_secs(120), "a posting for {skill} never showed in 120 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        samples.push(sent_at.elapsed().as_secs_f64() * 1000.0);
    }
    samples
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, topic, endpoint, token, seconds] = args.as_slice() else {
        eprintln!("usage: freshness-probe BROKERS DEMAND_TOPIC QUERY_ENDPOINT TOKEN SECONDS");
        std::process::exit(2);
    };
    let until = Instant::now() + Duration::from_secs(seconds.parse().expect("SECONDS"));
    let bus = KafkaBus::new(KafkaConfig { brokers: brokers.clone(), ..Default::default() }).expect("bus");
    let mut probes = tokio::task::JoinSet::new();
    for skill in SKILLS {
        let grpc = TalentGapServiceClient::connect(endpoint.clone()).await.expect("connect");
        let authorization = format!("Bearer {token}").parse().expect("an ASCII token");
        let client = Client { grpc, authorization };
        probes.spawn(probe(bus.producer(), topic.clone(), client, skill, until));
    }
    let mut samples_ms: Vec<f64> = Vec::new();
    while let Some(samples) = probes.join_next().await {
        samples_ms.extend(samples.expect("probe"));
    }
    println!("{}", skills_bench::latency_summary(samples_ms));
}

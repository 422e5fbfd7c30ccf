//! The partner gateway as it runs at scale: skills-gateway, skills-ingest
//! and skills-aggregator as processes, on a private Kafka broker (stopped
//! here on purpose) and the ClickHouse server, fed as partners feed it:
//!
//! - a gRPC client streams 6,000 events and sends whatever is not acked
//!   again, with the same ids, while the gateway is killed with SIGKILL
//!   mid-stream and restarted;
//! - with Kafka stopped, a batch is answered UNAVAILABLE with a retry
//!   delay, and goes through once Kafka is back;
//! - grpcurl streams two events (one accepted, one rejected);
//! - curl posts the example xAPI statements; Ralph (France Université
//!   Numérique's LRS client) writes statements, among them one it
//!   converted from an Open edX tracking log, which maps to no event and
//!   is dead-lettered as `unmapped_statement`.
//!
//! `skills reconcile` must then account for every raw message, and the
//! store must hold each event exactly once.

mod common;

use common::processes::{PrivateInfra, ServiceConfig, binary, free_port};
use skills_bus::topics;
use skills_proto::v1 as pb;
use skills_proto::v1::event_gateway_client::EventGatewayClient;
use skills_store::{ClickHouseConfig, ClickHouseStore, MetricsStore};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

const PARTNER: &str = "e2e-partner";
const TOKEN: &str = "e2e-partner-token-0123456789abcdef";
const STREAMED: usize = 6_000;
const DURING_OUTAGE: usize = 300;

fn tool(name: &str, variable: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let cached = PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/skills-monitor");
    let path = match name {
        "ralph" => cached.join("ralph-venv/bin/ralph"),
        _ => cached.join("bin").join(name),
    };
    assert!(path.exists(), "{name} not found: ./deploy/test.sh installs it (or set {variable})");
    path
}

/// A valid event of the shipped examples, with a new id and no partner
/// (the gateway fills it in).
fn event(index: usize) -> pb::EventEnvelope {
    let examples = [
        include_str!("../proto/examples/enrolment.json"),
        include_str!("../proto/examples/assessment.json"),
        include_str!("../proto/examples/labour_demand.json"),
    ];
    let mut envelope = skills_domain::events::decode(examples[index % 3].as_bytes(), None).unwrap();
    envelope.event_id = uuid::Uuid::new_v4().to_string();
    envelope.partner_id = String::new();
    envelope
}

async fn connect(address: &str) -> Option<EventGatewayClient<Channel>> {
    let channel = Channel::from_shared(format!("http://{address}")).unwrap().connect().await.ok()?;
    Some(EventGatewayClient::new(channel))
}

fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    request
}

/// What a retrying client met on its way.
#[derive(Debug, Default)]
struct Journey {
    attempts: u32,
    accepted: usize,
    duplicates: usize,
    failures: BTreeMap<String, u32>,
}

/// Streams `events`, paced, and sends again what was not acked, until
/// every event is: the client side of "never ack without durability".
async fn stream_until_acked(address: &str, events: Vec<pb::EventEnvelope>, per_second: usize) -> Journey {
    let mut unacked: BTreeMap<String, pb::EventEnvelope> =
        events.into_iter().map(|event| (event.event_id.clone(), event)).collect();
    let mut journey = Journey::default();
    let deadline = Instant::now() + Duration::from_secs(180);
    while !unacked.is_empty() {
        assert!(Instant::now() < deadline, "events still unacked after 180 s: {journey:?}");
        journey.attempts += 1;
        let Some(mut client) = connect(address).await else {
            *journey.failures.entry("connect".into()).or_default() += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let batch: Vec<pb::EventEnvelope> = unacked.values().cloned().collect();
        let (sender, receiver) = tokio::sync::mpsc::channel(256);
        let paced = batch.clone();
        tokio::spawn(async move {
            for chunk in paced.chunks(per_second / 20) {
                for event in chunk {
                    if sender.send(pb::PublishRequest { event: Some(event.clone()) }).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let requests = tokio_stream::wrappers::ReceiverStream::new(receiver);
        let mut acks = match client.publish(authorized(requests)).await {
            Ok(response) => response.into_inner(),
            Err(status) => {
                *journey.failures.entry(format!("{:?}", status.code())).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        loop {
            match acks.message().await {
                Ok(Some(response)) => {
                    let ack = response.ack.unwrap();
                    match pb::AckStatus::try_from(ack.status).unwrap() {
                        pb::AckStatus::Accepted => journey.accepted += 1,
                        pb::AckStatus::Duplicate => journey.duplicates += 1,
                        other => panic!("a valid event was not accepted: {other:?} {ack:?}"),
                    }
                    assert_eq!(ack.event_id, batch[ack.index as usize].event_id);
                    unacked.remove(&ack.event_id);
                }
                Ok(None) => break,
                Err(status) => {
                    *journey.failures.entry(format!("{:?}", status.code())).or_default() += 1;
                    let delay = status.get_error_details().retry_info().and_then(|info| info.retry_delay);
                    tokio::time::sleep(delay.unwrap_or(Duration::from_millis(200))).await;
                    break;
                }
            }
        }
    }
    journey
}

struct Processes {
    dir: PathBuf,
    config: PathBuf,
    gateway: Child,
    ingest: Child,
    aggregator: Child,
    gateway_starts: u32,
}

impl Processes {
    fn spawn(&self, name: &str, log: &str) -> Child {
        let log = std::fs::File::create(self.dir.join(log)).unwrap();
        Command::new(binary(name))
            .arg("--config")
            .arg(&self.config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"))
    }

    fn restart_gateway(&mut self) {
        self.gateway_starts += 1;
        self.gateway = self.spawn("skills-gateway", &format!("gateway-{}.log", self.gateway_starts));
    }

    fn skills(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary("skills"));
        command.arg("--config").arg(&self.config).args(args);
        command
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in [&mut self.gateway, &mut self.ingest, &mut self.aggregator] {
            let _ = child.kill();
            let _ = child.wait();
        }
        eprintln!("logs: {}", self.dir.display());
    }
}

/// The configuration of the run: ServiceConfig's, plus the gateway.
fn write_config(dir: &Path, prefix: &str, brokers: &str, gateway_port: u16) -> PathBuf {
    let clickhouse_url = std::env::var("SKILLS_CLICKHOUSE_URL").expect("SKILLS_CLICKHOUSE_URL: ./deploy/infra.sh up");
    let path = ServiceConfig {
        dir,
        prefix,
        brokers,
        clickhouse_url: &clickhouse_url,
        query_port: free_port(),
        ingest_metrics: free_port(),
        aggregator_metrics: free_port(),
        query_metrics: free_port(),
        policy_token: "e2e-policy-token-0123456789",
    }
    .write();
    std::fs::write(dir.join("partners"), format!("partner:{PARTNER} {TOKEN}\n")).unwrap();
    let mut text = std::fs::read_to_string(&path).unwrap();
    text = text.replace("model_listen = \"\"", "model_listen = \"\"\ngateway_listen = \"\"");
    text.push_str(&format!(
        r#"
[gateway]
listen = "127.0.0.1:{gateway_port}"
credentials_file = "{dir}/partners"
write_timeout_ms = 2000
enrolments_topic = "{prefix}{enrolments}"
assessments_topic = "{prefix}{assessments}"
demand_topic = "{prefix}{demand}"
"#,
        dir = dir.display(),
        enrolments = topics::ENROLMENTS,
        assessments = topics::ASSESSMENTS,
        demand = topics::DEMAND,
    ));
    std::fs::write(&path, text).unwrap();
    path
}

async fn wait_until_counted(store: &ClickHouseStore, events: u64, letters: u64) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let status = store.status().await.unwrap();
        if status.events >= events && status.dead_letters >= letters {
            assert_eq!((status.events, status.dead_letters), (events, letters), "counted once, no more");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "counted {} of {events}, {} of {letters} dead letters",
            status.events,
            status.dead_letters
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka, ClickHouse, grpcurl, curl and Ralph: ./deploy/test.sh"]
async fn partners_publish_through_the_gateway_and_every_event_counts_once() {
    let dir = std::env::temp_dir().join(format!("skills-gateway-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let kafka = PrivateInfra::new(dir.join("kafka-run"));
    kafka.infra("up", "kafka");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let prefix = format!("gw{}x{}.", std::process::id(), nanos % 1_000_000_007);
    let gateway_port = free_port();
    let address = format!("127.0.0.1:{gateway_port}");
    let config = write_config(&dir, &prefix, &kafka.brokers(), gateway_port);
    let mut processes = Processes {
        dir: dir.clone(),
        config,
        gateway: Command::new("true").spawn().unwrap(),
        ingest: Command::new("true").spawn().unwrap(),
        aggregator: Command::new("true").spawn().unwrap(),
        gateway_starts: 0,
    };
    processes.restart_gateway();
    processes.ingest = processes.spawn("skills-ingest", "ingest.log");
    processes.aggregator = processes.spawn("skills-aggregator", "aggregator.log");

    // 1. A stream of 6,000 events at 3,000/s; the gateway is SIGKILLed
    //    mid-stream and restarted; the client sends the unacked again.
    let streamed: Vec<pb::EventEnvelope> = (0..STREAMED).map(event).collect();
    let client = tokio::spawn({
        let address = address.clone();
        let events = streamed.clone();
        async move { stream_until_acked(&address, events, 3_000).await }
    });
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    processes.gateway.kill().unwrap(); // SIGKILL
    processes.gateway.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    processes.restart_gateway();
    let journey = client.await.unwrap();
    eprintln!("stream across a SIGKILL: {journey:?}");
    assert!(journey.attempts >= 2, "the kill cut the stream: {journey:?}");
    assert_eq!(journey.accepted + journey.duplicates, STREAMED, "one final ack per event: {journey:?}");

    // 2. Kafka stopped: a batch is UNAVAILABLE with a retry delay, and
    //    goes through once Kafka is back.
    kafka.infra("down", "kafka");
    let during: Vec<pb::EventEnvelope> = (0..DURING_OUTAGE).map(event).collect();
    let mut client = connect(&address).await.expect("the gateway answers while Kafka is down");
    let refused = client
        .publish_batch(authorized(pb::PublishBatchRequest { events: during.clone() }))
        .await
        .expect_err("no ack without Kafka");
    assert_eq!(refused.code(), Code::Unavailable, "{}", refused.message());
    assert!(refused.get_error_details().retry_info().and_then(|info| info.retry_delay).is_some());
    kafka.infra("up", "kafka");
    let journey = stream_until_acked(&address, during, 3_000).await;
    eprintln!("after Kafka came back: {journey:?}");

    // 3. grpcurl's stream: one accepted, one rejected with its field.
    let good = skills_proto::json::to_json(&pb::PublishRequest { event: Some(event(2)) });
    let mut bad = event(2);
    bad.event_id = "not-a-uuid".into();
    let bad = skills_proto::json::to_json(&pb::PublishRequest { event: Some(bad) });
    let mut grpcurl = Command::new(tool("grpcurl", "SKILLS_GRPCURL"))
        .args(["-plaintext", "-H", &format!("authorization: Bearer {TOKEN}"), "-d", "@", &address])
        .arg("skills.v1.EventGateway/Publish")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    grpcurl.stdin.take().unwrap().write_all(format!("{good}\n{bad}\n").as_bytes()).unwrap();
    let output = grpcurl.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "grpcurl: {printed}{}", String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains("ACK_STATUS_ACCEPTED") && printed.contains("ACK_STATUS_REJECTED"), "{printed}");
    assert!(printed.contains("\"field\": \"event_id\""), "{printed}");

    // 4. xAPI: curl posts the example statements (two events).
    let url = format!("http://{address}/xAPI/statements");
    let statements = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto/examples/xapi-statements.json");
    let curl = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "-u", &format!("{PARTNER}:{TOKEN}")])
        .args(["-H", "X-Experience-API-Version: 1.0.3", "-H", "Content-Type: application/json"])
        .arg("--data")
        .arg(format!("@{}", statements.display()))
        .arg(&url)
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&curl.stdout);
    assert!(answer.trim_end().ends_with("200"), "curl: {answer}");
    assert!(answer.contains("8f6f2a0e-4c1b-4f7e-9a3d-2b5c6d7e8f90"), "{answer}");

    // 5. Ralph writes, with its LRS backend: the same two statements again
    //    (duplicates), one new statement, and one it converted from an
    //    Open edX tracking log (no place: dead-lettered downstream).
    let ralph = tool("ralph", "SKILLS_RALPH");
    let edx_log = r#"{"username": "jdoe", "event_type": "edx.course.enrollment.activated", "ip": "127.0.0.1", "agent": "Mozilla", "host": "lms.example.org", "referer": "", "accept_language": "fr", "event": {"course_id": "course-v1:FUN+DIGCOMP34+2025", "user_id": 42, "mode": "audit"}, "event_source": "server", "context": {"course_user_tags": {}, "user_id": 42, "org_id": "FUN", "course_id": "course-v1:FUN+DIGCOMP34+2025", "path": "/api/enrollment/v1/enrollment"}, "time": "2025-03-03T09:00:00.000000+00:00", "page": null, "name": "edx.course.enrollment.activated"}"#;
    let mut convert = Command::new(&ralph)
        .args(["convert", "-u", "ee241f8b-174f-5bdb-bae9-c09de5fe017f", "-f", "edx", "-t", "xapi"])
        .args(["-p", "https://lms.example.org"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    convert.stdin.take().unwrap().write_all(format!("{edx_log}\n").as_bytes()).unwrap();
    let converted = convert.wait_with_output().unwrap();
    assert!(converted.status.success(), "ralph convert: {}", String::from_utf8_lossy(&converted.stderr));
    let converted = String::from_utf8(converted.stdout).unwrap();
    let converted: serde_json::Value = serde_json::from_str(converted.trim()).unwrap();
    assert_eq!(converted["verb"]["id"], "http://adlnet.gov/expapi/verbs/registered");
    let mut lines: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&statements).unwrap()).unwrap();
    let mut fresh = lines[1].clone();
    fresh["id"] = serde_json::json!(uuid::Uuid::new_v4().to_string());
    lines.extend([fresh, converted]);
    let input: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let mut write = Command::new(&ralph)
        .args(["write", "-b", "lrs", "--lrs-base-url", &format!("http://{address}")])
        .args(["--lrs-username", PARTNER, "--lrs-password", TOKEN])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    write.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let written = write.wait_with_output().unwrap();
    assert!(written.status.success(), "ralph write: {}", String::from_utf8_lossy(&written.stderr));

    // Every event counted once; the converted statement dead-lettered;
    // every raw message accounted for by the operator's tool.
    let expected_events = (STREAMED + DURING_OUTAGE + 1 + 2 + 1) as u64;
    let store = ClickHouseStore::connect(&ClickHouseConfig {
        url: std::env::var("SKILLS_CLICKHOUSE_URL").unwrap(),
        database: prefix.trim_end_matches('.').to_string(),
        ..Default::default()
    })
    .await
    .unwrap();
    wait_until_counted(&store, expected_events, 1).await;
    let reasons = store.dead_letter_reasons().await.unwrap();
    assert_eq!(reasons, [("unmapped_statement".to_string(), 1)]);
    // The private broker, not the shared one SKILLS_KAFKA_BROKERS names.
    let output = processes.skills(&["reconcile", "--json", "--brokers", &kafka.brokers()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "reconcile: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["missing"], 0, "{report}");
    assert_eq!(report["counted"], expected_events, "{report}");
    assert_eq!(report["dead_lettered"], 1, "{report}");
    eprintln!("reconcile: {report}");

    // The partner's own status says the same as the reconciliation: every
    // raw record it sent is counted, a duplicate, or a dead letter.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let status = store.partner_status(PARTNER).await.unwrap();
        if status.duplicates >= report["duplicates"].as_u64().unwrap() || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(status.counted, expected_events, "{status:?}");
    assert_eq!(status.duplicates, report["duplicates"].as_u64().unwrap(), "{status:?} against {report}");
    let [letters] = status.dead_letters.as_slice() else { panic!("{status:?}") };
    assert_eq!((letters.reason.as_str(), letters.count), ("unmapped_statement", 1));
    let example = &letters.examples[0];
    assert!(!example.message.is_empty() && example.source_topic.starts_with(&prefix), "{letters:?}");
    assert_eq!(
        status.counted + status.duplicates + letters.count,
        report["raw"].as_u64().unwrap(),
        "the partner's figures add up to its raw records"
    );
    eprintln!("partner status: {status:?}");
}

//! Benchmark scenario 8's load: the synthetic data set's valid events sent
//! to skills-gateway as a partner would, and timed from the first event
//! sent to the last ack; prints one JSON object with the rate and the p99
//! ack latency.
//!
//!   gateway-load grpc ADDRESS TOKEN LEARNERS
//!   gateway-load xapi ADDRESS PARTNER:TOKEN LEARNERS BATCH
//!
//! grpc: one Publish stream, events sent as fast as HTTP/2 flow control
//! lets them go; an event's latency is from its send to its ack.
//! xapi: the same events as xAPI statements (enrolments as registered /
//! initialized / completed / passed, assessments as scored, demand left
//! out: xAPI has no job postings), POSTed BATCH at a time over two
//! keep-alive connections; a statement's latency is its request's.

use serde_json::{Value, json};
use skills_proto::v1 as pb;
use skills_proto::v1::event_envelope::Payload;
use skills_proto::v1::event_gateway_client::EventGatewayClient;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

const SEED: u64 = 2016;

/// The synthetic set's valid events, with no partner: the gateway fills
/// in the credential's. (The planted mistakes would be refused: an xAPI
/// request holding one is refused whole.)
fn events(learners: usize) -> Vec<pb::EventEnvelope> {
    let policy = skills_domain::events::IngestPolicy::default();
    let now = chrono::Utc::now();
    skills_synthetic::synthetic(learners, SEED)
        .messages
        .into_iter()
        .filter_map(|(_, message)| skills_domain::events::decode(&message.payload, None).ok())
        .filter(|envelope| skills_domain::events::validate(envelope.clone(), &policy, now).is_ok())
        .map(|mut envelope| {
            envelope.partner_id.clear();
            envelope
        })
        .collect()
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples.get(((samples.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0)
}

async fn grpc(address: &str, token: &str, events: Vec<pb::EventEnvelope>) -> Value {
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .expect("address")
        .connect()
        .await
        .expect("the gateway answers");
    let mut client = EventGatewayClient::new(channel).max_decoding_message_size(64 << 20);
    let total = events.len();
    let sent_at = std::sync::Arc::new(std::sync::Mutex::new(vec![None::<Instant>; total]));
    let (sender, receiver) = tokio::sync::mpsc::channel(4_096);
    let stamps = sent_at.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        for (index, event) in events.into_iter().enumerate() {
            stamps.lock().unwrap()[index] = Some(Instant::now());
            if sender.send(pb::PublishRequest { event: Some(event) }).await.is_err() {
                return;
            }
        }
    });
    let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(receiver));
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let mut acks = client.publish(request).await.expect("Publish").into_inner();
    let mut latencies = Vec::with_capacity(total);
    let mut accepted = 0usize;
    while let Some(response) = acks.message().await.expect("the stream ends cleanly") {
        let ack = response.ack.expect("an ack");
        let now = Instant::now();
        if ack.status == pb::AckStatus::Accepted as i32 || ack.status == pb::AckStatus::Duplicate as i32 {
            accepted += 1;
        }
        if let Some(sent) = sent_at.lock().unwrap()[ack.index as usize] {
            latencies.push((now - sent).as_secs_f64() * 1e3);
        }
        if latencies.len() == total {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    json!({"events": total, "accepted": accepted, "seconds": seconds, "per_second": total as f64 / seconds,
           "p99_ms": percentile(&mut latencies, 0.99)})
}

/// The statement an enrolment or assessment event would have come from.
fn statement(event: &pb::EventEnvelope) -> Option<Value> {
    let place = |place: &Option<pb::Place>| match place.as_ref().and_then(|p| p.code.clone()) {
        Some(pb::place::Code::Region(code)) => json!({"region": code}),
        Some(pb::place::Code::Department(code)) => json!({"department": code}),
        Some(pb::place::Code::Commune(code)) => json!({"commune": code}),
        None => json!({}),
    };
    let time = event.occurred_at.as_ref().and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))?;
    let (learner, verb, object, mut extensions, result) = match event.payload.as_ref()? {
        Payload::Enrolment(e) => {
            let verb = match pb::EnrolmentStatus::try_from(e.status).ok()? {
                pb::EnrolmentStatus::Enrolled => "registered",
                pb::EnrolmentStatus::Started => "initialized",
                pb::EnrolmentStatus::Completed => "completed",
                pb::EnrolmentStatus::Certified => "passed",
                _ => return None,
            };
            let result = json!({"extensions": {"urn:skills-monitor:xapi:level": e.certified_level.unwrap_or(0)}});
            let extensions = json!({"urn:skills-monitor:xapi:competence": e.skills, "urn:skills-monitor:xapi:place": place(&e.place)});
            (e.learner_id.clone(), verb, e.course_id.clone(), extensions, result)
        }
        Payload::Assessment(a) => {
            let phase = pb::AssessmentPhase::try_from(a.phase)
                .ok()?
                .as_str_name()
                .trim_start_matches("ASSESSMENT_PHASE_")
                .to_lowercase();
            let extensions = json!({"urn:skills-monitor:xapi:competence": a.skill, "urn:skills-monitor:xapi:place": place(&a.place),
                                    "urn:skills-monitor:xapi:phase": phase});
            let result =
                json!({"score": {"scaled": a.score / 100.0}, "extensions": {"urn:skills-monitor:xapi:level": a.level}});
            (
                a.learner_id.clone(),
                "scored",
                format!("https://lms.example.org/assessments/{}", a.skill),
                extensions,
                result,
            )
        }
        Payload::LabourDemand(_) => return None,
    };
    if verb != "passed" && verb != "scored" {
        extensions.as_object_mut()?.remove("urn:skills-monitor:xapi:level");
    }
    // Ids of their own: the same gateway took these events over gRPC.
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, event.event_id.as_bytes());
    Some(json!({
        "id": id.to_string(),
        "actor": {"account": {"homePage": "https://lms.example.org", "name": learner}},
        "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}")},
        "object": {"id": format!("https://lms.example.org/courses/{object}")},
        "result": result,
        "context": {"extensions": extensions},
        "timestamp": time.to_rfc3339(),
    }))
}

/// One keep-alive HTTP/1.1 connection: POST a body, read the answer.
struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    fn open(address: &str) -> Connection {
        let stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).unwrap();
        Connection { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream }
    }

    fn post(&mut self, authorization: &str, body: &[u8]) -> u16 {
        let head = format!(
            "POST /xAPI/statements HTTP/1.1\r\nhost: bench\r\nauthorization: {authorization}\r\n\
             x-experience-api-version: 1.0.3\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        self.writer.write_all(head.as_bytes()).unwrap();
        self.writer.write_all(body).unwrap();
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status: u16 = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        if chunked {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                if size == 0 {
                    break;
                }
            }
        } else {
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body).unwrap();
        }
        status
    }
}

fn xapi(address: &str, credential: &str, events: &[pb::EventEnvelope], batch: usize) -> Value {
    use base64::Engine;
    let statements: Vec<Value> = events.iter().filter_map(statement).collect();
    let authorization = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credential));
    let bodies: Vec<Vec<u8>> = statements.chunks(batch).map(|chunk| serde_json::to_vec(chunk).unwrap()).collect();
    let sizes: Vec<usize> = statements.chunks(batch).map(<[Value]>::len).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<(Vec<f64>, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut connection = Connection::open(address);
                    let (mut latencies, mut failed) = (Vec::new(), 0);
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(body) = bodies.get(index) else { return (latencies, failed) };
                        let sent = Instant::now();
                        let status = connection.post(&authorization, body);
                        let ms = sent.elapsed().as_secs_f64() * 1e3;
                        if status != 200 {
                            failed += 1;
                        }
                        latencies.extend(std::iter::repeat_n(ms, sizes[index]));
                    }
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap()).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let failed: usize = results.iter().map(|(_, failed)| failed).sum();
    assert_eq!(failed, 0, "xAPI requests answered other than 200");
    let mut latencies: Vec<f64> = results.into_iter().flat_map(|(latencies, _)| latencies).collect();
    json!({"events": statements.len(), "seconds": seconds, "per_second": statements.len() as f64 / seconds,
           "p99_ms": percentile(&mut latencies, 0.99), "batch": batch})
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: gateway-load grpc ADDRESS TOKEN LEARNERS | gateway-load xapi ADDRESS PARTNER:TOKEN LEARNERS BATCH";
    let (mode, address, credential) = match args.as_slice() {
        [_, mode, address, credential, ..] => (mode.as_str(), address.as_str(), credential.as_str()),
        _ => panic!("{usage}"),
    };
    let learners: usize = args.get(4).and_then(|n| n.parse().ok()).expect(usage);
    let events = events(learners);
    let report = match mode {
        "grpc" => grpc(address, credential, events).await,
        "xapi" => {
            let batch: usize = args.get(5).and_then(|n| n.parse().ok()).expect(usage);
            let address = address.to_string();
            let credential = credential.to_string();
            tokio::task::spawn_blocking(move || xapi(&address, &credential, &events, batch)).await.unwrap()
        }
        _ => panic!("{usage}"),
    };
    println!("{report}");
}

//! skills-ingest against the real Kafka broker that `deploy/infra.sh up`
//! starts (SKILLS_KAFKA_BROKERS). Each test uses its own topics and groups.
//! Run with `./deploy/test.sh`, or `cargo test -- --ignored` with the
//! broker up.

use serde_json::json;
use skills_bus::kafka::{KafkaBus, KafkaConfig};
use skills_bus::{Bus, Message, Record, headers};
use skills_domain::pseudonym::{Pseudonymiser, SecretKey};
use skills_ingest::{IngestConfig, IngestStats};
use skills_proto::Message as _;
use skills_proto::v1 as pb;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NEEDS_KAFKA: &str = "SKILLS_KAFKA_BROKERS is not set: start a broker with ./deploy/infra.sh up";
const KEY_HEX: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn kafka() -> KafkaConfig {
    KafkaConfig {
        brokers: std::env::var("SKILLS_KAFKA_BROKERS").expect(NEEDS_KAFKA),
        partitions: 3,
        ..Default::default()
    }
}

fn unique(name: &str) -> String {
    format!("t{}-{name}-{}", std::process::id(), uuid_like())
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}", nanos & 0xffff_ffff_ffff)
}

struct Topics {
    enrolments: String,
    assessments: String,
    demand: String,
    normalized: String,
    dead_letters: String,
}

fn topics(name: &str) -> Topics {
    let prefix = unique(name);
    Topics {
        enrolments: format!("{prefix}.enrolments"),
        assessments: format!("{prefix}.assessments"),
        demand: format!("{prefix}.demand"),
        normalized: format!("{prefix}.events"),
        dead_letters: format!("{prefix}.dlq"),
    }
}

fn ingest_config(topics: &Topics) -> IngestConfig {
    IngestConfig {
        group_id: unique("ingest"),
        raw_topics: vec![topics.enrolments.clone(), topics.assessments.clone(), topics.demand.clone()],
        normalized_topic: topics.normalized.clone(),
        dead_letter_topic: topics.dead_letters.clone(),
        max_message_bytes: 4096,
        batch_max_wait_ms: 50,
        ..IngestConfig::default()
    }
}

fn id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn enrolment(n: u64, learner: &str) -> serde_json::Value {
    json!({"event_id": id(n), "occurred_at": "2025-03-03T09:00:00Z", "partner_id": "partner-a", "schema_version": 1,
        "enrolment": {"learner_id": learner, "course_id": "c1", "skills": ["3.4"], "place": {"department": "69"},
            "status": "ENROLLED", "profile": {"gender": "FEMALE"}}})
}

fn assessment(n: u64, learner: &str) -> serde_json::Value {
    json!({"event_id": id(n), "occurred_at": "2025-03-04T09:00:00Z", "partner_id": "partner-b", "schema_version": 1,
        "assessment": {"learner_id": learner, "skill": "1.1", "framework": "DIGCOMP_2_2", "level": 4, "score": 55.0,
            "phase": "INITIAL", "place": {"commune": "35238"}}})
}

fn demand(n: u64) -> serde_json::Value {
    json!({"event_id": id(n), "occurred_at": "2025-04-01T00:00:00Z", "partner_id": "board", "schema_version": 1,
        "labour_demand": {"source": "board", "place": {"region": "11"}, "rome_code": "M1805", "openings": 12, "hard_to_fill": 3}})
}

fn json_message(value: &serde_json::Value) -> Message {
    Message::new(value.to_string().into_bytes()).with_header(headers::CONTENT_TYPE, "application/json")
}

fn protobuf_message(value: &serde_json::Value) -> Message {
    let envelope =
        skills_domain::events::decode(value.to_string().as_bytes(), Some(skills_domain::events::ContentType::Json))
            .unwrap();
    Message::new(envelope.encode_to_vec()).with_header(headers::CONTENT_TYPE, "application/x-protobuf")
}

fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::single(SecretKey::from_hex(KEY_HEX).unwrap(), 1)
}

struct RunningIngest {
    trigger: skills_runtime::ShutdownTrigger,
    task: tokio::task::JoinHandle<Result<(), skills_ingest::IngestError>>,
    stats: Arc<IngestStats>,
}

async fn start_ingest(config: IngestConfig) -> RunningIngest {
    let bus: Arc<dyn Bus> = Arc::new(KafkaBus::new(kafka()).unwrap());
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    let stats = Arc::new(IngestStats::default());
    let task = tokio::spawn(skills_ingest::run(config, bus, pseudonymiser(), stats.clone(), shutdown));
    RunningIngest { trigger, task, stats }
}

impl RunningIngest {
    async fn stop(self) -> Arc<IngestStats> {
        self.trigger.trigger();
        self.task.await.unwrap().unwrap();
        self.stats
    }
}

async fn produce(topic: &str, messages: Vec<Message>) {
    let bus = KafkaBus::new(kafka()).unwrap();
    bus.ensure_topics(&[topic.to_string()]).await.unwrap();
    bus.producer().send(topic, messages).await.unwrap();
}

/// Reads topics from the beginning, keeping everything it saw.
struct Reader {
    consumer: Box<dyn skills_bus::Consumer>,
    records: Vec<Record>,
}

impl Reader {
    async fn new(topics: &[&str]) -> Reader {
        let bus = KafkaBus::new(kafka()).unwrap();
        let names: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        bus.ensure_topics(&names).await.unwrap();
        Reader { consumer: bus.consumer(&unique("reader"), &names).unwrap(), records: Vec::new() }
    }

    async fn read_for(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            // A transient consumer error (a group join, a broker busy) is
            // retried, as the services do.
            match self.consumer.poll(10_000, Duration::from_millis(100)).await {
                Ok(batch) => self.records.extend(batch),
                Err(error) => eprintln!("reader poll failed, retrying: {error}"),
            }
        }
    }

    /// Until `done(records)` holds, then 1.5 s more to catch extras.
    async fn read_until(&mut self, timeout: Duration, done: impl Fn(&[Record]) -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && !done(&self.records) {
            self.read_for(Duration::from_millis(100)).await;
        }
        self.read_for(Duration::from_millis(1500)).await;
    }
}

/// Everything on `topics` once `expected` records arrived (or the timeout).
async fn collect(topics: &[&str], expected: usize, timeout: Duration) -> Vec<Record> {
    let mut reader = Reader::new(topics).await;
    reader.read_until(timeout, |records| records.len() >= expected).await;
    reader.records
}

fn normalized(record: &Record) -> pb::NormalizedEvent {
    pb::NormalizedEvent::decode(record.message.payload.as_slice()).expect("normalized events decode")
}

fn header(record: &Record, name: &str) -> String {
    String::from_utf8(record.message.header(name).unwrap_or_default().to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka: ./deploy/test.sh"]
async fn valid_events_of_every_kind_come_out_normalized_without_raw_learner_ids() {
    let topics = topics("valid");
    let ingest = start_ingest(ingest_config(&topics)).await;
    produce(
        &topics.enrolments,
        vec![json_message(&enrolment(1, "raw-learner-alice")), protobuf_message(&enrolment(2, "raw-learner-bob"))],
    )
    .await;
    produce(&topics.assessments, vec![protobuf_message(&assessment(3, "raw-learner-alice"))]).await;
    produce(&topics.demand, vec![json_message(&demand(4))]).await;

    let out = collect(&[&topics.normalized], 4, Duration::from_secs(60)).await;
    assert_eq!(out.len(), 4, "four events in, four normalized out");
    let mut by_id: BTreeMap<String, pb::NormalizedEvent> =
        out.iter().map(|r| (normalized(r).event_id.clone(), normalized(r))).collect();
    for record in &out {
        let haystack = String::from_utf8_lossy(&record.message.payload).into_owned()
            + &record
                .message
                .headers
                .iter()
                .map(|h| String::from_utf8_lossy(&h.value).into_owned())
                .collect::<String>();
        assert!(!haystack.contains("raw-learner"), "a raw learner id leaked: {haystack:?}");
        assert_eq!(record.message.key.as_deref(), Some(normalized(record).region.as_bytes()), "keyed by region");
    }
    assert_eq!(by_id[&id(1)].region, "84", "department 69 resolves to Auvergne-Rhône-Alpes");
    assert_eq!(by_id[&id(3)].region, "53", "commune 35238 (Rennes) resolves to Bretagne");
    let Some(pb::normalized_event::Payload::Demand(d)) = by_id.remove(&id(4)).unwrap().payload else { panic!() };
    assert_eq!(d.skills, ["3.4", "5.1", "1.3"]);
    let Some(pb::normalized_event::Payload::Enrolment(alice)) = by_id[&id(1)].payload.clone() else { panic!() };
    let Some(pb::normalized_event::Payload::Assessment(alice_again)) = by_id[&id(3)].payload.clone() else { panic!() };
    assert!(alice.learner.starts_with("k1:"));
    assert_ne!(alice.learner, alice_again.learner, "learner ids are partner-scoped");

    let stats = ingest.stop().await;
    assert_eq!(IngestStats::get(&stats.produced), 4);
    assert!(stats.render().contains("skills_ingest_produced_total 4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka: ./deploy/test.sh"]
async fn each_class_of_bad_input_is_dead_lettered_with_its_reason_and_the_partition_keeps_flowing() {
    let topics = topics("bad");
    let ingest = start_ingest(ingest_config(&topics)).await;
    let mut no_payload = enrolment(10, "x");
    no_payload.as_object_mut().unwrap().remove("enrolment");
    let mut missing = enrolment(11, "x");
    missing["enrolment"].as_object_mut().unwrap().remove("course_id");
    let mut region = enrolment(12, "x");
    region["enrolment"]["place"] = json!({"region": "99"});
    let mut skill = enrolment(13, "x");
    skill["enrolment"]["skills"] = json!(["9.9"]);
    let mut level = assessment(14, "x");
    level["assessment"]["level"] = json!(12);
    let mut future = enrolment(15, "x");
    future["occurred_at"] = json!("2099-01-01T00:00:00Z");
    let mut oversized = enrolment(16, "x");
    oversized["enrolment"]["programme"] = json!("p".repeat(5000));
    let bad = [
        (Message::new(vec![0xff, 0x00, 0x13, 0x37]), "undecodable"),
        (json_message(&no_payload), "unknown_kind"),
        (json_message(&missing), "missing_field"),
        (protobuf_message(&region), "unknown_region"),
        (json_message(&skill), "unknown_skill"),
        (json_message(&level), "level_out_of_range"),
        (json_message(&future), "timestamp_in_future"),
        (json_message(&oversized), "oversized"),
    ];
    // All on one topic (one key-less stream), each followed by a valid event.
    let mut messages = Vec::new();
    for (n, (message, _)) in bad.iter().enumerate() {
        messages.push(message.clone());
        messages.push(json_message(&enrolment(100 + n as u64, "ok")));
    }
    produce(&topics.enrolments, messages.clone()).await;

    let letters = collect(&[&topics.dead_letters], bad.len(), Duration::from_secs(60)).await;
    let flowed = collect(&[&topics.normalized], bad.len(), Duration::from_secs(30)).await;
    assert_eq!(flowed.len(), bad.len(), "every valid event after a bad one still flows");
    assert_eq!(letters.len(), bad.len());
    let reasons: BTreeSet<String> = letters.iter().map(|r| header(r, headers::DLQ_REASON)).collect();
    let expected: BTreeSet<String> = bad.iter().map(|(_, reason)| reason.to_string()).collect();
    assert_eq!(reasons, expected);
    for letter in &letters {
        assert_eq!(header(letter, headers::DLQ_SOURCE_TOPIC), topics.enrolments);
        assert!(!header(letter, headers::DLQ_MESSAGE).is_empty(), "a human message too");
        let (original, _) = bad.iter().find(|(_, reason)| *reason == header(letter, headers::DLQ_REASON)).unwrap();
        assert_eq!(letter.message.payload, original.payload, "the original bytes are kept");
        header(letter, headers::DLQ_SOURCE_OFFSET).parse::<i64>().expect("the source offset");
        header(letter, headers::DLQ_SOURCE_PARTITION).parse::<i32>().expect("the source partition");
    }
    let region_letter = letters.iter().find(|r| header(r, headers::DLQ_REASON) == "unknown_region").unwrap();
    assert!(header(region_letter, headers::DLQ_MESSAGE).contains("\"99\""));
    let stats = ingest.stop().await;
    assert_eq!(stats.dead_lettered_total(), bad.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka: ./deploy/test.sh"]
async fn duplicates_yield_one_normalized_event_and_a_notice_each() {
    let topics = topics("dupes");
    let ingest = start_ingest(ingest_config(&topics)).await;
    let event = enrolment(20, "learner");
    produce(&topics.enrolments, vec![json_message(&event), protobuf_message(&event)]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    produce(&topics.enrolments, vec![json_message(&event), json_message(&enrolment(21, "other"))]).await;
    let out = collect(&[&topics.normalized], 4, Duration::from_secs(60)).await;
    let (notices, events): (Vec<&Record>, Vec<&Record>) = out.iter().partition(|r| r.message.payload.is_empty());
    let ids: Vec<String> = events.iter().map(|r| normalized(r).event_id).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 2);
    let first = events.iter().find(|r| normalized(r).event_id == id(20)).expect("the first copy");
    let first_at = format!(
        "{}:{}:{}",
        topics.enrolments,
        header(first, headers::SOURCE_PARTITION),
        header(first, headers::SOURCE_OFFSET)
    );
    assert_eq!(notices.len(), 2, "one notice per repeat");
    for notice in notices {
        assert_eq!(header(notice, headers::DUPLICATE_OF), first_at, "names the first copy's raw record");
        assert_eq!(header(notice, headers::EVENT_ID), id(20));
        assert_eq!(header(notice, headers::PARTNER_ID), "partner-a");
        let at = |r: &Record| (header(r, headers::SOURCE_PARTITION), header(r, headers::SOURCE_OFFSET));
        assert_ne!(at(notice), at(first), "filed under the repeat's own raw record");
    }
    let stats = ingest.stop().await;
    assert_eq!(IngestStats::get(&stats.duplicates), 2);
    assert!(stats.render().contains("skills_ingest_partner_duplicates_total{partner=\"partner-a\"} 2"));
}

/// Events with 2% mistakes, spread over the three raw topics.
fn mixed_events(count: u64) -> (Vec<(u8, Message)>, BTreeSet<String>, usize) {
    let mut messages = Vec::new();
    let mut valid_ids = BTreeSet::new();
    let mut invalid = 0;
    for n in 0..count {
        let (topic, mut event) = match n % 3 {
            0 => (0, enrolment(1_000_000 + n, &format!("learner-{}", n % 5000))),
            1 => (1, assessment(1_000_000 + n, &format!("learner-{}", n % 5000))),
            _ => (2, demand(1_000_000 + n)),
        };
        if n % 50 == 7 {
            event["schema_version"] = json!(9);
            invalid += 1;
        } else {
            valid_ids.insert(id(1_000_000 + n));
        }
        let message = if n % 2 == 0 { json_message(&event) } else { protobuf_message(&event) };
        messages.push((topic, message));
    }
    (messages, valid_ids, invalid)
}

async fn produce_mixed(topics: &Topics, messages: Vec<(u8, Message)>) {
    if messages.is_empty() {
        return;
    }
    let mut by_topic: [Vec<Message>; 3] = Default::default();
    for (topic, message) in messages {
        by_topic[topic as usize].push(message);
    }
    let [e, a, d] = by_topic;
    produce(&topics.enrolments, e).await;
    produce(&topics.assessments, a).await;
    produce(&topics.demand, d).await;
}

fn spawn_binary(topics: &Topics, group: &str) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_skills-ingest"))
        .env("SKILLS__BUS__KIND", "kafka")
        .env("SKILLS__BUS__KAFKA__BROKERS", kafka().brokers)
        .env("SKILLS__BUS__KAFKA__PARTITIONS", "3")
        .env("SKILLS__INGEST__GROUP_ID", group)
        .env(
            "SKILLS__INGEST__RAW_TOPICS",
            format!("[\"{}\", \"{}\", \"{}\"]", topics.enrolments, topics.assessments, topics.demand),
        )
        .env("SKILLS__INGEST__NORMALIZED_TOPIC", &topics.normalized)
        .env("SKILLS__INGEST__DEAD_LETTER_TOPIC", &topics.dead_letters)
        .env("SKILLS__INGEST__BATCH_MAX_EVENTS", "500")
        .env("SKILLS__METRICS__INGEST_LISTEN", "")
        .env("SKILLS_PSEUDONYM_KEY", KEY_HEX)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("skills-ingest starts")
}

/// Distinct normalized ids and distinct dead-lettered source positions.
fn accounted(topics: &Topics, records: &[Record]) -> (BTreeSet<String>, BTreeSet<(String, i32, i64)>) {
    let mut ids = BTreeSet::new();
    let mut letters = BTreeSet::new();
    for record in records {
        if record.topic == topics.normalized {
            ids.insert(normalized(record).event_id);
        } else {
            letters.insert((
                header(record, headers::DLQ_SOURCE_TOPIC),
                header(record, headers::DLQ_SOURCE_PARTITION).parse().unwrap(),
                header(record, headers::DLQ_SOURCE_OFFSET).parse().unwrap(),
            ));
        }
    }
    (ids, letters)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka: ./deploy/test.sh"]
async fn kill_9_mid_stream_then_restart_loses_nothing_and_sigterm_exits_cleanly() {
    let topics = topics("kill");
    let group = unique("ingest");
    let (messages, valid_ids, invalid) = mixed_events(30_000);
    let total = valid_ids.len() + invalid;
    let mut reader = Reader::new(&[&topics.normalized, &topics.dead_letters]).await;

    // Partners keep sending while the service runs: ten waves.
    let mut waves: Vec<Vec<(u8, Message)>> = Vec::new();
    for chunk in messages.chunks(3_000) {
        waves.push(chunk.to_vec());
    }
    let first_wave = waves.remove(0);
    produce_mixed(&topics, first_wave).await;
    let mut first = spawn_binary(&topics, &group);
    let sender = {
        let topics = Topics {
            enrolments: topics.enrolments.clone(),
            assessments: topics.assessments.clone(),
            demand: topics.demand.clone(),
            normalized: topics.normalized.clone(),
            dead_letters: topics.dead_letters.clone(),
        };
        tokio::spawn(async move {
            for wave in waves {
                produce_mixed(&topics, wave).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    reader.read_until(Duration::from_secs(120), |records| records.len() >= 2_000).await;
    first.kill().await.expect("SIGKILL");
    let (ids_at_kill, _) = accounted(&topics, &reader.records);
    assert!(ids_at_kill.len() >= 1_000, "it had produced output before the kill");
    assert!(
        ids_at_kill.len() < valid_ids.len(),
        "it was killed mid-stream ({} of {})",
        ids_at_kill.len(),
        valid_ids.len()
    );

    let mut second = spawn_binary(&topics, &group);
    sender.await.unwrap();
    reader
        .read_until(Duration::from_secs(180), |records| {
            let (ids, letters) = accounted(&topics, records);
            ids.len() + letters.len() >= total
        })
        .await;
    let (ids, letters) = accounted(&topics, &reader.records);
    assert_eq!(ids, valid_ids, "every valid input event is in the output");
    assert_eq!(letters.len(), invalid, "every invalid one is in the dead-letter topic");

    // SIGTERM: finish the batch, commit, exit 0.
    let pid = second.id().expect("running");
    let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), second.wait()).await.expect("exits").unwrap();
    assert!(exit.success(), "exit status {exit:?}");

    // Everything was committed: a third run produces nothing new.
    let before = reader.records.len();
    let mut third = spawn_binary(&topics, &group);
    reader.read_for(Duration::from_secs(8)).await;
    assert_eq!(reader.records.len(), before, "nothing replayed after a clean shutdown");
    third.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka: ./deploy/test.sh"]
async fn a_second_instance_joining_and_leaving_loses_nothing() {
    let topics = topics("rebalance");
    let config = ingest_config(&topics);
    let (messages, valid_ids, invalid) = mixed_events(12_000);
    let total = valid_ids.len() + invalid;
    let mut reader = Reader::new(&[&topics.normalized, &topics.dead_letters]).await;
    let mut waves: Vec<Vec<(u8, Message)>> = messages.chunks(2_000).map(|c| c.to_vec()).collect();

    let first = start_ingest(IngestConfig { batch_max_events: 200, ..config.clone() }).await;
    produce_mixed(&topics, waves.remove(0)).await;
    reader.read_until(Duration::from_secs(60), |records| records.len() >= 500).await;
    // A second member joins the group: partitions are rebalanced under load.
    let second = start_ingest(IngestConfig { batch_max_events: 200, ..config.clone() }).await;
    for wave in waves.drain(..3) {
        produce_mixed(&topics, wave).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // ...and leaves again while events keep coming.
    let second_stats = second.stop().await;
    for wave in waves {
        produce_mixed(&topics, wave).await;
    }
    reader
        .read_until(Duration::from_secs(120), |records| {
            let (ids, letters) = accounted(&topics, records);
            ids.len() + letters.len() >= total
        })
        .await;
    let first_stats = first.stop().await;
    let (ids, letters) = accounted(&topics, &reader.records);
    assert_eq!(ids, valid_ids, "every valid event came out across the rebalances");
    assert_eq!(letters.len(), invalid);
    let consumed = IngestStats::get(&first_stats.consumed) + IngestStats::get(&second_stats.consumed);
    assert!(consumed >= total as u64, "each record consumed at least once ({consumed} of {total})");
}

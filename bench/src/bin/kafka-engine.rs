//! Benchmark scenario 2: the aggregator against ClickHouse's own Kafka
//! table engine with materialized views that derive the same fact rows
//! (so the same counter queries read them) from the same normalized events.
//!
//!   kafka-engine to-json BROKERS FROM_TOPIC TO_TOPIC COUNT
//!   kafka-engine engine-up URL DATABASE BROKERS TOPIC GROUP
//!   kafka-engine engine-down URL DATABASE
//!   kafka-engine wait URL DATABASE EVENTS STARTED_AT [PID:CPU_AT_START...]
//!   kafka-engine probe URL DATABASE BROKERS TOPIC proto|json RATE SECONDS
//!   kafka-engine compare URL DATABASE_A DATABASE_B
//!
//! ClickHouse 18.16 cannot read protobuf, so `to-json` copies the
//! normalized topic into JSONEachRow, partition for partition, before the
//! timed part; each event keeps its fields and its skills as an array, with
//! each skill's target level beside it (what a dictionary would hold), and
//! the views do the per-skill rows and the at-target test in SQL.
//! `wait` polls the applied_events count until EVENTS are there and prints
//! the rate from STARTED_AT (Unix seconds, when the consumer was started)
//! to the full count, with the CPU seconds the PIDs used in between; `probe` sends demand events at RATE per second
//! for SECONDS and prints the p50/p99/max time from send to the event being
//! in ClickHouse; `compare` exits 1 unless the two databases hold the same
//! rows (probes left out).

use clickhouse::{Client, Row};
use prost::Message as _;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Deserialize;
use skills_bench::cpu_seconds_of;
use skills_domain::events::to_datetime;
use skills_domain::facts::Groups;
use skills_domain::reference;
use skills_proto::v1 as pb;
use skills_store::{ClickHouseConfig, ClickHouseStore};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The skill the probes count openings for.
const PROBE_SKILL: &str = "3.4";

fn usage() -> ! {
    eprintln!(
        "usage: kafka-engine to-json BROKERS FROM_TOPIC TO_TOPIC COUNT\n\
         \x20      kafka-engine engine-up URL DATABASE BROKERS TOPIC GROUP\n\
         \x20      kafka-engine engine-down URL DATABASE\n\
         \x20      kafka-engine wait URL DATABASE EVENTS STARTED_AT [PID:CPU_AT_START...]\n\
         \x20      kafka-engine probe URL DATABASE BROKERS TOPIC proto|json RATE SECONDS\n\
         \x20      kafka-engine compare URL DATABASE_A DATABASE_B"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["to-json", brokers, from, to, count] => to_json(brokers, from, to, count.parse().expect("COUNT")).await,
        ["engine-up", url, db, brokers, topic, group] => engine_up(url, db, brokers, topic, group).await,
        ["engine-down", url, db] => engine_down(&client(url), db).await,
        ["wait", url, db, events, started_at, pids @ ..] => {
            wait(url, db, events.parse().expect("EVENTS"), started_at.parse().expect("STARTED_AT"), pids).await
        }
        ["probe", url, db, brokers, topic, format, rate, seconds] => {
            probe(url, db, brokers, topic, format, rate.parse().expect("RATE"), seconds.parse().expect("SECONDS")).await
        }
        ["compare", url, a, b] => compare(url, a, b).await,
        _ => usage(),
    }
}

fn client(url: &str) -> Client {
    Client::default().with_url(url).with_validation(false)
}

fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .create()
        .expect("producer")
}

fn seconds(timestamp: Option<&prost_types::Timestamp>) -> i64 {
    timestamp.and_then(to_datetime).map_or(0, |t| t.timestamp().max(0))
}

/// One normalized event as the Kafka engine's JSONEachRow row.
fn json_row(event: &pb::NormalizedEvent) -> serde_json::Value {
    use pb::normalized_event::Payload;
    let target = |code: &String| reference::skill(code).map_or(0, |s| s.target_level);
    let mut row = serde_json::json!({
        "event_id": event.event_id, "partner_id": event.partner_id, "region": event.region,
        "occurred_at": seconds(event.occurred_at.as_ref()), "ingested_at": seconds(event.ingested_at.as_ref()),
    });
    let fields = match &event.payload {
        Some(Payload::Enrolment(e)) => {
            let groups = e.profile.as_ref().map(Groups::of).unwrap_or_default();
            serde_json::json!({
                "kind": "enrolment", "learner": e.learner, "course_id": e.course_id,
                "skills": e.skills, "targets": e.skills.iter().map(target).collect::<Vec<_>>(),
                "status": e.status, "planned_end": seconds(e.planned_end.as_ref()),
                "certified_level": e.certified_level.unwrap_or(0),
                "woman": u8::from(groups.woman), "priority": u8::from(groups.priority_neighbourhood),
                "rural": u8::from(groups.rural), "under_26": u8::from(groups.under_26),
                "jobseeker": u8::from(groups.jobseeker), "profiled": u8::from(e.profile.is_some()),
            })
        }
        Some(Payload::Assessment(a)) => serde_json::json!({
            "kind": "assessment", "learner": a.learner, "skills": [a.skill], "targets": [target(&a.skill)],
            "framework": a.framework, "level": a.level, "phase": a.phase,
        }),
        Some(Payload::Demand(d)) => serde_json::json!({
            "kind": "demand", "skills": d.skills, "targets": d.skills.iter().map(target).collect::<Vec<_>>(),
            "openings": d.openings, "hard_to_fill": d.hard_to_fill,
        }),
        None => serde_json::json!({ "kind": "" }),
    };
    row.as_object_mut().expect("object").extend(fields.as_object().expect("object").clone());
    row
}

/// Copies COUNT normalized events into TO_TOPIC as JSON, same partitions.
async fn to_json(brokers: &str, from: &str, to: &str, count: u64) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers).create().expect("admin client");
    let _ = admin.create_topics(&[NewTopic::new(to, 6, TopicReplication::Fixed(1))], &AdminOptions::new()).await;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{to}.copier"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[from]).expect("subscribe");
    let producer = producer(brokers);
    let mut pending = Vec::new();
    let mut copied = 0u64;
    while copied < count {
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("{from} went quiet after {copied} of {count} events"))
            .expect("consume");
        let event = pb::NormalizedEvent::decode(message.payload().unwrap_or_default()).expect("normalized event");
        let body = serde_json::to_vec(&json_row(&event)).expect("json");
        let record =
            FutureRecord::to(to).partition(message.partition()).key(event.event_id.as_str()).payload(body.as_slice());
        pending.push(producer.send_result(record).map_err(|(error, _)| error).expect("queue"));
        copied += 1;
        if pending.len() >= 10_000 {
            for delivery in pending.drain(..) {
                delivery.await.expect("delivery").expect("delivered");
            }
        }
    }
    for delivery in pending {
        delivery.await.expect("delivery").expect("delivered");
    }
    println!("copied {copied} events from {from} to {to}");
}

/// The columns of the JSON copy, as the Kafka table reads them.
const EVENT_COLUMNS: &str = "event_id String, kind String, partner_id String, region String,
    occurred_at UInt32, ingested_at UInt32, learner String, course_id String,
    skills Array(String), targets Array(UInt8), status UInt8, planned_end UInt32,
    certified_level UInt8, woman UInt8, priority UInt8, rural UInt8, under_26 UInt8,
    jobseeker UInt8, profiled UInt8, framework UInt8, level UInt8, phase UInt8, openings UInt32,
    hard_to_fill UInt32";

/// The store's schema (its own migrations), the Kafka table and one view
/// per table the aggregator writes. 18.16 starts reading as soon as one
/// view is attached, so events read before the last view existed were lost
/// (on a fast disk the whole backlog went into `applied_events` alone); and
/// a view writing into a `Null` table does not trigger views on that table.
/// So the Kafka table is created pointing at no broker, the views are
/// attached to it, and then it is detached and attached again with the
/// real broker: it starts with every view in place.
async fn engine_up(url: &str, db: &str, brokers: &str, topic: &str, group: &str) {
    let config = ClickHouseConfig { url: url.to_string(), database: db.to_string(), ..Default::default() };
    ClickHouseStore::connect(&config).await.expect("schema");
    let kafka_table = |brokers: &str| {
        format!(
            "{db}.kafka_events ({EVENT_COLUMNS}) ENGINE = Kafka SETTINGS
             kafka_broker_list = '{brokers}', kafka_topic_list = '{topic}',
             kafka_group_name = '{group}', kafka_format = 'JSONEachRow', kafka_num_consumers = 1"
        )
    };
    let statements = [
        format!("CREATE TABLE {}", kafka_table("127.0.0.1:1")),
        format!(
            "CREATE MATERIALIZED VIEW {db}.kafka_applied TO {db}.applied_events AS
             SELECT event_id, kind, partner_id, region, toDateTime(occurred_at) AS occurred_at,
                    toDateTime(ingested_at) AS ingested_at,
                    '' AS source_topic, toInt32(-1) AS source_partition, toInt64(-1) AS source_offset
             FROM {db}.kafka_events"
        ),
        format!(
            "CREATE MATERIALIZED VIEW {db}.kafka_enrolments TO {db}.enrolment_facts AS
             SELECT event_id, learner, course_id, skill, region, toDateTime(occurred_at) AS occurred_at,
                    status, toDateTime(planned_end) AS planned_end, certified_level,
                    toUInt8(status = 5 AND certified_level > 0 AND certified_level >= target) AS at_target,
                    woman, priority, rural, under_26, jobseeker, profiled
             FROM {db}.kafka_events ARRAY JOIN skills AS skill, targets AS target
             WHERE kind = 'enrolment'"
        ),
        format!(
            "CREATE MATERIALIZED VIEW {db}.kafka_assessments TO {db}.assessment_facts AS
             SELECT event_id, learner, skill, region, toDateTime(occurred_at) AS occurred_at,
                    framework, level, phase
             FROM {db}.kafka_events ARRAY JOIN skills AS skill
             WHERE kind = 'assessment'"
        ),
        format!(
            "CREATE MATERIALIZED VIEW {db}.kafka_demands TO {db}.demand_facts AS
             SELECT event_id, skill, region, toDateTime(occurred_at) AS occurred_at, openings, hard_to_fill
             FROM {db}.kafka_events ARRAY JOIN skills AS skill
             WHERE kind = 'demand'"
        ),
        format!("DETACH TABLE {db}.kafka_events"),
        format!("ATTACH TABLE {}", kafka_table(brokers)),
    ];
    let client = client(url);
    for statement in statements {
        client.query(&statement).execute().await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

async fn engine_down(client: &Client, db: &str) {
    // The Kafka table first: nothing is consumed after it.
    for table in ["kafka_events", "kafka_applied", "kafka_enrolments", "kafka_assessments", "kafka_demands"] {
        client.query(&format!("DROP TABLE IF EXISTS {db}.{table}")).execute().await.expect("drop");
    }
}

async fn applied(client: &Client, db: &str) -> u64 {
    client.query(&format!("SELECT count() FROM {db}.applied_events")).fetch_one::<u64>().await.unwrap_or(0)
}

/// Waits for EVENTS applied events; prints the rate from `started_at`
/// (Unix seconds) to the full count, the rate from the first non-zero
/// count (which leaves start-up out), and the CPU seconds of the PIDs since
/// `started_at` (each given as PID:CPU_SECONDS_AT_START).
async fn wait(url: &str, db: &str, events: u64, started_at: f64, pids: &[&str]) {
    let client = client(url);
    let unix_now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut first: Option<(u64, f64)> = None;
    loop {
        let n = applied(&client, db).await;
        if n > 0 && first.is_none() {
            first = Some((n, unix_now()));
        }
        if n >= events {
            break;
        }
        assert!(Instant::now() < deadline, "only {n} of {events} events in {db} after 30 minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = unix_now();
    let (first_count, first_at) = first.expect("a first sample");
    let cpu: f64 = pids
        .iter()
        .map(|p| {
            let (pid, before) = p.split_once(':').expect("PID:CPU_AT_START");
            cpu_seconds_of(pid) - before.parse::<f64>().expect("CPU_AT_START")
        })
        .sum();
    let from_first = if done > first_at { (events - first_count.min(events)) as f64 / (done - first_at) } else { 0.0 };
    println!(
        "{}",
        serde_json::json!({ "events": events, "seconds": done - started_at,
                            "per_second": events as f64 / (done - started_at),
                            "per_second_from_first_row": from_first, "cpu_seconds": cpu })
    );
}

#[derive(Row, Deserialize)]
struct Id {
    event_id: String,
}

fn probe_payload(format: &str, event_id: &str) -> Vec<u8> {
    let now = chrono::Utc::now();
    let event = pb::NormalizedEvent {
        event_id: event_id.to_string(),
        occurred_at: Some(prost_types::Timestamp { seconds: now.timestamp(), nanos: 0 }),
        ingested_at: Some(prost_types::Timestamp { seconds: now.timestamp(), nanos: 0 }),
        partner_id: "bench-probe".into(),
        region: "84".into(),
        payload: Some(pb::normalized_event::Payload::Demand(pb::NormalizedDemand {
            source: "probe".into(),
            skills: vec![PROBE_SKILL.into()],
            openings: 1,
            ..Default::default()
        })),
    };
    match format {
        "proto" => event.encode_to_vec(),
        "json" => serde_json::to_vec(&json_row(&event)).expect("json"),
        _ => usage(),
    }
}

/// Sends RATE probes a second for SECONDS; prints send→in-ClickHouse
/// latency percentiles (polled every 20 ms).
async fn probe(url: &str, db: &str, brokers: &str, topic: &str, format: &str, rate: u64, seconds: u64) {
    let client = client(url);
    let producer = producer(brokers);
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis();
    let prefix = format!("probe-{run}-");
    let total = rate * seconds;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut latencies_ms: Vec<f64> = Vec::new();
    let started = Instant::now();
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    loop {
        // Send every probe that is due by now.
        let due = ((started.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while (sent.len() + latencies_ms.len()) < due as usize {
            let id = format!("{prefix}{}", sent.len() + latencies_ms.len());
            let payload = probe_payload(format, &id);
            let record = FutureRecord::to(topic).key(id.as_str()).payload(payload.as_slice());
            producer.send_result(record).map_err(|(error, _)| error).expect("queue");
            sent.insert(id, Instant::now());
        }
        poll.tick().await;
        let seen: Vec<Id> = client
            .query(&format!("SELECT event_id FROM {db}.applied_events WHERE event_id LIKE '{prefix}%'"))
            .fetch_all()
            .await
            .unwrap_or_default();
        let now = Instant::now();
        for id in seen {
            if let Some(at) = sent.remove(&id.event_id) {
                latencies_ms.push(now.duration_since(at).as_secs_f64() * 1000.0);
            }
        }
        if latencies_ms.len() as u64 == total {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(seconds + 120),
            "{} of {total} probes never reached {db}",
            sent.len()
        );
    }
    println!("{}", skills_bench::latency_summary(latencies_ms));
}

/// Row count and an order-free checksum of every fact table and the
/// applied events, probes left out.
async fn fingerprint(client: &Client, db: &str) -> Vec<(String, u64, u64)> {
    let tables = [
        ("applied_events", "event_id, kind, partner_id, region, occurred_at, ingested_at"),
        (
            "enrolment_facts",
            "event_id, skill, learner, course_id, region, occurred_at, status, planned_end, certified_level, \
             at_target, woman, priority, rural, under_26, jobseeker, profiled",
        ),
        ("assessment_facts", "event_id, learner, skill, region, occurred_at, framework, level, phase"),
        ("demand_facts", "event_id, skill, region, occurred_at, openings, hard_to_fill"),
    ];
    let mut out = Vec::new();
    for (table, columns) in tables {
        let (count, sum) = client
            .query(&format!(
                "SELECT count(), sum(cityHash64({columns})) FROM \
                 (SELECT DISTINCT {columns} FROM {db}.{table} WHERE event_id NOT LIKE 'probe-%')"
            ))
            .fetch_one::<(u64, u64)>()
            .await
            .expect("fingerprint");
        out.push((table.to_string(), count, sum));
    }
    out
}

async fn compare(url: &str, a: &str, b: &str) {
    let client = client(url);
    let (left, right) = (fingerprint(&client, a).await, fingerprint(&client, b).await);
    for ((table, count_a, sum_a), (_, count_b, sum_b)) in left.iter().zip(&right) {
        let same = count_a == count_b && sum_a == sum_b;
        eprintln!("{table}: {a} {count_a} rows, {b} {count_b} rows, {}", if same { "same rows" } else { "DIFFERENT" });
    }
    if left != right {
        std::process::exit(1);
    }
    println!("same rows in {a} and {b}");
}

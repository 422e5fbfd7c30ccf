//! Baseline of benchmark scenario 1: a bare rdkafka consume→produce loop
//! with the client settings of skills-ingest (manual commit after the
//! batch is acknowledged; idempotent producer, acks=all, lz4, linger 5 ms;
//! batches of up to 2,000 gathered with a 5 ms linger), copying each raw
//! message unchanged to one output topic. No decoding, validation or
//! pseudonymisation: the ratio against skills-ingest is what that costs.
//!
//!   bare-passthrough BROKERS GROUP OUTPUT_TOPIC TOTAL TOPIC...
//!
//! Creates OUTPUT_TOPIC with 6 partitions (as the services create theirs)
//! when missing. Prints one JSON line: messages moved, the rate from the
//! first record received to the last batch committed, its CPU seconds and
//! peak RSS (from /proc, as the bench scripts read the services').

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const BATCH: usize = 2_000;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, group, output, total, topics @ ..] = args.as_slice() else {
        eprintln!("usage: bare-passthrough BROKERS GROUP OUTPUT_TOPIC TOTAL TOPIC...");
        std::process::exit(2);
    };
    let total: u64 = total.parse().expect("TOTAL is a number");
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers).create().expect("admin client");
    // An existing topic is an error result per topic, not a failure.
    let _ = admin.create_topics(&[NewTopic::new(output, 6, TopicReplication::Fixed(1))], &AdminOptions::new()).await;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .create()
        .expect("consumer");
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names).expect("subscribe");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .set("message.timeout.ms", "300000")
        .create()
        .expect("producer");

    let mut moved = 0u64;
    let mut first: Option<Instant> = None;
    while moved < total {
        let mut batch = Vec::with_capacity(BATCH);
        match tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await {
            Ok(Ok(message)) => batch.push(message),
            Ok(Err(error)) => panic!("consume: {error}"),
            Err(_) => continue,
        }
        first.get_or_insert_with(Instant::now);
        while batch.len() < BATCH {
            match tokio::time::timeout(Duration::from_millis(5), consumer.recv()).await {
                Ok(Ok(message)) => batch.push(message),
                _ => break,
            }
        }
        let mut deliveries = Vec::with_capacity(batch.len());
        let mut next: HashMap<(String, i32), i64> = HashMap::new();
        for message in &batch {
            let mut record = FutureRecord::to(output).payload(message.payload().unwrap_or_default());
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            loop {
                match producer.send_result(record) {
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    Err((_, returned)) => {
                        record = returned;
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
            }
            let position = next.entry((message.topic().to_string(), message.partition())).or_default();
            *position = (*position).max(message.offset() + 1);
        }
        for delivery in deliveries {
            delivery.await.expect("producer alive").expect("delivered");
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in &next {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset)).expect("offset");
        }
        consumer.commit(&list, CommitMode::Sync).expect("commit");
        moved += batch.len() as u64;
    }
    let seconds = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let (cpu_seconds, rss_mib) = (skills_bench::cpu_seconds(), skills_bench::peak_rss_mib());
    println!(
        "{}",
        serde_json::json!({
            "messages": moved, "seconds": seconds, "per_second": moved as f64 / seconds,
            "cpu_seconds": cpu_seconds, "rss_mib": rss_mib,
        })
    );
}

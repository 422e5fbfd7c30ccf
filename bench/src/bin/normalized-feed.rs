//! Benchmark scenario 6's feed: the synthetic data set of LEARNERS
//! distinct learners, normalized by the domain code exactly as
//! skills-ingest normalizes it (duplicates dropped, mistakes left out),
//! produced as normalized events to TOPIC, so that the aggregator's scale
//! curve does not wait on ingestion.
//!
//!   normalized-feed BROKERS TOPIC LEARNERS
//!
//! Prints the number of normalized events produced.

use skills_bus::kafka::{KafkaBus, KafkaConfig};
use skills_bus::{Bus, Message};
use skills_proto::Message as _;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, topic, learners] = args.as_slice() else {
        eprintln!("usage: normalized-feed BROKERS TOPIC LEARNERS");
        std::process::exit(2);
    };
    let bus =
        KafkaBus::new(KafkaConfig { brokers: brokers.clone(), partitions: 6, ..Default::default() }).expect("bus");
    bus.ensure_topics(std::slice::from_ref(topic)).await.expect("topic");
    let producer = bus.producer();
    let events = skills_bench::normalized_events(0..learners.parse().expect("LEARNERS"));
    let mut batch = Vec::with_capacity(10_000);
    let mut produced = 0u64;
    for event in &events {
        batch.push(Message::new(event.encode_to_vec()).with_key(event.event_id.clone()));
        if batch.len() == batch.capacity() {
            produced += batch.len() as u64;
            producer.send(topic, std::mem::take(&mut batch)).await.expect("send");
            batch.reserve(10_000);
        }
    }
    produced += batch.len() as u64;
    producer.send(topic, batch).await.expect("send");
    println!("{produced}");
}

//! How the aggregator loop behaves when the store fails: an outage is
//! waited out, an event the store refuses is dead-lettered alone, a schema
//! mismatch stops the loop. The store here is the embedded one behind the
//! shared fault-injecting wrapper; the ClickHouse outage itself is tested against the real
//! server in tests/kafka_clickhouse.rs.

use skills_aggregator::{AggregatorConfig, AggregatorError, AggregatorStats};
use skills_bus::embedded::EmbeddedBus;
use skills_bus::{Bus, Message, headers};
use skills_proto::Message as _;
use skills_proto::v1::{NormalizedDemand, NormalizedEvent, normalized_event::Payload};
use skills_store::fixtures::{Faults, FaultyStore};
use skills_store::{EmbeddedStore, MetricsStore};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn event(n: u32) -> Message {
    let event = NormalizedEvent {
        event_id: format!("00000000-0000-4000-8000-{n:012}"),
        occurred_at: Some(skills_proto::Timestamp { seconds: 1_740_000_000, nanos: 0 }),
        region: "84".into(),
        payload: Some(Payload::Demand(NormalizedDemand {
            source: "s".into(),
            skills: vec!["3.4".into()],
            openings: 1,
            hard_to_fill: 0,
            rome_code: String::new(),
        })),
        ..Default::default()
    };
    Message::new(event.encode_to_vec())
        .with_header(headers::SOURCE_TOPIC, "skills.demand.v1")
        .with_header(headers::SOURCE_PARTITION, "0")
        .with_header(headers::SOURCE_OFFSET, n.to_string())
}

/// Sends `count` events, runs the aggregator until the bus is drained (or
/// it stops by itself), and returns how the run ended.
async fn run_with(store: Arc<FaultyStore>, count: u32) -> (Result<(), AggregatorError>, Arc<EmbeddedBus>) {
    let bus = Arc::new(EmbeddedBus::new(1_000));
    let config = AggregatorConfig { batch_max_wait_ms: 10, ..Default::default() };
    let topic = config.normalized_topic.clone();
    bus.ensure_topics(std::slice::from_ref(&topic)).await.unwrap();
    bus.producer().send(&topic, (0..count).map(event).collect()).await.unwrap();
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    let task = tokio::spawn(skills_aggregator::run(
        config.clone(),
        bus.clone(),
        store,
        Arc::new(AggregatorStats::default()),
        shutdown,
    ));
    for _ in 0..300 {
        if task.is_finished() || bus.lag(&topic, &config.group_id) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    trigger.trigger();
    (tokio::time::timeout(Duration::from_secs(10), task).await.expect("the loop stops").unwrap(), bus)
}

/// The embedded store, failing as `set_fault` makes it.
fn faulty(set_fault: impl FnOnce(&Faults)) -> Arc<FaultyStore> {
    let store = FaultyStore::new(Arc::new(EmbeddedStore::in_memory().unwrap()));
    set_fault(&store.faults);
    Arc::new(store)
}

#[tokio::test]
async fn an_outage_is_waited_out_and_nothing_is_lost() {
    let store = faulty(|faults| faults.write_outages.store(4, Ordering::Relaxed));
    let (result, _) = run_with(store.clone(), 50).await;
    result.unwrap();
    assert_eq!(store.status().await.unwrap().events, 50);
    assert!(store.probe.applies.load(Ordering::Relaxed) >= 5, "the same batch was retried through the outage");
}

#[tokio::test]
async fn an_event_the_store_refuses_is_dead_lettered_alone() {
    let poison = "00000000-0000-4000-8000-000000000013".to_string();
    let store = faulty(|faults| *faults.poison_event.lock().unwrap() = Some(poison));
    let (result, _) = run_with(store.clone(), 40).await;
    result.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!(status.events, 39, "every other event is counted");
    assert_eq!(store.dead_letter_reasons().await.unwrap(), [("store_rejected".to_string(), 1)]);
    let checkpoints = store.checkpoints("skills-aggregator").await.unwrap();
    assert_eq!(checkpoints.iter().map(|c| c.next_offset).sum::<i64>(), 40, "the batch is done, offsets recorded");
}

#[tokio::test]
async fn a_schema_mismatch_stops_the_loop_with_the_reason() {
    let store = faulty(|faults| faults.schema_broken.store(true, Ordering::Relaxed));
    let (result, bus) = run_with(store.clone(), 5).await;
    let error = result.expect_err("a schema mismatch is not retried");
    assert!(error.to_string().contains("column y is missing"), "{error}");
    assert_eq!(store.probe.applies.load(Ordering::Relaxed), 1, "tried once, not looped");
    assert_eq!(bus.lag(skills_bus::topics::NORMALIZED, "skills-aggregator"), 5, "nothing committed");
}

//! The full path on the real servers: raw events to Kafka, skills-ingest,
//! the normalized topic, skills-aggregator, ClickHouse, skills-query, gRPC.
//! The services run in this process here (their library entry points, the
//! same code as the binaries); the story and its expected values are those
//! of embedded_stack.rs, so both stores are held to the same numbers.

mod common;

use common::{cell, close, story};
use skills::client::Client;
use skills_aggregator::AggregatorStats;
use skills_bus::kafka::{KafkaBus, KafkaConfig};
use skills_bus::{Bus, Message, headers, topics};
use skills_domain::indicators::{Audience, IndicatorSettings};
use skills_domain::pseudonym::{Pseudonymiser, SecretKey};
use skills_ingest::IngestStats;
use skills_query::auth::Authorizer;
use skills_query::service::TalentGapApi;
use skills_store::{ClickHouseConfig, ClickHouseStore, MetricsStore};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Pipeline {
    prefix: String,
    store: ClickHouseStore,
    endpoint: String,
    trigger: skills_runtime::ShutdownTrigger,
    ingest_stats: Arc<IngestStats>,
    aggregator_stats: Arc<AggregatorStats>,
}

const POLICY_TOKEN: &str = "e2e-policy-token";

async fn start_pipeline(name: &str) -> Pipeline {
    let brokers = std::env::var("SKILLS_KAFKA_BROKERS").expect("SKILLS_KAFKA_BROKERS: ./deploy/infra.sh up");
    let url = std::env::var("SKILLS_CLICKHOUSE_URL").expect("SKILLS_CLICKHOUSE_URL: ./deploy/infra.sh up");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let prefix = format!("e2e{}{name}{nanos}", std::process::id());
    let kafka = KafkaConfig { brokers, partitions: 3, ..Default::default() };
    let bus: Arc<dyn Bus> = Arc::new(KafkaBus::new(kafka).unwrap());
    let store = ClickHouseStore::connect(&ClickHouseConfig { url, database: prefix.clone(), ..Default::default() })
        .await
        .unwrap();
    let shared_store: Arc<dyn MetricsStore> = Arc::new(store.clone());
    let (trigger, shutdown) = skills_runtime::shutdown_pair();

    let ingest = skills_ingest::IngestConfig {
        group_id: format!("{prefix}.ingest"),
        raw_topics: [topics::ENROLMENTS, topics::ASSESSMENTS, topics::DEMAND]
            .iter()
            .map(|t| format!("{prefix}.{t}"))
            .collect(),
        normalized_topic: format!("{prefix}.{}", topics::NORMALIZED),
        dead_letter_topic: format!("{prefix}.{}", topics::DEAD_LETTERS),
        batch_max_wait_ms: 50,
        ..Default::default()
    };
    let aggregator = skills_aggregator::AggregatorConfig {
        group_id: format!("{prefix}.aggregator"),
        normalized_topic: ingest.normalized_topic.clone(),
        dead_letter_topic: ingest.dead_letter_topic.clone(),
        batch_max_wait_ms: 50,
        ..Default::default()
    };
    let pseudonymiser = Pseudonymiser::single(SecretKey::from_bytes(vec![9; 32]).unwrap(), 1);
    let ingest_stats = Arc::new(IngestStats::default());
    tokio::spawn(skills_ingest::run(ingest, bus.clone(), pseudonymiser, ingest_stats.clone(), shutdown.clone()));
    let aggregator_stats = Arc::new(AggregatorStats::default());
    tokio::spawn(skills_aggregator::run(
        aggregator,
        bus,
        shared_store.clone(),
        aggregator_stats.clone(),
        shutdown.clone(),
    ));

    let settings = IndicatorSettings { suppression_k: 3, ..Default::default() };
    let engine = skills_query::IndicatorEngine::new(shared_store, settings).await.unwrap();
    tokio::spawn(engine.clone().refresh_every(Duration::from_millis(100), shutdown.clone()));
    let mut auth = Authorizer::new(Some("public")).unwrap();
    auth.add_token(POLICY_TOKEN, Audience::Policy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let api = TalentGapApi::in_process(engine, auth, 64, shutdown.clone());
    tokio::spawn(skills_query::serve(listener, api, Default::default(), shutdown));
    Pipeline { prefix, store, endpoint, trigger, ingest_stats, aggregator_stats }
}

impl Pipeline {
    fn bus() -> KafkaBus {
        let brokers = std::env::var("SKILLS_KAFKA_BROKERS").unwrap();
        KafkaBus::new(KafkaConfig { brokers, partitions: 3, ..Default::default() }).unwrap()
    }

    /// Produces again everything on the normalized topic, as an ingest
    /// instance that crashed after producing and before committing would.
    async fn replay_normalized(&self) -> usize {
        let bus = Self::bus();
        let topic = format!("{}.{}", self.prefix, topics::NORMALIZED);
        let mut reader = bus.consumer(&format!("{}.replayer", self.prefix), std::slice::from_ref(&topic)).unwrap();
        let mut messages: Vec<Message> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while messages.len() < 31 && Instant::now() < deadline {
            let records = reader.poll(1000, Duration::from_millis(200)).await.unwrap();
            // The events, not ingestion's duplicate notices beside them.
            messages
                .extend(records.into_iter().map(|r| r.message).filter(|m| m.header(headers::DUPLICATE_OF).is_none()));
        }
        let count = messages.len();
        bus.producer().send(&topic, messages).await.unwrap();
        count
    }

    async fn send(&self, messages: Vec<(&'static str, Message)>) {
        let bus = Self::bus();
        for (topic, message) in messages {
            let topic = format!("{}.{topic}", self.prefix);
            bus.ensure_topics(std::slice::from_ref(&topic)).await.unwrap();
            bus.producer().send(&topic, vec![message]).await.unwrap();
        }
    }

    /// Waits until the store holds `events` events and `letters` dead letters.
    async fn wait_for(&self, events: u64, letters: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let status = self.store.status().await.unwrap();
            if status.events >= events && status.dead_letters >= letters {
                assert_eq!((status.events, status.dead_letters), (events, letters), "nothing counted twice");
                return;
            }
            assert!(Instant::now() < deadline, "timed out at {status:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn stop(self) {
        self.trigger.trigger();
        let client = clickhouse::Client::default()
            .with_url(std::env::var("SKILLS_CLICKHOUSE_URL").unwrap())
            .with_validation(false);
        client.query(&format!("DROP DATABASE IF EXISTS {}", self.prefix)).execute().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka and ClickHouse: ./deploy/test.sh"]
async fn kafka_to_clickhouse_to_grpc_gives_the_hand_computed_indicators_and_replays_change_nothing() {
    let pipeline = start_pipeline("full").await;
    pipeline.send(story()).await;
    pipeline.wait_for(31, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the engine notices the new data

    let mut policy = Client::connect(&pipeline.endpoint, Some(POLICY_TOKEN.into())).await.unwrap();
    let ara = policy.region("84", "2025").await.unwrap();
    let programming = cell(&ara.cells, "84", "3.4");
    assert_eq!(programming.learners, Some(6));
    assert_eq!((programming.enrolled, programming.completed, programming.dropped_out), (Some(6), Some(3), Some(1)));
    assert_eq!((programming.certified, programming.active), (Some(2), Some(2)));
    assert!(close(programming.completion_rate, 0.75));
    assert!(close(programming.pipeline, 1.5));
    assert_eq!(programming.openings, 30);
    assert!(close(programming.talent_gap, 26.5));
    assert!(close(programming.shortage_ratio, 30.0 / 3.5));
    assert!(close(programming.mean_proficiency_gain, 2.0));
    assert_eq!(programming.shortage_score, Some(2));
    let across = policy.skill("3.4", "2025").await.unwrap();
    assert!(close(across.mismatch_index, 0.5 * ((0.75 - 3.5 / 5.5) + (2.0 / 5.5 - 0.25))));
    let inclusion = policy.inclusion("84", "2025").await.unwrap();
    assert_eq!((inclusion.enrolled, inclusion.certified), (Some(6), Some(2)), "certified at target");
    let quarter = policy.region("84", "2024-Q4").await.unwrap();
    assert_eq!(cell(&quarter.cells, "84", "3.4").openings, 100, "the 2024 posting stays in 2024");

    // The whole set again: ingestion drops what it recently produced...
    let before = policy.region("84", "2025").await.unwrap().cells;
    pipeline.send(story()).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while IngestStats::get(&pipeline.ingest_stats.duplicates) < 32 {
        assert!(Instant::now() < deadline, "the resent events did not reach ingestion");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // ...and what reaches the aggregator twice is counted once.
    assert_eq!(pipeline.replay_normalized().await, 31);
    while AggregatorStats::get(&pipeline.aggregator_stats.duplicates) < 31 {
        assert!(Instant::now() < deadline, "the replay did not reach the aggregator");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The bad event sent again is a second raw message: its own dead letter.
    pipeline.wait_for(31, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = policy.region("84", "2025").await.unwrap().cells;
    assert_eq!(after, before);
    let public = Client::connect(&pipeline.endpoint, None).await.unwrap().skill("3.4", "2025").await.unwrap();
    assert!(cell(&public.cells, "11", "3.4").suppressed, "two learners, k = 3");
    pipeline.stop().await;
}

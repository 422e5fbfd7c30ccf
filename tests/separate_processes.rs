//! The product as it runs at scale: skills-ingest, skills-aggregator,
//! skills-model and skills-query as separate processes on the real Kafka
//! broker and a real ClickHouse server, fed by `skills send`, audited by
//! `skills reconcile`.
//!
//! While the synthetic data set streams in, the aggregator and skills-model
//! are killed with SIGKILL at random moments and restarted, and ClickHouse is stopped for
//! 10 s (once with the aggregator running, which must hold its batch and
//! retry; once across an aggregator restart, which must wait for the store
//! at start-up). The final counters must equal those of one clean run of
//! the same events (computed here through the same domain code into the
//! embedded store) both as read from the mirrored read model and as
//! counted from the facts, every raw event must reconcile, and a new event
//! must show in the served indicators. The freshness seen is printed.
//!
//! ClickHouse here is a private instance (its own run directory and ports,
//! started by deploy/infra.sh) so that stopping it does not disturb the
//! tests running beside this one.

mod common;

use common::cell;
use common::processes::{
    Moments, PrivateInfra, ServiceConfig, binary, clean_run, connect_client, free_port, metric, scrape, windows,
};
use skills::client::Client;
use skills_bus::kafka::{KafkaBus, KafkaConfig};
use skills_bus::{Bus, topics};
use skills_domain::indicators::PartnerCell;
use skills_store::fixtures::year_2025;
use skills_store::{ClickHouseConfig, ClickHouseStore, CounterWindow, MetricsStore};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const LEARNERS: usize = 2_000;
const SEED: u64 = 77;
const POLICY_TOKEN: &str = "separate-processes-policy-token";
/// The token of the partner of region 11's synthetic learners.
const PARTNER_TOKEN: &str = "separate-processes-partner-token";

/// The services, their shared configuration file and their logs.
struct Services {
    dir: PathBuf,
    config: PathBuf,
    prefix: String,
    ingest: Child,
    aggregator: Child,
    model: Child,
    query: Child,
    aggregator_starts: u32,
    model_starts: u32,
    query_endpoint: String,
    aggregator_metrics: String,
    ingest_metrics: String,
}

impl Services {
    fn spawn(&self, name: &str, log: &str) -> Child {
        let log = std::fs::File::create(self.dir.join(log)).unwrap();
        Command::new(binary(name))
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "info,skills_aggregator=debug")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"))
    }

    fn skills(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary("skills"));
        command.arg("--config").arg(&self.config).args(args);
        command
    }

    fn kill_aggregator(&mut self) {
        self.aggregator.kill().unwrap(); // SIGKILL
        self.aggregator.wait().unwrap();
    }

    fn restart_aggregator(&mut self) {
        self.aggregator_starts += 1;
        self.aggregator = self.spawn("skills-aggregator", &format!("aggregator-{}.log", self.aggregator_starts));
    }

    fn kill_model(&mut self) {
        self.model.kill().unwrap(); // SIGKILL
        self.model.wait().unwrap();
    }

    fn restart_model(&mut self) {
        self.model_starts += 1;
        self.model = self.spawn("skills-model", &format!("model-{}.log", self.model_starts));
    }

    /// SIGTERM, then the exit status.
    fn terminate(child: &mut Child) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for child in [&mut self.ingest, &mut self.aggregator, &mut self.model, &mut self.query] {
            let _ = child.kill();
            let _ = child.wait();
        }
        eprintln!("service logs: {}", self.dir.display());
    }
}

async fn wait_until_counted(store: &ClickHouseStore, events: u64, letters: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(status) = store.status().await {
            if status.events >= events && status.dead_letters >= letters {
                assert_eq!((status.events, status.dead_letters), (events, letters), "nothing counted twice");
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {events} events, {letters} letters: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Until skills-model's copy in ClickHouse counts `events` events.
async fn wait_until_modelled(store: &ClickHouseStore, events: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(model)) = store.mirrored_model().await {
            assert!(model.is_valid(), "{model:?}");
            if model.summary.events >= events {
                assert_eq!(model.summary.events, events, "nothing modelled twice");
                return;
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting for the model to count {events} events");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn policy_client(endpoint: &str) -> Client {
    connect_client(endpoint, POLICY_TOKEN, Duration::from_secs(60)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka and ClickHouse: ./deploy/test.sh"]
async fn the_processes_survive_kills_and_a_clickhouse_outage_and_count_every_event_once() {
    let dir = std::env::temp_dir().join(format!("skills-processes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let clickhouse = PrivateInfra::new(dir.join("clickhouse-run"));
    clickhouse.infra("up", "clickhouse");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let prefix = format!("proc{}x{}.", std::process::id(), nanos % 1_000_000_007);
    let query_port = free_port();
    let metrics = [free_port(), free_port(), free_port()];
    let brokers = std::env::var("SKILLS_KAFKA_BROKERS").expect("SKILLS_KAFKA_BROKERS: ./deploy/infra.sh up");
    let config = ServiceConfig {
        dir: &dir,
        prefix: &prefix,
        brokers: &brokers,
        clickhouse_url: &clickhouse.clickhouse_url(),
        query_port,
        ingest_metrics: metrics[0],
        aggregator_metrics: metrics[1],
        query_metrics: metrics[2],
        policy_token: POLICY_TOKEN,
    }
    .write();
    let tokens = std::fs::read_to_string(dir.join("tokens")).unwrap();
    std::fs::write(dir.join("tokens"), format!("{tokens}partner:gen-partner-11 {PARTNER_TOKEN}\n")).unwrap();

    let mut services = Services {
        dir: dir.clone(),
        config,
        prefix: prefix.clone(),
        ingest: Command::new("true").spawn().unwrap(),
        aggregator: Command::new("true").spawn().unwrap(),
        model: Command::new("true").spawn().unwrap(),
        query: Command::new("true").spawn().unwrap(),
        aggregator_starts: 0,
        model_starts: 0,
        query_endpoint: format!("http://127.0.0.1:{query_port}"),
        aggregator_metrics: format!("127.0.0.1:{}", metrics[1]),
        ingest_metrics: format!("127.0.0.1:{}", metrics[0]),
    };
    services.ingest = services.spawn("skills-ingest", "ingest.log");
    services.restart_aggregator();
    services.restart_model();
    services.query = services.spawn("skills-query", "query.log");

    let set = skills_synthetic::synthetic(LEARNERS, SEED);
    let (reference, rejected) = clean_run(&set.messages).await;
    assert_eq!(rejected as usize, set.invalid, "the clean run rejects exactly the planted mistakes");

    let send_log = std::fs::File::create(dir.join("send.log")).unwrap();
    let learners = LEARNERS.to_string();
    let seed = SEED.to_string();
    let mut sender = services
        .skills(&["send", "--synthetic", "--learners", &learners, "--seed", &seed, "--rate", "500"])
        .args(["--topic-prefix", &services.prefix])
        .stdout(send_log.try_clone().unwrap())
        .stderr(send_log)
        .spawn()
        .unwrap();

    // SIGKILL the aggregator and skills-model at random moments while
    // events stream in.
    let seed = nanos | 1;
    eprintln!("kill moments seeded with {seed}");
    let mut moments = Moments(seed);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(moments.next_ms(500, 2_500))).await;
        services.kill_aggregator();
        tokio::time::sleep(Duration::from_millis(moments.next_ms(0, 500))).await;
        services.restart_aggregator();
        tokio::time::sleep(Duration::from_millis(moments.next_ms(0, 1_000))).await;
        services.kill_model();
        tokio::time::sleep(Duration::from_millis(moments.next_ms(0, 500))).await;
        services.restart_model();
    }

    // ClickHouse stopped for 10 s: the running aggregator holds its batch
    // and retries; one restarted meanwhile waits for the store at start-up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    clickhouse.infra("down", "clickhouse");
    let outage = Instant::now();
    loop {
        let during = scrape(&services.aggregator_metrics).await;
        if metric(&during, "skills_aggregator_store_errors_total") > 0 {
            break;
        }
        if outage.elapsed() > Duration::from_secs(8) {
            let ingest = scrape(&services.ingest_metrics).await;
            panic!("the running aggregator never hit the outage: {during}\ningest: {ingest}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("aggregator retrying {} ms into the outage", outage.elapsed().as_millis());
    services.kill_aggregator();
    services.restart_aggregator();
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(outage.elapsed())).await;
    clickhouse.infra("up", "clickhouse");

    let deadline = Instant::now() + Duration::from_secs(120);
    let sent = loop {
        if let Some(status) = sender.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "skills send did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(sent.success(), "skills send failed; see {}/send.log", dir.display());

    let store = ClickHouseStore::connect(&ClickHouseConfig {
        url: clickhouse.clickhouse_url(),
        database: prefix.trim_end_matches('.').to_string(),
        ..Default::default()
    })
    .await
    .unwrap();
    let drain = Instant::now();
    wait_until_counted(&store, set.valid_events as u64, set.invalid as u64, Duration::from_secs(240)).await;
    eprintln!("drained {} s after the last event was sent", drain.elapsed().as_secs_f64());
    // One more kill after the drain: whatever it replays changes nothing.
    services.kill_aggregator();
    services.restart_aggregator();
    services.kill_model();
    services.restart_model();
    wait_until_modelled(&store, set.valid_events as u64, Duration::from_secs(240)).await;

    for window in windows() {
        let expected = reference.counters(&window).await.unwrap();
        assert_eq!(store.counters(&window).await.unwrap(), expected, "from the model: window {window:?}");
        assert_eq!(store.recount(&window).await.unwrap(), expected, "from the facts: window {window:?}");
        let key = |p: &PartnerCell| (p.partner.clone(), p.counters.region.clone(), p.counters.skill.clone());
        let mut expected = reference.partner_counters(&window, None).await.unwrap().unwrap();
        let mut parts = store.partner_counters(&window, None).await.unwrap().unwrap();
        expected.sort_by_key(key);
        parts.sort_by_key(key);
        assert_eq!(parts, expected, "partner parts from the model: window {window:?}");
    }

    // Every raw event accounted for, by the operator's own tool.
    let output = services.skills(&["reconcile", "--json"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "reconcile: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["raw"], set.messages.len() as u64);
    assert_eq!(report["counted"], set.valid_events as u64);
    assert_eq!(report["duplicates"], set.duplicates as u64);
    assert_eq!(report["dead_lettered"], set.invalid as u64);
    assert_eq!(report["missing"], 0);
    assert_eq!(report["partitions"].as_array().unwrap().len(), 9, "3 raw topics × 3 partitions");

    // Served through gRPC by the query process: equal to the clean run.
    let mut policy = policy_client(&services.query_endpoint).await;
    let served = policy.region("11", "2025").await.unwrap();
    let expected = reference.counters(&CounterWindow { region: Some("11".into()), ..year_2025(true) }).await.unwrap();
    assert!(!served.cells.is_empty());
    for counters in &expected {
        let skill = counters.skill.as_deref().unwrap();
        let cell = cell(&served.cells, "11", skill);
        assert_eq!(cell.openings, counters.demand.openings, "openings of 11 × {skill}");
        assert_eq!(cell.enrolled, Some(counters.supply.enrolled), "enrolled of 11 × {skill}");
    }

    // A partner's own part of each cell, served from skills-model's copy.
    let mut partner = connect_client(&services.query_endpoint, PARTNER_TOKEN, Duration::from_secs(60)).await.unwrap();
    let served = partner.region("11", "2025").await.unwrap();
    let window = CounterWindow { region: Some("11".into()), ..year_2025(true) };
    let own = reference.partner_counters(&window, Some("gen-partner-11")).await.unwrap().unwrap();
    assert!(own.len() > 3, "the partner has learners in several skills of 11");
    for part in &own {
        let skill = part.counters.skill.as_deref().unwrap();
        let shown = cell(&served.cells, "11", skill).own.clone().expect("a partner token gets its own part");
        let expected = &part.counters;
        assert_eq!(
            (shown.learners, shown.enrolled, shown.certified, shown.openings),
            (
                expected.supply.learners,
                expected.supply.enrolled,
                expected.supply.certified_at_target,
                expected.demand.openings
            ),
            "own part of 11 × {skill}"
        );
    }

    // Freshness: a new posting, until the served openings move.
    let bus = KafkaBus::new(KafkaConfig {
        brokers: std::env::var("SKILLS_KAFKA_BROKERS").unwrap(),
        partitions: 3,
        ..Default::default()
    })
    .unwrap();
    let demand_topic = format!("{prefix}{}", topics::DEMAND);
    let mut samples = Vec::new();
    for n in 0..5u32 {
        let before = cell(&policy.region("11", "2025").await.unwrap().cells, "11", "3.4").openings;
        let event =
            common::demand(900_000 + n, "11", serde_json::json!({"skill": "3.4"}), 1, 0, "2025-06-15T00:00:00Z");
        let sent_at = Instant::now();
        bus.producer().send(&demand_topic, vec![common::as_json(&event)]).await.unwrap();
        let deadline = sent_at + Duration::from_secs(60);
        loop {
            let now = cell(&policy.region("11", "2025").await.unwrap().cells, "11", "3.4").openings;
            if now == before + 1 {
                break;
            }
            assert!(Instant::now() < deadline, "the new posting never showed (openings {now}, before {before})");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        samples.push(sent_at.elapsed().as_millis());
    }
    samples.sort();
    eprintln!("freshness (send → served), ms, 5 samples sorted: {samples:?}");

    // Every call above was counted under the conventional gRPC names, and
    // the served data's age is exported.
    let query_metrics = scrape(&format!("127.0.0.1:{}", metrics[2])).await;
    let region_calls = r#"grpc_server_handled_total{grpc_type="unary",grpc_service="skills.v1.TalentGapService",grpc_method="GetRegionIndicators",grpc_code="OK"}"#;
    assert!(metric(&query_metrics, region_calls) >= 10, "{query_metrics}");
    assert!(metric(&query_metrics, "skills_query_data_as_of_seconds") > 1_700_000_000, "{query_metrics}");

    // A clean stop: SIGTERM finishes the batch and exits 0.
    for (name, child) in
        [("ingest", &mut services.ingest), ("aggregator", &mut services.aggregator), ("model", &mut services.model)]
    {
        let status = Services::terminate(child);
        assert!(status.success(), "{name} exit status {status}");
    }
    drop(services);
    drop(clickhouse);
    let _ = std::fs::remove_dir_all(&dir);
}

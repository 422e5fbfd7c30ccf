//! The scenarios. Each runs on fresh topics and a fresh database: steady
//! synthetic load from `skills send` (the partner path), one fault in the
//! middle of it, then a probe event whose time to be counted is the
//! recovery time, the drain, and the audit.

use crate::audit::{self, CounterDiff, Reconciled};
use crate::common::processes::{Moments, PrivateInfra};
use crate::pipeline::Pipeline;
use rdkafka::producer::{FutureProducer, FutureRecord};
use skills_bus::kafka::{KafkaBus, KafkaConfig};
use skills_bus::{Bus, Message, topics};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// Synthetic learners start here: the range holds learner 999, after
/// which the data set plants its partner mistakes (invalid events).
const FIRST_LEARNER: usize = 500;
const SEED: u64 = 2027;
/// Raw events per synthetic learner, roughly, to size the burst by its
/// duration (the data set adds a fixed set of job postings to each send).
const EVENTS_PER_LEARNER: f64 = 4.7;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Learners of the steady load, sent at `rate` events/s.
    pub learners: usize,
    pub rate: u64,
    /// How long the broker or ClickHouse stays down; how long replicas stay.
    pub outage: Duration,
    /// Rounds of SIGKILL over the three services.
    pub kill_rounds: u32,
    /// How long the burst at ten times the rate lasts.
    pub burst: Duration,
    pub drain_timeout: Duration,
    /// The hostile-load scenario's phases and attacks.
    pub hostile: crate::hostile::Load,
}

impl Settings {
    pub fn full() -> Self {
        Settings {
            learners: 3_000,
            rate: 1_000,
            outage: Duration::from_secs(10),
            kill_rounds: 3,
            burst: Duration::from_secs(4),
            drain_timeout: Duration::from_secs(300),
            hostile: crate::hostile::Load {
                phase: Duration::from_secs(15),
                flood_rate: 2_000,
                watch_streams: 1_000,
                slow_sockets: 50,
            },
        }
    }

    /// The short suite of the README test command.
    pub fn quick() -> Self {
        Settings {
            learners: 600,
            rate: 500,
            outage: Duration::from_secs(5),
            kill_rounds: 2,
            burst: Duration::from_secs(2),
            drain_timeout: Duration::from_secs(180),
            hostile: crate::hostile::Load {
                phase: Duration::from_secs(12),
                flood_rate: 150,
                watch_streams: 300,
                slow_sockets: 20,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    BrokerRestart,
    ClickHouseRestart,
    KillEach,
    Burst,
    Poison,
    RepeatedBatch,
    Rebalance,
    Hostile,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::BrokerRestart,
        Fault::ClickHouseRestart,
        Fault::KillEach,
        Fault::Burst,
        Fault::Poison,
        Fault::RepeatedBatch,
        Fault::Rebalance,
        Fault::Hostile,
    ];

    /// Short name, for --only and directory names.
    pub fn name(self) -> &'static str {
        match self {
            Fault::BrokerRestart => "broker",
            Fault::ClickHouseRestart => "clickhouse",
            Fault::KillEach => "kill",
            Fault::Burst => "burst",
            Fault::Poison => "poison",
            Fault::RepeatedBatch => "repeat",
            Fault::Rebalance => "rebalance",
            Fault::Hostile => "hostile",
        }
    }

    pub fn title(self, settings: &Settings) -> String {
        let outage = settings.outage.as_secs();
        match self {
            Fault::BrokerRestart => format!("Kafka broker stopped {outage} s mid-stream, restarted"),
            Fault::ClickHouseRestart => format!("ClickHouse stopped {outage} s mid-stream, restarted"),
            Fault::KillEach => {
                format!(
                    "ingest, aggregator and query each SIGKILLed {} times under load, restarted",
                    settings.kill_rounds
                )
            }
            Fault::Burst => format!("burst of 10× the steady rate for {} s", settings.burst.as_secs()),
            Fault::Poison => "a poison message in every partition (3 raw topics, normalized topic)".into(),
            Fault::RepeatedBatch => "a partner sends the same batch 3 times".into(),
            Fault::Rebalance => format!("second ingest and aggregator join for {outage} s, then leave"),
            Fault::Hostile => format!(
                "hostile callers on skills-query: {} attack phases of {} s (RELIABILITY.md, hostile load)",
                5,
                settings.hostile.phase.as_secs()
            ),
        }
    }
}

/// What a scenario measured, and what went wrong if anything did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub fault: Fault,
    pub title: String,
    pub reconciled: Reconciled,
    pub expected_events: u64,
    pub counters: CounterDiff,
    pub lost: u64,
    pub recovery: Option<Duration>,
    pub drained_in: Option<Duration>,
    pub problems: Vec<String>,
    /// The hostile-load scenario's phases.
    pub hostile: Option<crate::hostile::HostileReport>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

struct Scenario<'a> {
    infra: &'a PrivateInfra,
    settings: &'a Settings,
    pipeline: Pipeline,
    /// Every message put on the raw topics, for the clean run.
    sent: Vec<(&'static str, Message)>,
    raw_poison: u64,
    normalized_poison: u64,
    probes: u32,
    sends: u32,
    problems: Vec<String>,
    /// What the fault actually was, where it can differ from the plan.
    note: Option<String>,
    moments: Moments,
    hostile: Option<crate::hostile::HostileReport>,
}

pub async fn run(fault: Fault, infra: &PrivateInfra, settings: &Settings, dir: &Path, seed: u64) -> Outcome {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let prefix = format!("fault{}x{}.", fault.name(), nanos % 1_000_000_007);
    let mut pipeline = Pipeline::start(infra, dir.join(fault.name()), prefix).await;
    if fault == Fault::Hostile {
        pipeline.start_model();
    }
    let mut scenario = Scenario {
        infra,
        settings,
        pipeline,
        sent: Vec::new(),
        raw_poison: 0,
        normalized_poison: 0,
        probes: 0,
        sends: 0,
        problems: Vec::new(),
        note: None,
        moments: Moments(seed | 1),
        hostile: None,
    };
    if let Err(error) = scenario.pipeline.healthy(Duration::from_secs(60)).await {
        scenario.problems.push(format!("not healthy at start: {error}"));
    }
    scenario.play(fault).await
}

impl Scenario<'_> {
    async fn play(mut self, fault: Fault) -> Outcome {
        let settings = self.settings;
        let started = Instant::now();
        let (steady, messages) = self.send(FIRST_LEARNER, settings.learners, settings.rate);
        let steady_time = Duration::from_secs_f64(messages as f64 / settings.rate as f64);
        let mut senders = vec![steady];
        match fault {
            Fault::BrokerRestart | Fault::ClickHouseRestart => {
                let component = if fault == Fault::BrokerRestart { "kafka" } else { "clickhouse" };
                sleep_until(started + steady_time / 3).await;
                self.infra.infra("down", component);
                tokio::time::sleep(settings.outage).await;
                self.infra.infra("up", component);
            }
            Fault::KillEach => {
                for _ in 0..settings.kill_rounds {
                    for label in ["ingest", "aggregator", "query"] {
                        tokio::time::sleep(Duration::from_millis(self.moments.next_ms(300, 1_500))).await;
                        self.pipeline.kill(label);
                        tokio::time::sleep(Duration::from_millis(self.moments.next_ms(1, 400))).await;
                        self.pipeline.restart(label);
                    }
                }
            }
            Fault::Burst => {
                sleep_until(started + steady_time / 3).await;
                let rate = settings.rate * 10;
                let postings = skills_synthetic::synthetic_range(0..0, SEED).messages.len() as f64;
                let events = settings.burst.as_secs_f64() * rate as f64;
                let learners = ((events - postings) / EVENTS_PER_LEARNER).max(100.0) as usize;
                let burst_started = Instant::now();
                let (burst, messages) = self.send(FIRST_LEARNER + settings.learners, learners, rate);
                self.finish(burst);
                let seconds = burst_started.elapsed().as_secs_f64();
                self.note = Some(format!("{messages} events in {seconds:.1} s, {:.0}/s", messages as f64 / seconds));
            }
            Fault::Poison => {
                sleep_until(started + steady_time / 3).await;
                if let Err(error) = self.poison_every_partition().await {
                    self.problems.push(format!("could not send the poison: {error}"));
                }
            }
            Fault::RepeatedBatch => {
                for _ in 0..2 {
                    let first = senders.pop().unwrap();
                    self.finish(first);
                    senders.push(self.send(FIRST_LEARNER, settings.learners, settings.rate).0);
                }
            }
            Fault::Hostile => {
                // On a quiet pipeline, so that every phase has the same
                // background: the steady load first, then the attacks.
                let steady = senders.pop().unwrap();
                self.finish(steady);
                self.probe().await;
                let pid = self.pipeline.pid("query");
                let endpoint = self.pipeline.query_endpoint.clone();
                let report =
                    crate::hostile::run(&endpoint, crate::pipeline::POLICY_TOKEN, pid, &settings.hostile).await;
                self.problems.extend(report.problems.iter().cloned());
                self.hostile = Some(report);
            }
            Fault::Rebalance => {
                sleep_until(started + steady_time / 4).await;
                let replicas = [self.pipeline.start_replica("ingest"), self.pipeline.start_replica("aggregator")];
                tokio::time::sleep(settings.outage).await;
                for label in replicas {
                    let status = self.pipeline.terminate(&label);
                    if !status.success() {
                        self.problems.push(format!("{label} left with {status}"));
                    }
                }
            }
        }
        // The fault is over: how long until an event sent now is counted.
        let recovery = self.probe().await;
        for sender in senders {
            self.finish(sender);
        }
        self.audit(fault, recovery).await
    }

    /// Starts `skills send` and records what it sends; the sender and
    /// the number of messages.
    fn send(&mut self, first: usize, learners: usize, rate: u64) -> (Child, usize) {
        self.sends += 1;
        let set = skills_synthetic::synthetic_range(first..first + learners, SEED);
        let messages = set.messages.len();
        self.sent.extend(set.messages);
        (self.pipeline.send(first, learners, SEED, rate, &format!("send-{}.log", self.sends)), messages)
    }

    /// Waits for a sender; a failed send is a problem of the scenario.
    fn finish(&mut self, mut sender: Child) {
        let status = sender.wait().unwrap();
        if !status.success() {
            self.problems.push(format!("skills send exited with {status} (see its log)"));
        }
    }

    /// A labour-demand event of its own, sent now; the time until it is counted.
    async fn probe(&mut self) -> Option<Duration> {
        self.probes += 1;
        let event = crate::common::demand(
            700_000 + self.probes,
            "84",
            serde_json::json!({"skill": "3.4"}),
            1,
            0,
            "2025-06-15T00:00:00Z",
        );
        let message = crate::common::as_json(&event);
        let id = crate::common::id(700_000 + self.probes);
        self.sent.push((topics::DEMAND, message.clone()));
        let sent_at = Instant::now();
        let topic = format!("{}{}", self.pipeline.prefix, topics::DEMAND);
        let config = KafkaConfig { brokers: self.pipeline.brokers.clone(), partitions: 3, ..Default::default() };
        let sent = match KafkaBus::new(config) {
            Ok(bus) => bus.producer().send(&topic, vec![message]).await,
            Err(error) => Err(error),
        };
        if let Err(error) = sent {
            self.problems.push(format!("probe not sent: {error}"));
            return None;
        }
        while !self.pipeline.is_counted(&id).await {
            if sent_at.elapsed() > self.settings.drain_timeout {
                self.problems.push("the probe event sent after the fault was never counted".into());
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(sent_at.elapsed())
    }

    /// Undecodable, truncated, empty, oversized and mislabelled messages,
    /// one to each partition of each raw topic and of the normalized topic.
    async fn poison_every_partition(&mut self) -> Result<(), String> {
        let producer: FutureProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &self.pipeline.brokers)
            .create()
            .map_err(|e| e.to_string())?;
        let payloads: [(&str, Vec<u8>); 6] = [
            ("application/x-protobuf", vec![0xff, 0xfe, 0x07, 0x00, 0x9a]),
            (
                "application/json",
                br#"{"event_id": "truncated", "enrolment": {"learner_id": "learner-9999999""#.to_vec(),
            ),
            ("application/json", Vec::new()),
            ("application/json", format!(r#"{{"event_id":"{}"}}"#, "x".repeat(256 * 1024)).into_bytes()),
            ("text/plain", b"learner-9999999,enrolled,2025-01-01".to_vec()),
            ("application/json", br#"{"event_id": 7, "labour_demand": [1, 2, 3]}"#.to_vec()),
        ];
        let raw = [topics::ENROLMENTS, topics::ASSESSMENTS, topics::DEMAND];
        let mut n = 0;
        for topic in raw.iter().chain([&topics::NORMALIZED]) {
            let name = format!("{}{topic}", self.pipeline.prefix);
            for partition in 0..3 {
                let (content_type, payload) = &payloads[n % payloads.len()];
                n += 1;
                let headers = rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
                    key: skills_bus::headers::CONTENT_TYPE,
                    value: Some(content_type.as_bytes()),
                });
                let record = FutureRecord::<(), _>::to(&name).partition(partition).payload(payload).headers(headers);
                producer.send(record, Duration::from_secs(30)).await.map_err(|(e, _)| e.to_string())?;
                if *topic == topics::NORMALIZED {
                    self.normalized_poison += 1;
                } else {
                    self.raw_poison += 1;
                    self.sent.push((topic, Message::new(payload.clone())));
                }
            }
        }
        Ok(())
    }

    async fn audit(mut self, fault: Fault, recovery: Option<Duration>) -> Outcome {
        let expected = audit::expected(&self.sent).await;
        let store = self.pipeline.store().await;
        let letters = expected.rejected + self.normalized_poison;
        let drained = audit::drain(&store, expected.distinct_events, letters, self.settings.drain_timeout).await;
        let drained_in = drained.map_err(|error| self.problems.push(error)).ok();
        let reconciled = audit::reconcile(&self.pipeline).unwrap_or_else(|error| {
            self.problems.push(error);
            Reconciled::default()
        });
        let counters = audit::compare_counters(&store, &expected).await.unwrap_or_else(|error| {
            self.problems.push(format!("counters: {error}"));
            CounterDiff::default()
        });
        let lost = reconciled.missing + expected.distinct_events.saturating_sub(reconciled.counted);
        let r = &reconciled;
        if r.missing > 0 {
            self.problems.push(format!("{} raw events neither counted nor dead-lettered", r.missing));
        }
        if r.counted != expected.distinct_events {
            self.problems
                .push(format!("counted {} distinct events, the clean run {}", r.counted, expected.distinct_events));
        }
        if r.dead_lettered < expected.rejected {
            self.problems.push(format!("dead-lettered {}, at least {} expected", r.dead_lettered, expected.rejected));
        }
        if r.raw != r.counted + r.duplicates + r.dead_lettered + r.missing {
            self.problems.push(format!("reconcile does not add up: {r:?}"));
        }
        if counters.cells_differing > 0 {
            self.problems
                .push(format!("{} counter cells differ from the clean run: {counters:?}", counters.cells_differing));
        }
        if let Err(error) = self.pipeline.healthy(Duration::from_secs(30)).await {
            self.problems.push(format!("not healthy after the fault: {error}"));
        }
        for label in self.pipeline.stop() {
            self.problems.push(format!("{label} did not stop cleanly on SIGTERM"));
        }
        Outcome {
            fault,
            title: match &self.note {
                Some(note) => format!("{} ({note})", fault.title(self.settings)),
                None => fault.title(self.settings),
            },
            expected_events: expected.distinct_events,
            reconciled,
            counters,
            lost,
            recovery,
            drained_in,
            problems: self.problems,
            hostile: self.hostile,
        }
    }
}

async fn sleep_until(moment: Instant) {
    tokio::time::sleep_until(moment.into()).await;
}

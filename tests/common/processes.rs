//! Running the product as separate processes, as it runs at scale: the
//! built service binaries, a configuration file for them, private Kafka
//! and ClickHouse servers (deploy/infra.sh with a run directory and ports
//! of their own, so stopping them disturbs nothing else), and the clean
//! run that says what the counters must be.

use skills_bus::{Message, headers, topics};
use skills_domain::Period;
use skills_domain::events::{ContentType, IngestPolicy, normalize};
use skills_domain::facts::facts_of;
use skills_domain::pseudonym::{Pseudonymiser, SecretKey};
use skills_store::{Batch, CounterWindow, EmbeddedStore, MetricsStore};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A built binary of the workspace: beside the running executable (a
/// binary) or one level up (a test, which lives in deps/).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    let dir = exe.parent().expect("target dir");
    [dir.join(name), dir.parent().expect("target dir").join(name)]
        .into_iter()
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{name} is not built; run `cargo build --workspace --bins` (deploy/test.sh does)"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Kafka and ClickHouse servers of one test run only, through deploy/infra.sh.
pub struct PrivateInfra {
    pub run_dir: PathBuf,
    pub kafka_port: u16,
    pub kafka_controller_port: u16,
    pub kafka_sasl_port: u16,
    pub clickhouse_http_port: u16,
    pub clickhouse_tcp_port: u16,
}

impl PrivateInfra {
    pub fn new(run_dir: PathBuf) -> Self {
        PrivateInfra {
            run_dir,
            kafka_port: free_port(),
            kafka_controller_port: free_port(),
            kafka_sasl_port: free_port(),
            clickhouse_http_port: free_port(),
            clickhouse_tcp_port: free_port(),
        }
    }

    /// `deploy/infra.sh <action> <component>`; panics when it fails.
    pub fn infra(&self, action: &str, component: &str) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/infra.sh");
        let status = Command::new(script)
            .args([action, component])
            .env("SKILLS_RUN_DIR", &self.run_dir)
            .env("SKILLS_KAFKA_PORT", self.kafka_port.to_string())
            .env("SKILLS_KAFKA_CONTROLLER_PORT", self.kafka_controller_port.to_string())
            .env("SKILLS_KAFKA_SASL_PORT", self.kafka_sasl_port.to_string())
            .env("SKILLS_CLICKHOUSE_HTTP_PORT", self.clickhouse_http_port.to_string())
            .env("SKILLS_CLICKHOUSE_TCP_PORT", self.clickhouse_tcp_port.to_string())
            .stdout(Stdio::null())
            .status()
            .expect("deploy/infra.sh runs");
        assert!(status.success(), "infra.sh {action} {component} failed");
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.kafka_port)
    }

    pub fn clickhouse_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.clickhouse_http_port)
    }
}

impl Drop for PrivateInfra {
    fn drop(&mut self) {
        self.infra("down", "all");
    }
}

/// Where the services of one run listen and keep their data.
pub struct ServiceConfig<'a> {
    pub dir: &'a Path,
    pub prefix: &'a str,
    pub brokers: &'a str,
    pub clickhouse_url: &'a str,
    pub query_port: u16,
    pub ingest_metrics: u16,
    pub aggregator_metrics: u16,
    pub query_metrics: u16,
    pub policy_token: &'a str,
}

impl ServiceConfig<'_> {
    /// The database of the run, named after its topic prefix.
    pub fn database(&self) -> String {
        self.prefix.trim_end_matches('.').to_string()
    }

    /// Writes skills.toml (and the token file) into `dir`; returns its path.
    pub fn write(&self) -> PathBuf {
        let dir = self.dir;
        std::fs::write(dir.join("tokens"), format!("policy {}\n", self.policy_token)).unwrap();
        let config = format!(
            r#"data_dir = "{dir}"

[bus]
kind = "kafka"

[bus.kafka]
brokers = "{brokers}"
partitions = 3
# Static membership: a restarted process gets its partitions back at once.
instance_id = "{prefix}replica-1"

[ingest]
group_id = "{prefix}ingest"
raw_topics = ["{prefix}{enrolments}", "{prefix}{assessments}", "{prefix}{demand}"]
normalized_topic = "{prefix}{normalized}"
dead_letter_topic = "{prefix}{dlq}"

[aggregator]
group_id = "{prefix}aggregator"
normalized_topic = "{prefix}{normalized}"
dead_letter_topic = "{prefix}{dlq}"

[model]
group_id = "{prefix}model"
normalized_topic = "{prefix}{normalized}"
state_path = "{dir}/model-state.db"

[query]
listen = "127.0.0.1:{query_port}"
tokens_file = "{dir}/tokens"

[store]
kind = "clickhouse"

[store.clickhouse]
url = "{clickhouse}"
database = "{database}"

[metrics]
ingest_listen = "127.0.0.1:{ingest_metrics}"
aggregator_listen = "127.0.0.1:{aggregator_metrics}"
model_listen = ""
query_listen = "127.0.0.1:{query_metrics}"

[pseudonymisation]
key_file = "{dir}/pseudonym.key"
generate_if_missing = true
"#,
            dir = dir.display(),
            brokers = self.brokers,
            prefix = self.prefix,
            enrolments = topics::ENROLMENTS,
            assessments = topics::ASSESSMENTS,
            demand = topics::DEMAND,
            normalized = topics::NORMALIZED,
            dlq = topics::DEAD_LETTERS,
            query_port = self.query_port,
            clickhouse = self.clickhouse_url,
            database = self.database(),
            ingest_metrics = self.ingest_metrics,
            aggregator_metrics = self.aggregator_metrics,
            query_metrics = self.query_metrics,
        );
        let path = dir.join("skills.toml");
        std::fs::write(&path, config).unwrap();
        path
    }
}

/// One clean run of the same messages: the domain's own normalization and
/// facts, straight into the embedded store. Returns the store and the
/// number of messages it rejected.
pub async fn clean_run(messages: &[(&'static str, Message)]) -> (EmbeddedStore, u64) {
    let store = EmbeddedStore::in_memory().unwrap();
    let pseudonymiser = Pseudonymiser::single(SecretKey::from_bytes(vec![5; 32]).unwrap(), 1);
    let now = chrono::Utc::now();
    let mut events = Vec::new();
    let mut rejected = 0;
    for (_, message) in messages {
        let content_type = message
            .header(headers::CONTENT_TYPE)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(ContentType::from_header);
        match normalize(&message.payload, content_type, &IngestPolicy::default(), &pseudonymiser, now) {
            Ok(event) => events.push(facts_of(&event).unwrap()),
            Err(_) => rejected += 1,
        }
    }
    store.apply(Batch { events, ..Default::default() }).await.unwrap();
    (store, rejected)
}

/// The counter windows compared against a clean run: two years, with and
/// without the horizon, and the quarters of 2025.
pub fn windows() -> Vec<CounterWindow> {
    // Built here rather than from skills_store's test fixtures, so the
    // fault-suite binary builds the store with the features every other
    // binary has (one release build serves all the scripts).
    let window = |period, by_skill| CounterWindow::of_period(period, 6, by_skill);
    let mut windows =
        vec![window(Period::Year(2025), true), window(Period::Year(2025), false), window(Period::Year(2024), true)];
    windows.extend((1..=4).map(|quarter| window(Period::Quarter(2025, quarter), true)));
    windows
}

/// A tiny xorshift, seeded from the clock and printed, for fault moments.
pub struct Moments(pub u64);

impl Moments {
    pub fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

/// `GET path` on a service's metrics listener; None when it does not answer.
pub async fn http_get(address: &str, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let connect = tokio::net::TcpStream::connect(address);
    let mut stream = tokio::time::timeout(Duration::from_secs(2), connect).await.ok()?.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_string(&mut response)).await.ok()?.ok()?;
    response.starts_with("HTTP/1.1 200").then_some(response)
}

pub async fn scrape(address: &str) -> String {
    http_get(address, "/metrics").await.unwrap_or_else(|| panic!("no metrics from {address}"))
}

/// A counter's value in Prometheus text.
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} not in {text}"))
}

/// A client of skills-query, once it answers (within `patience`).
pub async fn connect_client(endpoint: &str, token: &str, patience: Duration) -> Result<skills::client::Client, String> {
    let deadline = Instant::now() + patience;
    loop {
        match skills::client::Client::connect(endpoint, Some(token.into())).await {
            Ok(client) => return Ok(client),
            Err(error) if Instant::now() >= deadline => return Err(format!("skills-query does not answer: {error}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

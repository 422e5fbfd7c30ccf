//! One scenario's pipeline: skills-ingest, skills-aggregator and
//! skills-query as separate processes on the private broker and server,
//! with their own topics (a prefix) and database, logs in the scenario's
//! directory. The suite plays the supervisor: it restarts what it kills.

use crate::common::processes::{PrivateInfra, ServiceConfig, binary, connect_client, free_port, http_get};
use skills_store::{ClickHouseConfig, ClickHouseStore};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const POLICY_TOKEN: &str = "fault-suite-policy-token-3f9c";

/// A service process: which binary, under which label, how many starts.
struct Instance {
    binary: &'static str,
    env: Vec<(String, String)>,
    metrics: Option<String>,
    child: Child,
    starts: u32,
}

pub struct Pipeline {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub prefix: String,
    pub database: String,
    pub clickhouse_url: String,
    pub brokers: String,
    pub query_endpoint: String,
    /// For the probe's lookups, polled every 100 ms.
    clickhouse: clickhouse::Client,
    instances: BTreeMap<String, Instance>,
}

impl Pipeline {
    /// Writes the configuration and starts the three services.
    pub async fn start(infra: &PrivateInfra, dir: PathBuf, prefix: String) -> Pipeline {
        std::fs::create_dir_all(&dir).unwrap();
        let (query_port, ingest_metrics, aggregator_metrics) = (free_port(), free_port(), free_port());
        let service_config = ServiceConfig {
            dir: &dir,
            prefix: &prefix,
            brokers: &infra.brokers(),
            clickhouse_url: &infra.clickhouse_url(),
            query_port,
            ingest_metrics,
            aggregator_metrics,
            query_metrics: free_port(),
            policy_token: POLICY_TOKEN,
        };
        let config = service_config.write();
        // A dashboard's token beside the policy one (the hostile scenario).
        let tokens = dir.join("tokens");
        let mut scopes = std::fs::read_to_string(&tokens).unwrap();
        scopes.push_str(&format!("public {}\n", crate::hostile::DASHBOARD_TOKEN));
        std::fs::write(&tokens, scopes).unwrap();
        let database = service_config.database();
        // Row validation off: ClickHouse 18.16 lacks the format it needs.
        let clickhouse = clickhouse::Client::default()
            .with_url(infra.clickhouse_url())
            .with_database(&database)
            .with_validation(false);
        let mut pipeline = Pipeline {
            database,
            clickhouse,
            dir,
            config,
            prefix: prefix.clone(),
            clickhouse_url: infra.clickhouse_url(),
            brokers: infra.brokers(),
            query_endpoint: format!("http://127.0.0.1:{query_port}"),
            instances: BTreeMap::new(),
        };
        pipeline.launch("ingest", "skills-ingest", Vec::new(), Some(format!("127.0.0.1:{ingest_metrics}")));
        pipeline.launch("aggregator", "skills-aggregator", Vec::new(), Some(format!("127.0.0.1:{aggregator_metrics}")));
        pipeline.launch("query", "skills-query", Vec::new(), None);
        pipeline
    }

    fn spawn(&self, label: &str, binary_name: &str, env: &[(String, String)], starts: u32) -> Child {
        let log = std::fs::File::create(self.dir.join(format!("{label}-{starts}.log"))).unwrap();
        isolated(binary_name)
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "info,skills_ingest=debug,skills_aggregator=debug,skills_query=debug")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary_name}: {e}"))
    }

    fn launch(&mut self, label: &str, binary_name: &'static str, env: Vec<(String, String)>, metrics: Option<String>) {
        let child = self.spawn(label, binary_name, &env, 1);
        self.instances.insert(label.to_string(), Instance { binary: binary_name, env, metrics, child, starts: 1 });
    }

    /// skills-model, which keeps the read model's copy in ClickHouse that
    /// skills-query reads (the production topology on ClickHouse; the
    /// other scenarios read counters from the facts).
    pub fn start_model(&mut self) {
        self.launch("model", "skills-model", Vec::new(), None);
    }

    /// A second instance of ingest or aggregator: same group, its own
    /// static member id and metrics port.
    pub fn start_replica(&mut self, service: &str) -> String {
        let label = format!("{service}-2");
        let metrics = format!("127.0.0.1:{}", free_port());
        let env = vec![
            ("SKILLS__BUS__KAFKA__INSTANCE_ID".to_string(), format!("{}replica-2", self.prefix)),
            (format!("SKILLS__METRICS__{}_LISTEN", service.to_uppercase()), metrics.clone()),
        ];
        let binary_name = if service == "ingest" { "skills-ingest" } else { "skills-aggregator" };
        self.launch(&label, binary_name, env, Some(metrics));
        label
    }

    /// The process id of a running service.
    pub fn pid(&self, label: &str) -> u32 {
        self.instances[label].child.id()
    }

    /// SIGKILL, then wait for the process to go.
    pub fn kill(&mut self, label: &str) {
        let instance = self.instances.get_mut(label).expect("known service");
        let _ = instance.child.kill();
        let _ = instance.child.wait();
    }

    pub fn restart(&mut self, label: &str) {
        let instance = self.instances.get(label).expect("known service");
        let starts = instance.starts + 1;
        let child = self.spawn(label, instance.binary, &instance.env, starts);
        let instance = self.instances.get_mut(label).unwrap();
        instance.child = child;
        instance.starts = starts;
    }

    /// SIGTERM and the exit status (SIGKILL after 30 s); the instance is forgotten.
    pub fn terminate(&mut self, label: &str) -> ExitStatus {
        let mut instance = self.instances.remove(label).expect("known service");
        terminate(&mut instance.child)
    }

    /// Every service still running, its metrics endpoint answering
    /// /healthz, and skills-query serving the pipeline status (which reads
    /// the store). Waits up to `patience` for the last of them.
    pub async fn healthy(&mut self, patience: Duration) -> Result<(), String> {
        let deadline = Instant::now() + patience;
        for (label, instance) in &mut self.instances {
            if let Some(status) = instance.child.try_wait().unwrap() {
                return Err(format!("{label} exited by itself: {status}"));
            }
            if let Some(address) = &instance.metrics {
                while http_get(address, "/healthz").await.is_none() {
                    if Instant::now() > deadline {
                        return Err(format!("{label} does not answer /healthz on {address}"));
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut client = connect_client(&self.query_endpoint, POLICY_TOKEN, left).await?;
            match client.pipeline_status().await {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() > deadline => return Err(format!("query status: {error}")),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    pub fn skills(&self, args: &[&str]) -> Command {
        let mut command = isolated("skills");
        command.arg("--config").arg(&self.config).args(args);
        command
    }

    /// `skills send` of synthetic learners [first, first + learners) at
    /// `rate` events/s (0: as fast as it goes), logged under `log`.
    pub fn send(&self, first: usize, learners: usize, seed: u64, rate: u64, log: &str) -> Child {
        let log = std::fs::File::create(self.dir.join(log)).unwrap();
        let [first, learners, seed, rate] = [first, learners, seed as usize, rate as usize].map(|n| n.to_string());
        self.skills(&["send", "--synthetic", "--first-learner", &first, "--learners", &learners])
            .args(["--seed", &seed, "--rate", &rate, "--topic-prefix", &self.prefix])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    pub async fn store(&self) -> ClickHouseStore {
        let config = ClickHouseConfig {
            url: self.clickhouse_url.clone(),
            database: self.database.clone(),
            ..Default::default()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match ClickHouseStore::connect(&config).await {
                Ok(store) => return store,
                Err(error) => assert!(Instant::now() < deadline, "ClickHouse store: {error}"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Whether an event id is among the counted events.
    pub async fn is_counted(&self, event_id: &str) -> bool {
        let query = self.clickhouse.query("SELECT count() FROM applied_events WHERE event_id = ?").bind(event_id);
        matches!(query.fetch_one::<u64>().await, Ok(n) if n > 0)
    }

    /// Stops every service with SIGTERM; the labels of those that did not exit 0.
    pub fn stop(&mut self) -> Vec<String> {
        let labels: Vec<String> = self.instances.keys().cloned().collect();
        labels.into_iter().filter(|label| !self.terminate(label).success()).collect()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        for instance in self.instances.values_mut() {
            let _ = instance.child.kill();
            let _ = instance.child.wait();
        }
    }
}

/// A command of a workspace binary that sees none of the caller's SKILLS_*
/// variables: the test command exports SKILLS_KAFKA_BROKERS for the shared
/// broker, which `skills send` and `skills reconcile` would otherwise take
/// over the configuration's private one.
fn isolated(binary_name: &str) -> Command {
    let mut command = Command::new(binary(binary_name));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SKILLS_") {
            command.env_remove(name);
        }
    }
    command
}

/// SIGTERM, then the exit status; SIGKILL if it is still there after 30 s.
pub fn terminate(child: &mut Child) -> ExitStatus {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).stderr(Stdio::null()).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every log file under `dir`, recursively.
pub fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(log_files(&path));
        } else if path.extension().is_some_and(|e| e == "log") {
            files.push(path);
        }
    }
    files
}

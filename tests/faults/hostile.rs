//! The hostile-load scenario: attacks on skills-query over loopback, each
//! bounded in time and load, while a policy caller polls
//! GetPipelineStatus and a dashboard polls a cached period. Each attack's
//! effect on those two is their p99 latency against an idle phase just
//! before the attacks, and their errors; the service's memory is read
//! before and after. The legitimate callers run on a runtime of their own,
//! so the attackers' tasks do not delay them inside this process.

use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_client::TalentGapServiceClient;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

/// The dashboard's token (scope public), written into the pipeline's token file.
pub const DASHBOARD_TOKEN: &str = "fault-suite-dashboard-token-81d2";
/// Attacks may slow a legitimate caller's p99 to at most this many times idle.
const MAX_SLOWDOWN: f64 = 2.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    Idle,
    IdleAfter,
    MissFlood,
    WatchFlood,
    SlowClients,
    Garbage,
    AllAtOnce,
}

impl Attack {
    const PHASES: [Attack; 7] = [
        Attack::Idle,
        Attack::MissFlood,
        Attack::WatchFlood,
        Attack::SlowClients,
        Attack::Garbage,
        Attack::AllAtOnce,
        Attack::IdleAfter,
    ];

    /// Whether this phase runs `attack` (alone, or with all the others).
    fn runs(self, attack: Attack) -> bool {
        self == attack || self == Attack::AllAtOnce
    }

    fn title(self) -> &'static str {
        match self {
            Attack::Idle => "none (idle, before the attacks)",
            Attack::IdleAfter => "none (idle, after the attacks)",
            Attack::MissFlood => "anonymous flood of cache misses",
            Attack::WatchFlood => "flood of watch streams",
            Attack::SlowClients => "slow clients (HTTP/1.1 headers and body a byte at a time, silent sockets)",
            Attack::Garbage => "oversized messages, undecodable requests, garbage bytes",
            Attack::AllAtOnce => "all four at once",
        }
    }
}

/// Latencies of one legitimate caller in one phase.
#[derive(Debug, Default, Clone)]
struct Latencies {
    samples: Vec<Duration>,
    errors: u64,
}

impl Latencies {
    fn p99(&self) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        sorted.get((sorted.len() * 99).div_ceil(100).saturating_sub(1)).copied().unwrap_or_default()
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct PhaseRow {
    pub attack: String,
    pub load: String,
    pub status_p99: Duration,
    pub cached_p99: Duration,
    pub legit_calls: usize,
    pub legit_errors: u64,
    pub rss_kib: (u64, u64),
    /// skills-query's CPU, the fault suite's own (attackers and legitimate
    /// callers) and the machine's, in cores over the phase.
    pub query_cores: f64,
    pub harness_cores: f64,
    pub machine_cores: f64,
}

#[derive(Debug, Clone, Default)]
pub struct HostileReport {
    pub rows: Vec<PhaseRow>,
    pub problems: Vec<String>,
}

/// CPU seconds a process has used (user and system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) start after ") ".
    let fields: Vec<&str> = stat.rsplit_once(") ").map_or(Vec::new(), |(_, rest)| rest.split(' ').collect());
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Busy CPU seconds of the whole machine, all cores.
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    let values: Vec<f64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let idle = values.get(3).copied().unwrap_or(0.0) + values.get(4).copied().unwrap_or(0.0);
    (values.iter().sum::<f64>() - idle) / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn with_token<T>(body: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request.set_timeout(Duration::from_secs(10));
    request
}

async fn channel(endpoint: &str) -> Channel {
    Endpoint::from_shared(endpoint.to_string()).unwrap().connect().await.expect("skills-query answers")
}

/// The legitimate callers, on a thread and runtime of their own, until
/// `stop`: a policy caller every 50 ms, a dashboard every 10 ms.
fn legitimate(
    endpoint: String,
    policy_token: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<[Latencies; 2]> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let mut policy = TalentGapServiceClient::new(channel(&endpoint).await);
            let mut dashboard = TalentGapServiceClient::new(channel(&endpoint).await);
            let read = || pb::GetRegionIndicatorsRequest { region: "84".into(), period: "2025".into() };
            let _ = dashboard.get_region_indicators(with_token(read(), Some(DASHBOARD_TOKEN))).await;
            let (mut status, mut cached) = (Latencies::default(), Latencies::default());
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                n += 1;
                let started = Instant::now();
                let answer = dashboard.get_region_indicators(with_token(read(), Some(DASHBOARD_TOKEN))).await;
                record(&mut cached, started, answer.is_ok());
                if n.is_multiple_of(5) {
                    let started = Instant::now();
                    let request = with_token(pb::GetPipelineStatusRequest {}, Some(&policy_token));
                    let answer = policy.get_pipeline_status(request).await;
                    record(&mut status, started, answer.is_ok());
                }
            }
            [status, cached]
        })
    })
}

fn record(latencies: &mut Latencies, started: Instant, ok: bool) {
    if ok {
        latencies.samples.push(started.elapsed());
    } else {
        latencies.errors += 1;
    }
}

/// Counts of what the attackers got back.
#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    served: AtomicU64,
    refused: AtomicU64,
    other: AtomicU64,
    closed_by_server: AtomicU64,
}

impl Tally {
    fn count(&self, outcome: Result<(), Code>) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let counter = match outcome {
            Ok(()) => &self.served,
            Err(Code::ResourceExhausted) => &self.refused,
            Err(_) => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Anonymous callers over 4 connections asking, at `rate` calls/s in all,
/// for periods spread over every year the service accepts: most have no
/// data, some are cold months of years with data.
async fn miss_flood(endpoint: &str, rate: u64, until: Instant, tally: &Tally) {
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(TalentGapServiceClient::new(channel(endpoint).await));
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate as u32);
    let mut n: u64 = 0;
    let mut pending = tokio::task::JoinSet::new();
    while Instant::now() < until {
        tick.tick().await;
        n += 1;
        let year = 2015 + (n * 7919 % 86);
        let period = match n % 3 {
            0 => format!("{year}"),
            1 => format!("{year}-{:02}", 1 + n % 12),
            _ => format!("{}-{:02}", 2024 + n % 3, 1 + n % 12),
        };
        let region = ["11", "84", "93", "53", "32"][(n % 5) as usize];
        let mut client = clients[(n % 4) as usize].clone();
        let request = with_token(pb::GetRegionIndicatorsRequest { region: region.into(), period }, None);
        pending.spawn(async move { client.get_region_indicators(request).await.map(drop).map_err(|s| s.code()) });
        while let Some(done) = pending.try_join_next() {
            tally.count(done.unwrap());
        }
    }
    while let Some(done) = pending.join_next().await {
        tally.count(done.unwrap());
    }
}

/// `streams` anonymous watch streams opened as fast as answers come, over
/// 8 connections; accepted ones are held open until `until`.
async fn watch_flood(endpoint: &str, streams: u64, until: Instant, tally: &Tally) {
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(TalentGapServiceClient::new(channel(endpoint).await));
    }
    let mut held = Vec::new();
    for n in 0..streams {
        let mut client = clients[(n % 8) as usize].clone();
        let request = with_token(pb::WatchIndicatorsRequest { region: "11".into(), period: "2025".into() }, None);
        match client.watch_indicators(request).await {
            Ok(stream) => {
                tally.count(Ok(()));
                held.push(stream.into_inner());
            }
            Err(status) => tally.count(Err(status.code())),
        }
    }
    tokio::time::sleep_until(until.into()).await;
    drop(held);
}

/// Slow and silent sockets: HTTP/1.1 headers a byte every 500 ms, a
/// complete head then a body a byte every 500 ms, and sockets that say
/// nothing; `each` of every kind. Counts those the server closed.
async fn slow_clients(address: &str, each: usize, until: Instant, tally: &Tally) {
    let head = "POST /skills.v1.TalentGapService/GetReferenceData HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc-web+proto\r\nx-slow: ";
    let body_head = "POST /skills.v1.TalentGapService/GetReferenceData HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: 1000\r\n\r\n";
    let mut tasks = tokio::task::JoinSet::new();
    for kind in 0..3 {
        for _ in 0..each {
            let address = address.to_string();
            tasks.spawn(async move {
                let Ok(mut socket) = TcpStream::connect(&address).await else { return true };
                let prefix: &[u8] = match kind {
                    0 => head.as_bytes(),
                    1 => body_head.as_bytes(),
                    _ => b"",
                };
                if socket.write_all(prefix).await.is_err() {
                    return true;
                }
                let mut buf = [0u8; 1024];
                while Instant::now() < until {
                    if kind < 2 && socket.write_all(b"a").await.is_err() {
                        return true;
                    }
                    match tokio::time::timeout(Duration::from_millis(500), socket.read(&mut buf)).await {
                        Ok(Ok(0)) | Ok(Err(_)) => return true,
                        Ok(Ok(_)) => {} // a response: the server ended the call, maybe not the socket
                        Err(_) => {}
                    }
                }
                false
            });
        }
    }
    while let Some(closed) = tasks.join_next().await {
        tally.sent.fetch_add(1, Ordering::Relaxed);
        if closed.unwrap_or(false) {
            tally.closed_by_server.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// GetRegionIndicatorsRequest's fields with the wrong types.
#[derive(Clone, PartialEq, prost::Message)]
struct Undecodable {
    #[prost(bytes = "vec", tag = "1")]
    region: Vec<u8>,
    #[prost(uint64, tag = "2")]
    period: u64,
}

/// Until `until`: requests over the size limit, requests that do not
/// decode, and connections that send random bytes. The oversized request
/// is 4× the pipeline's 64 KiB limit: the server refuses it from its
/// length prefix, so a larger one costs it nothing more, only the
/// attacker (the service's own tests send 1 MB).
async fn garbage(endpoint: &str, address: &str, until: Instant, tally: &Tally) {
    let huge = "9".repeat(256 << 10);
    let mut client = TalentGapServiceClient::new(channel(endpoint).await);
    let mut grpc = tonic::client::Grpc::new(channel(endpoint).await);
    let path =
        || tonic::codegen::http::uri::PathAndQuery::from_static("/skills.v1.TalentGapService/GetRegionIndicators");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut n = 0u64;
    while Instant::now() < until {
        n += 1;
        match n % 3 {
            0 => {
                let region = huge.clone();
                let request = with_token(pb::GetRegionIndicatorsRequest { region, period: "2025".into() }, None);
                tally.count(client.get_region_indicators(request).await.map(drop).map_err(|s| s.code()));
            }
            1 => {
                let body = Undecodable { region: vec![0xff, 0xfe, 0xfd], period: n };
                let codec = tonic_prost::ProstCodec::<Undecodable, pb::GetRegionIndicatorsResponse>::default();
                let answer = match grpc.ready().await {
                    Ok(()) => {
                        grpc.unary(tonic::Request::new(body), path(), codec).await.map(drop).map_err(|s| s.code())
                    }
                    Err(_) => Err(Code::Unavailable),
                };
                tally.count(answer);
            }
            _ => {
                let mut bytes = vec![0u8; 16 * 1024];
                for byte in bytes.iter_mut() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    *byte = seed as u8;
                }
                if n.is_multiple_of(2) {
                    bytes.splice(0..0, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".iter().copied());
                }
                let closed = match TcpStream::connect(address).await {
                    Ok(mut socket) => {
                        let _ = socket.write_all(&bytes).await;
                        let mut buf = [0u8; 4096];
                        let mut closed = false;
                        for _ in 0..8 {
                            match tokio::time::timeout(Duration::from_secs(1), socket.read(&mut buf)).await {
                                Ok(Ok(0)) | Ok(Err(_)) => {
                                    closed = true;
                                    break;
                                }
                                Ok(Ok(_)) => {}
                                Err(_) => break,
                            }
                        }
                        closed
                    }
                    Err(_) => true,
                };
                tally.sent.fetch_add(1, Ordering::Relaxed);
                if closed {
                    tally.closed_by_server.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The scenario's settings: phase length, flood rate, stream and socket counts.
#[derive(Debug, Clone)]
pub struct Load {
    pub phase: Duration,
    pub flood_rate: u64,
    pub watch_streams: u64,
    pub slow_sockets: usize,
}

/// Runs the idle phase and each attack phase against skills-query.
pub async fn run(endpoint: &str, policy_token: &str, query_pid: u32, load: &Load) -> HostileReport {
    let address = endpoint.trim_start_matches("http://").to_string();
    let mut report = HostileReport::default();
    // The dashboard's period computed once, before any phase: "cached".
    let mut warm = TalentGapServiceClient::new(channel(endpoint).await);
    let read = pb::GetRegionIndicatorsRequest { region: "84".into(), period: "2025".into() };
    let deadline = Instant::now() + Duration::from_secs(120);
    while let Err(status) = warm.get_region_indicators(with_token(read.clone(), Some(DASHBOARD_TOKEN))).await {
        if Instant::now() > deadline {
            report.problems.push(format!("the dashboard's period was never served: {status}"));
            return report;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Ingest's aftermath (merges, the refresh of the new data version)
    // settles before the first quiet phase.
    tokio::time::sleep(load.phase).await;
    // The attackers stand for other machines: on threads of their own at
    // a low CPU priority, so that their own work does not slow the
    // legitimate callers' side of the measurement; the service still
    // does all the work their calls ask for.
    let attackers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(|| {
            // SAFETY: setpriority on this thread's own id; no memory involved.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
            }
        })
        .build()
        .expect("the attackers' runtime");
    for attack in Attack::PHASES {
        let rss_before = rss_kib(query_pid);
        let harness_pid = std::process::id();
        let (query_cpu, harness_cpu, machine_cpu) =
            (cpu_seconds(query_pid), cpu_seconds(harness_pid), machine_busy_seconds());
        let stop = Arc::new(AtomicBool::new(false));
        let legit = legitimate(endpoint.to_string(), policy_token.to_string(), stop.clone());
        let started = Instant::now();
        let until = started + load.phase;
        let tallies: Arc<[Tally; 4]> = Arc::default();
        let mut attacks = Vec::new();
        if attack.runs(Attack::MissFlood) {
            let (endpoint, tallies, rate) = (endpoint.to_string(), tallies.clone(), load.flood_rate);
            attacks.push(attackers.spawn(async move { miss_flood(&endpoint, rate, until, &tallies[0]).await }));
        }
        if attack.runs(Attack::WatchFlood) {
            let (endpoint, tallies, streams) = (endpoint.to_string(), tallies.clone(), load.watch_streams);
            attacks.push(attackers.spawn(async move { watch_flood(&endpoint, streams, until, &tallies[1]).await }));
        }
        if attack.runs(Attack::SlowClients) {
            let (address, tallies, each) = (address.clone(), tallies.clone(), load.slow_sockets);
            attacks.push(attackers.spawn(async move { slow_clients(&address, each, until, &tallies[2]).await }));
        }
        if attack.runs(Attack::Garbage) {
            let (endpoint, address, tallies) = (endpoint.to_string(), address.clone(), tallies.clone());
            attacks.push(attackers.spawn(async move { garbage(&endpoint, &address, until, &tallies[3]).await }));
        }
        tokio::time::sleep_until(until.into()).await;
        for attack in attacks {
            attack.await.expect("an attacker");
        }
        stop.store(true, Ordering::Relaxed);
        let [status, cached] = legit.join().expect("legitimate callers");
        let elapsed = started.elapsed().as_secs_f64();
        let query_cores = (cpu_seconds(query_pid) - query_cpu) / elapsed;
        let harness_cores = (cpu_seconds(harness_pid) - harness_cpu) / elapsed;
        let machine_cores = (machine_busy_seconds() - machine_cpu) / elapsed;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss_after = rss_kib(query_pid);
        let load_text = describe(attack, &tallies, elapsed, load);
        let row = PhaseRow {
            attack: attack.title().to_string(),
            load: load_text,
            status_p99: status.p99(),
            cached_p99: cached.p99(),
            legit_calls: status.samples.len() + cached.samples.len(),
            legit_errors: status.errors + cached.errors,
            rss_kib: (rss_before, rss_after),
            query_cores,
            harness_cores,
            machine_cores,
        };
        eprintln!(
            "hostile: {}: status p99 {:?}, cached p99 {:?}, {} legit calls, {} errors; cores: query {:.2}, fault suite {:.2}, machine {:.2}; {}; RSS {} → {} KiB",
            row.attack,
            row.status_p99,
            row.cached_p99,
            row.legit_calls,
            row.legit_errors,
            row.query_cores,
            row.harness_cores,
            row.machine_cores,
            row.load,
            rss_before,
            rss_after
        );
        if row.legit_errors > 0 {
            report.problems.push(format!("{}: {} legitimate calls failed", row.attack, row.legit_errors));
        }
        report.rows.push(row);
    }
    // The normal p99 is the larger of the two quiet phases': each attack
    // phase is held to twice that.
    let quiet: Vec<&PhaseRow> = report.rows.iter().filter(|r| r.attack.starts_with("none")).collect();
    let normal = |p99: fn(&PhaseRow) -> Duration| quiet.iter().map(|r| p99(r)).max().unwrap_or_default();
    let (idle_status, idle_cached) = (normal(|r| r.status_p99), normal(|r| r.cached_p99));
    for row in report.rows.iter().filter(|r| !r.attack.starts_with("none")) {
        for (name, p99, base) in
            [("GetPipelineStatus", row.status_p99, idle_status), ("cached read", row.cached_p99, idle_cached)]
        {
            if p99.as_secs_f64() > MAX_SLOWDOWN * base.as_secs_f64() {
                report.problems.push(format!(
                    "{}: {name} p99 {:.1} ms, more than {MAX_SLOWDOWN}× the quiet phases' {:.1} ms",
                    row.attack,
                    ms(p99),
                    ms(base)
                ));
            }
        }
    }
    attackers.shutdown_background();
    report
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn describe(attack: Attack, tallies: &[Tally; 4], seconds: f64, load: &Load) -> String {
    let calls = |t: &Tally| {
        format!(
            "{} calls ({:.0}/s): {} served, {} RESOURCE_EXHAUSTED, {} other errors",
            Tally::get(&t.sent),
            Tally::get(&t.sent) as f64 / seconds,
            Tally::get(&t.served),
            Tally::get(&t.refused),
            Tally::get(&t.other)
        )
    };
    let mut parts = Vec::new();
    if attack.runs(Attack::MissFlood) {
        parts.push(format!("flood at {}/s offered: {}", load.flood_rate, calls(&tallies[0])));
    }
    if attack.runs(Attack::WatchFlood) {
        let t = &tallies[1];
        parts.push(format!(
            "{} watch streams asked: {} opened, {} RESOURCE_EXHAUSTED",
            Tally::get(&t.sent),
            Tally::get(&t.served),
            Tally::get(&t.refused)
        ));
    }
    if attack.runs(Attack::SlowClients) {
        let t = &tallies[2];
        parts.push(format!(
            "{} slow sockets for {:.0} s: {} closed by the server",
            Tally::get(&t.sent),
            load.phase.as_secs_f64(),
            Tally::get(&t.closed_by_server)
        ));
    }
    if attack.runs(Attack::Garbage) {
        let t = &tallies[3];
        parts.push(format!(
            "{} bad inputs: {} refused as gRPC errors, {} garbage sockets closed by the server",
            Tally::get(&t.sent),
            Tally::get(&t.other) + Tally::get(&t.refused),
            Tally::get(&t.closed_by_server)
        ));
    }
    if parts.is_empty() { "—".into() } else { parts.join("; ") }
}

/// The table of RELIABILITY.md's hostile-load section.
pub fn table(report: &HostileReport, command: &str, load: &Load) -> String {
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let mut out = format!(
        "Command: `{command}`, {date}; phases of {} s. A policy caller polls GetPipelineStatus every 50 ms and a\n\
         dashboard (public token) a cached period every 10 ms; p99 under attack must stay within 2× the larger of\n\
         the two quiet phases', with no legitimate call failing. The attackers and the legitimate callers run in the\n\
         fault suite's process on the same machine (attackers at nice 10), so its CPU is shown apart.\n\n",
        load.phase.as_secs()
    );
    out.push_str(
        "| Attack | Load | GetPipelineStatus p99 (policy) | Cached read p99 (dashboard) | Legitimate calls (errors) | CPU cores: skills-query / fault suite / machine | skills-query RSS before → after |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for row in &report.rows {
        out.push_str(&format!(
            "| {} | {} | {:.1} ms | {:.1} ms | {} ({}) | {:.2} / {:.2} / {:.2} | {:.1} → {:.1} MiB |\n",
            row.attack,
            row.load,
            ms(row.status_p99),
            ms(row.cached_p99),
            row.legit_calls,
            row.legit_errors,
            row.query_cores,
            row.harness_cores,
            row.machine_cores,
            row.rss_kib.0 as f64 / 1024.0,
            row.rss_kib.1 as f64 / 1024.0
        ));
    }
    out.push('\n');
    if report.problems.is_empty() {
        out.push_str("Result: pass.\n");
    } else {
        out.push_str(&format!("Result: FAIL: {}.\n", report.problems.join("; ")));
    }
    out
}

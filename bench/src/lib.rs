//! Baselines for `deploy/bench.sh`: the bare programs the services are
//! measured against, built with the same client settings so that a ratio
//! shows what the services' own work costs.

/// CPU seconds (user + system) of this process so far, from /proc, as the
/// bench scripts read the services'.
pub fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

/// CPU seconds (user + system) of process `pid` ("self" for this one), or
/// 0 when it is gone.
pub fn cpu_seconds_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // utime, stime (fields 14, 15)
}

/// Peak resident memory of this process, in MiB.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Resident and peak resident memory of another process, in MiB (0 when
/// it cannot be read).
pub fn process_memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// p50, p99 and max of latencies in ms, as the JSON the bench scripts
/// read (nearest-rank percentiles).
pub fn latency_summary(mut samples_ms: Vec<f64>) -> serde_json::Value {
    samples_ms.sort_by(f64::total_cmp);
    let at = |q: f64| samples_ms[((samples_ms.len() as f64 * q).ceil() as usize).clamp(1, samples_ms.len()) - 1];
    serde_json::json!({ "samples": samples_ms.len(), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0) })
}

/// The synthetic learners of `learners` as skills-ingest leaves them:
/// normalized by the domain code with a fixed key, each event id once,
/// mistakes left out.
pub fn normalized_events(learners: std::ops::Range<usize>) -> Vec<skills_proto::v1::NormalizedEvent> {
    use skills_domain::events::{ContentType, IngestPolicy, normalize};
    use skills_domain::pseudonym::{Pseudonymiser, SecretKey};
    let set = skills_synthetic::synthetic_range(learners, 2016);
    let pseudonymiser = Pseudonymiser::single(SecretKey::from_bytes(vec![7; 32]).expect("key"), 1);
    let now = chrono::Utc::now();
    let mut seen = std::collections::HashSet::new();
    set.messages
        .iter()
        .filter_map(|(_, message)| {
            let content_type = message
                .header(skills_bus::headers::CONTENT_TYPE)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(ContentType::from_header);
            normalize(&message.payload, content_type, &IngestPolicy::default(), &pseudonymiser, now).ok()
        })
        .filter(|event| seen.insert(event.event_id.clone()))
        .collect()
}

/// The same learners as the store receives them (facts of each event).
pub fn synthetic_facts(learners: std::ops::Range<usize>) -> Vec<skills_domain::facts::EventFacts> {
    normalized_events(learners).iter().filter_map(|event| skills_domain::facts::facts_of(event).ok()).collect()
}

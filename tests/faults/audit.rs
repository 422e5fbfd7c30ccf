//! What a scenario is judged on: `skills reconcile` over the raw topics,
//! the store's counters against a clean run of the same messages, and the
//! logs, which must hold no secret and no raw learner id.

use crate::common::processes::{clean_run, windows};
use crate::pipeline::Pipeline;
use skills_bus::Message;
use skills_domain::indicators::CellCounters;
use skills_store::MetricsStore;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// `skills reconcile --json`, the parts the table shows.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Reconciled {
    pub raw: u64,
    pub counted: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub missing: u64,
}

pub fn reconcile(pipeline: &Pipeline) -> Result<Reconciled, String> {
    let output = pipeline.skills(&["reconcile", "--json"]).output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // A report with missing events exits non-zero but still prints itself.
    serde_json::from_str(&stdout)
        .map_err(|e| format!("reconcile printed no report ({e}): {stdout} {}", String::from_utf8_lossy(&output.stderr)))
}

/// What one clean pass of the sent messages counts.
pub struct Expected {
    pub distinct_events: u64,
    pub rejected: u64,
    store: skills_store::EmbeddedStore,
}

pub async fn expected(messages: &[(&'static str, Message)]) -> Expected {
    let (store, rejected) = clean_run(messages).await;
    let distinct_events = store.status().await.unwrap().events;
    Expected { distinct_events, rejected, store }
}

/// Counter units above and below the clean run, over every window and
/// cell, and the number of cells that differ at all.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CounterDiff {
    pub over: u64,
    pub under: u64,
    pub cells_differing: u64,
}

fn values(c: &CellCounters) -> [u64; 21] {
    let (s, d) = (&c.supply, &c.demand);
    let (e, k) = (&s.enrolled_groups, &s.certified_groups);
    [
        s.learners,
        s.enrolled,
        s.active,
        s.active_finishing,
        s.completed,
        s.dropped_out,
        s.certified,
        s.certified_at_target,
        s.gain_sum.unsigned_abs(),
        s.gain_learners,
        e.women,
        e.priority_neighbourhood,
        e.rural,
        e.under_26,
        e.jobseekers,
        k.women,
        k.priority_neighbourhood,
        k.rural,
        k.jobseekers,
        d.openings,
        d.hard_to_fill,
    ]
}

pub async fn compare_counters(store: &dyn MetricsStore, expected: &Expected) -> Result<CounterDiff, String> {
    let mut diff = CounterDiff::default();
    for window in windows() {
        let clean = expected.store.counters(&window).await.map_err(|e| e.to_string())?;
        let got = store.counters(&window).await.map_err(|e| e.to_string())?;
        let mut got: HashMap<(String, Option<String>), CellCounters> =
            got.into_iter().map(|c| ((c.region.clone(), c.skill.clone()), c)).collect();
        for want in clean {
            let have = got.remove(&(want.region.clone(), want.skill.clone())).unwrap_or_default();
            add_cell(&mut diff, &values(&have), &values(&want));
        }
        for extra in got.into_values() {
            add_cell(&mut diff, &values(&extra), &[0; 21]);
        }
    }
    Ok(diff)
}

/// A cell missing on one side compares as zeros.
fn add_cell(diff: &mut CounterDiff, have: &[u64; 21], want: &[u64; 21]) {
    for (h, w) in have.iter().zip(want) {
        diff.over += h.saturating_sub(*w);
        diff.under += w.saturating_sub(*h);
    }
    diff.cells_differing += u64::from(have != want);
}

/// Waits until the store counts `events` distinct events and at least
/// `letters` dead letters; how long it took, or what it saw at the timeout.
pub async fn drain(store: &dyn MetricsStore, events: u64, letters: u64, timeout: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last = None;
    loop {
        if let Ok(status) = store.status().await {
            if status.events >= events && status.dead_letters >= letters {
                return Ok(started.elapsed());
            }
            last = Some((status.events, status.dead_letters));
        }
        if started.elapsed() > timeout {
            return Err(format!(
                "not drained in {timeout:?}: store has (events, letters) {last:?}, want ({events}, {letters})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A finding of the log scan: file, line number, what was found.
pub type Finding = (String, usize, String);

/// Every line of every file scanned for the given secrets and for
/// anything shaped like a raw learner id of the synthetic set
/// ("learner-" and seven digits).
pub fn scan_logs(files: &[std::path::PathBuf], secrets: &[(String, String)]) -> (usize, Vec<Finding>) {
    let mut lines = 0;
    let mut findings = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read(file) else { continue };
        for (number, line) in String::from_utf8_lossy(&text).lines().enumerate() {
            lines += 1;
            let place = || file.display().to_string();
            for (name, secret) in secrets {
                if !secret.is_empty() && line.contains(secret.as_str()) {
                    findings.push((place(), number + 1, name.clone()));
                }
            }
            if has_raw_learner_id(line) {
                findings.push((place(), number + 1, "raw learner id".into()));
            }
        }
    }
    (lines, findings)
}

pub fn has_raw_learner_id(line: &str) -> bool {
    line.match_indices("learner-").any(|(at, _)| {
        let digits = &line.as_bytes()[at + "learner-".len()..];
        digits.len() >= 7 && digits[..7].iter().all(u8::is_ascii_digit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_learner_ids_are_recognised() {
        assert!(has_raw_learner_id("payload {\"learner_id\":\"learner-0001234\"}"));
        assert!(!has_raw_learner_id("learner-level counters"));
        assert!(!has_raw_learner_id("learner-12"));
    }
}

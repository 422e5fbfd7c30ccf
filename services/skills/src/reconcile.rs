//! `skills reconcile`: for a time range and per raw partition, every raw
//! event against what became of it — counted, a duplicate of a counted
//! event, or dead-lettered. Anything else is missing: lost, or still in
//! flight (run it once the lag is zero).
//!
//! It reads the raw topics itself (outside any consumer group), so it
//! checks the pipeline rather than trusting its counters: each raw message
//! is looked up by its source position among the dead letters, else by its
//! event id among the counted events.

use crate::cli::ReconcileArgs;
use crate::config::SkillsConfig;
use chrono::{DateTime, Utc};
use serde::Serialize;
use skills_bus::kafka::scan::{PartitionRange, partition_ranges, scan};
use skills_bus::{BusError, headers};
use skills_domain::events::{ContentType, event_id_of};
use skills_store::{MetricsStore, StoreError};
use std::collections::HashSet;
use thiserror::Error;

/// Ids looked up in the store at once.
const LOOKUP_CHUNK: usize = 2_000;
/// Offsets of missing events listed per partition.
const MISSING_LISTED: usize = 10;

#[derive(Debug, Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} raw events are neither counted nor dead-lettered")]
    Missing(u64),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartitionReport {
    pub topic: String,
    pub partition: i32,
    /// Offsets [first_offset, end_offset) read.
    pub first_offset: i64,
    pub end_offset: i64,
    pub raw: u64,
    /// Raw events whose event is counted (first copy seen).
    pub counted: u64,
    /// Further copies of an event already seen in this run.
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub missing: u64,
    /// The first few missing offsets, to look at.
    pub missing_offsets: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub partitions: Vec<PartitionReport>,
    pub raw: u64,
    pub counted: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub missing: u64,
}

impl Report {
    fn add(&mut self, partition: PartitionReport) {
        self.raw += partition.raw;
        self.counted += partition.counted;
        self.duplicates += partition.duplicates;
        self.dead_lettered += partition.dead_lettered;
        self.missing += partition.missing;
        self.partitions.push(partition);
    }

    /// Every raw event accounted for.
    pub fn balanced(&self) -> bool {
        self.missing == 0 && self.raw == self.counted + self.duplicates + self.dead_lettered
    }
}

/// One raw message as reconciliation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub offset: i64,
    pub event_id: Option<String>,
}

/// Sorts a partition's raw messages, in offset order. `seen` carries the
/// event ids met so far in this run, across partitions, so that every
/// event is counted once in the report too.
pub fn classify(
    range: &PartitionRange,
    entries: &[RawEntry],
    dead_lettered: &HashSet<i64>,
    counted: &HashSet<String>,
    seen: &mut HashSet<String>,
) -> PartitionReport {
    let mut report = PartitionReport {
        topic: range.topic.clone(),
        partition: range.partition,
        first_offset: range.start,
        end_offset: range.end,
        ..PartitionReport::default()
    };
    for entry in entries {
        report.raw += 1;
        if dead_lettered.contains(&entry.offset) {
            report.dead_lettered += 1;
            continue;
        }
        match &entry.event_id {
            Some(id) if counted.contains(id) => {
                if seen.insert(id.clone()) {
                    report.counted += 1;
                } else {
                    report.duplicates += 1;
                }
            }
            _ => {
                report.missing += 1;
                if report.missing_offsets.len() < MISSING_LISTED {
                    report.missing_offsets.push(entry.offset);
                }
            }
        }
    }
    report
}

/// Reads the raw topics in [since, until) and reconciles them with the store.
pub async fn reconcile(
    kafka: &skills_bus::kafka::KafkaConfig,
    raw_topics: &[String],
    store: &dyn MetricsStore,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<Report, ReconcileError> {
    let mut report = Report { since, until, ..Report::default() };
    let mut seen = HashSet::new();
    let progress = crate::progress::bar("reconciling raw partitions", None);
    for topic in raw_topics {
        let ranges = {
            let (kafka, topic) = (kafka.clone(), topic.clone());
            let (since, until) = (since.map(|t| t.timestamp_millis()), until.map(|t| t.timestamp_millis()));
            blocking(move || partition_ranges(&kafka, &topic, since, until)).await?
        };
        for range in ranges {
            let entries = {
                let (kafka, range) = (kafka.clone(), range.clone());
                blocking(move || read_entries(&kafka, &range)).await?
            };
            let dead_lettered =
                store.dead_lettered_offsets(&range.topic, range.partition, range.start..range.end).await?;
            let ids: Vec<String> = entries
                .iter()
                .filter(|e| !dead_lettered.contains(&e.offset))
                .filter_map(|e| e.event_id.clone())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut counted = HashSet::new();
            for chunk in ids.chunks(LOOKUP_CHUNK) {
                counted.extend(store.counted_events(chunk).await?);
            }
            let partition = classify(&range, &entries, &dead_lettered, &counted, &mut seen);
            tracing::debug!(topic = %partition.topic, partition = partition.partition, raw = partition.raw, missing = partition.missing, "partition reconciled");
            report.add(partition);
            progress.inc(1);
        }
    }
    progress.finish_and_clear();
    Ok(report)
}

fn read_entries(kafka: &skills_bus::kafka::KafkaConfig, range: &PartitionRange) -> Result<Vec<RawEntry>, BusError> {
    let mut entries = Vec::with_capacity((range.end - range.start).max(0) as usize);
    scan(kafka, range, |record| {
        let content_type = record
            .message
            .header(headers::CONTENT_TYPE)
            .and_then(|value| std::str::from_utf8(value).ok())
            .and_then(ContentType::from_header);
        entries.push(RawEntry { offset: record.offset, event_id: event_id_of(&record.message.payload, content_type) });
    })?;
    Ok(entries)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BusError> + Send + 'static,
) -> Result<T, BusError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| BusError::Other(format!("reconcile task failed: {e}")))?
}

/// `skills reconcile`: prints the report; an unbalanced one is an error.
pub async fn run(config: SkillsConfig, args: ReconcileArgs) -> Result<(), ReconcileError> {
    let mut kafka = config.bus.kafka.clone();
    if let Some(brokers) = &args.brokers {
        kafka.brokers = brokers.clone();
    }
    let store = skills_store::open(&config.store, &config.data_dir).await?;
    let topics: Vec<String> = config.ingest.raw_topics.iter().map(|t| format!("{}{t}", args.topic_prefix)).collect();
    let report = reconcile(&kafka, &topics, &*store, args.since, args.until).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("reports serialize"));
    } else {
        print!("{}", render(&report));
    }
    if report.balanced() { Ok(()) } else { Err(ReconcileError::Missing(report.missing)) }
}

/// The report as a table.
pub fn render(report: &Report) -> String {
    let range = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "…".into());
    let mut out = format!("raw events from {} to {}\n", range(report.since), range(report.until));
    out.push_str(&format!(
        "{:<28} {:>4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}\n",
        "topic", "part", "offsets", "raw", "counted", "duplicate", "dead-lett.", "missing"
    ));
    for p in &report.partitions {
        out.push_str(&format!(
            "{:<28} {:>4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}\n",
            p.topic,
            p.partition,
            format!("{}-{}", p.first_offset, p.end_offset),
            p.raw,
            p.counted,
            p.duplicates,
            p.dead_lettered,
            p.missing
        ));
        if !p.missing_offsets.is_empty() {
            out.push_str(&format!("    first missing offsets: {:?}\n", p.missing_offsets));
        }
    }
    out.push_str(&format!(
        "{:<28} {:>4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}\n",
        "total", "", "", report.raw, report.counted, report.duplicates, report.dead_lettered, report.missing
    ));
    out.push_str(if report.balanced() {
        "every raw event is counted once or dead-lettered\n"
    } else {
        "NOT BALANCED: some raw events are neither counted nor dead-lettered (lost, or still in flight)\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offset: i64, id: Option<&str>) -> RawEntry {
        RawEntry { offset, event_id: id.map(str::to_string) }
    }

    #[test]
    fn every_raw_event_is_counted_duplicate_dead_lettered_or_missing() {
        let range = PartitionRange { topic: "raw".into(), partition: 1, start: 10, end: 16 };
        let entries = [
            entry(10, Some("a")),
            entry(11, Some("a")),
            entry(12, None),
            entry(13, Some("b")),
            entry(14, Some("c")),
            entry(15, None),
        ];
        let dead = HashSet::from([12]);
        let counted = HashSet::from(["a".to_string(), "b".to_string()]);
        let mut seen = HashSet::from(["b".to_string()]);
        let report = classify(&range, &entries, &dead, &counted, &mut seen);
        assert_eq!(
            (report.raw, report.counted, report.duplicates, report.dead_lettered, report.missing),
            (6, 1, 2, 1, 2),
            "a once then its copy; b seen in an earlier partition; c not counted; 15 undecodable and not dead-lettered"
        );
        assert_eq!(report.missing_offsets, [14, 15]);
        let mut whole = Report::default();
        whole.add(report);
        assert!(!whole.balanced());
        assert!(render(&whole).contains("NOT BALANCED"));
    }

    #[test]
    fn a_dead_letter_wins_over_a_counted_copy_and_a_clean_run_balances() {
        let range = PartitionRange { topic: "raw".into(), partition: 0, start: 0, end: 2 };
        let entries = [entry(0, Some("a")), entry(1, Some("a"))];
        let report = classify(&range, &entries, &HashSet::from([1]), &HashSet::from(["a".into()]), &mut HashSet::new());
        assert_eq!((report.counted, report.dead_lettered, report.missing), (1, 1, 0));
        let mut whole = Report::default();
        whole.add(report);
        assert!(whole.balanced());
        assert!(render(&whole).contains("every raw event is counted once or dead-lettered"));
    }
}

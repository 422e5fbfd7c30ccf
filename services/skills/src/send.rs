//! `skills send`: partner events to the raw Kafka topics, from a JSONL file
//! or the synthetic data set, optionally paced at a fixed rate.

use crate::cli::SendArgs;
use crate::config::SkillsConfig;
use skills_bus::kafka::KafkaBus;
use skills_bus::{Bus, BusError, Message, headers, topics};
use skills_domain::events::{ContentType, EventKind, decode};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Messages sent per producer call.
const CHUNK: usize = 1_000;

#[derive(Debug, Error)]
pub enum SendError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("say what to send: --file FILE or --synthetic")]
    NothingToSend,
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// The raw topic of a JSON event, by its payload, read as ingest reads it
/// (either spelling of the field names; Schema Registry framing).
pub fn topic_of_json(line: &str) -> &'static str {
    let envelope = decode(line.as_bytes(), Some(ContentType::Json)).ok();
    topics::raw_for_kind(envelope.as_ref().and_then(EventKind::of).map_or("", EventKind::name))
}

/// The events of a JSONL file, each with the raw topic of its kind.
pub fn read_jsonl(path: &std::path::Path) -> Result<Vec<(&'static str, Message)>, SendError> {
    let read_error = |error| SendError::Read { path: path.display().to_string(), error };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut messages = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(read_error)?;
        if line.trim().is_empty() {
            continue;
        }
        let message = Message::new(line.clone().into_bytes()).with_header(headers::CONTENT_TYPE, "application/json");
        messages.push((topic_of_json(&line), message));
    }
    Ok(messages)
}

pub async fn run(config: SkillsConfig, args: SendArgs) -> Result<(), SendError> {
    let messages = match (&args.file, args.synthetic) {
        (Some(path), _) => read_jsonl(path)?,
        (None, true) => {
            skills_synthetic::synthetic_range(args.first_learner..args.first_learner + args.learners, args.seed)
                .messages
        }
        (None, false) => return Err(SendError::NothingToSend),
    };
    let mut kafka = config.bus.kafka.clone();
    if let Some(brokers) = &args.brokers {
        kafka.brokers = brokers.clone();
    }
    let bus = KafkaBus::new(kafka)?;
    let names: Vec<String> = [topics::ENROLMENTS, topics::ASSESSMENTS, topics::DEMAND]
        .iter()
        .map(|t| format!("{}{t}", args.topic_prefix))
        .collect();
    bus.ensure_topics(&names).await?;
    let producer = bus.producer();
    let total = messages.len();
    let started = Instant::now();
    let mut per_topic: BTreeMap<String, usize> = BTreeMap::new();
    let chunk = if args.rate > 0 { CHUNK.min((args.rate as usize / 10).max(1)) } else { CHUNK };
    let mut sent = 0usize;
    let mut pending: BTreeMap<String, Vec<Message>> = BTreeMap::new();
    let progress = crate::progress::bar("sending", Some(total as u64));
    for (topic, message) in messages {
        let topic = format!("{}{topic}", args.topic_prefix);
        *per_topic.entry(topic.clone()).or_default() += 1;
        pending.entry(topic).or_default().push(message);
        sent += 1;
        if sent.is_multiple_of(chunk) || sent == total {
            for (topic, batch) in std::mem::take(&mut pending) {
                producer.send(&topic, batch).await?;
            }
            progress.set_position(sent as u64);
            if args.rate > 0 {
                // Pace: event n is due at n / rate seconds.
                let due = Duration::from_secs_f64(sent as f64 / args.rate as f64);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let breakdown: Vec<String> = per_topic.iter().map(|(t, n)| format!("{t}: {n}")).collect();
    println!(
        "sent {total} events in {seconds:.2} s ({:.0} events/s) — {}",
        total as f64 / seconds.max(1e-9),
        breakdown.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_go_to_the_topic_of_their_kind() {
        assert_eq!(topic_of_json(include_str!("../../../proto/examples/assessment.json")), topics::ASSESSMENTS);
        assert_eq!(topic_of_json(include_str!("../../../proto/examples/labour_demand.json")), topics::DEMAND);
        assert_eq!(topic_of_json(include_str!("../../../proto/examples/enrolment.json")), topics::ENROLMENTS);
        assert_eq!(topic_of_json("not json"), topics::ENROLMENTS);
        let camel_case = r#"{"eventId": "x", "labourDemand": {"openings": 3}}"#;
        assert_eq!(topic_of_json(camel_case), topics::DEMAND);
    }
}

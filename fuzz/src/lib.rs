//! What each fuzz target does with its input, shared by the libFuzzer
//! binaries (fuzz_targets/, nightly) and by the tests below, which replay
//! the seeds and every saved crash (regressions/<target>/) on stable.
//!
//! Beyond "never panics", each target checks a property: a JSON event
//! survives a protobuf round trip, and an event the ingest accepts always
//! yields facts for the aggregator (else it would be dead-lettered late).

use prost::Message;
use skills_domain::events::{ContentType, IngestPolicy, decode, normalize};
use skills_domain::facts::facts_of;
use skills_domain::pseudonym::{Pseudonymiser, SecretKey};
use skills_proto::v1::{EventEnvelope, NormalizedEvent};
use std::sync::OnceLock;

pub const TARGETS: [&str; 4] = ["decode_json", "decode_protobuf", "normalize", "normalized_facts"];

pub fn decode_json(data: &[u8]) {
    if let Ok(envelope) = decode(data, Some(ContentType::Json)) {
        let again = EventEnvelope::decode(envelope.encode_to_vec().as_slice()).expect("our own encoding decodes");
        assert_eq!(again, envelope, "a JSON event survives a protobuf round trip");
    }
}

pub fn decode_protobuf(data: &[u8]) {
    let _ = decode(data, Some(ContentType::Protobuf));
}

/// The first byte picks the content type header (none, JSON, protobuf).
pub fn normalize_input(data: &[u8]) {
    let Some((&selector, payload)) = data.split_first() else { return };
    let content_type = match selector % 3 {
        0 => None,
        1 => Some(ContentType::Json),
        _ => Some(ContentType::Protobuf),
    };
    let now = "2026-06-01T00:00:00Z".parse().expect("a valid time");
    if let Ok(event) = normalize(payload, content_type, &IngestPolicy::default(), pseudonymiser(), now)
        && let Err(error) = facts_of(&event)
    {
        panic!("the ingest accepted an event the aggregator cannot use: {error}");
    }
}

pub fn normalized_facts(data: &[u8]) {
    if let Ok(event) = NormalizedEvent::decode(data) {
        let _ = facts_of(&event);
    }
}

fn pseudonymiser() -> &'static Pseudonymiser {
    static KEY: OnceLock<Pseudonymiser> = OnceLock::new();
    KEY.get_or_init(|| Pseudonymiser::single(SecretKey::from_bytes(vec![7; 32]).expect("32 bytes"), 1))
}

/// Starting inputs per target: the README's example events, as JSON and
/// as protobuf, and a normalized event made from each.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let examples: [&[u8]; 3] = [
        include_bytes!("../../proto/examples/enrolment.json"),
        include_bytes!("../../proto/examples/assessment.json"),
        include_bytes!("../../proto/examples/labour_demand.json"),
    ];
    let protobuf = |json: &[u8]| decode(json, Some(ContentType::Json)).expect("examples decode").encode_to_vec();
    let now = "2026-06-01T00:00:00Z".parse().expect("a valid time");
    examples
        .iter()
        .map(|json| match target {
            "decode_json" => json.to_vec(),
            "decode_protobuf" => protobuf(json),
            "normalize" => [&[1u8][..], json].concat(),
            _ => normalize(json, Some(ContentType::Json), &IngestPolicy::default(), pseudonymiser(), now)
                .expect("examples are valid")
                .encode_to_vec(),
        })
        .collect()
}

/// Runs one input through a target by name.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "decode_json" => decode_json(data),
        "decode_protobuf" => decode_protobuf(data),
        "normalize" => normalize_input(data),
        "normalized_facts" => normalized_facts(data),
        other => panic!("no fuzz target {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_saved_crashes_pass_every_target() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
        for target in TARGETS {
            let seeds = seeds(target);
            assert_eq!(seeds.len(), 3);
            for seed in &seeds {
                run(target, seed);
            }
            let Ok(entries) = std::fs::read_dir(root.join(target)) else { continue };
            for entry in entries.flatten() {
                run(target, &std::fs::read(entry.path()).unwrap());
            }
        }
    }

    /// Writes the seeds into fuzz/corpus/<target>/ (deploy/fuzz.sh runs it).
    #[test]
    #[ignore = "writes files: run by deploy/fuzz.sh"]
    fn write_seed_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        for target in TARGETS {
            let dir = root.join(target);
            std::fs::create_dir_all(&dir).unwrap();
            for (n, seed) in seeds(target).iter().enumerate() {
                std::fs::write(dir.join(format!("seed-{n}")), seed).unwrap();
            }
        }
    }
}

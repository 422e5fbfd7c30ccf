//! Decoding and validation of every kind of event, good and bad.

use super::*;
use crate::pseudonym::SecretKey;
use skills_proto::Message;
use skills_proto::v1 as pb;

const ENROLMENT: &str = include_str!("../../../../../proto/examples/enrolment.json");
const ASSESSMENT: &str = include_str!("../../../../../proto/examples/assessment.json");
const DEMAND: &str = include_str!("../../../../../proto/examples/labour_demand.json");

fn now() -> DateTime<Utc> {
    "2026-01-15T12:00:00Z".parse().unwrap()
}

fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::single(SecretKey::from_bytes(vec![3; 32]).unwrap(), 1)
}

fn run(payload: &[u8]) -> Result<pb::NormalizedEvent, Rejection> {
    normalize(payload, None, &IngestPolicy::default(), &pseudonymiser(), now())
}

fn run_json(json: serde_json::Value) -> Result<pb::NormalizedEvent, Rejection> {
    run(json.to_string().as_bytes())
}

fn example(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

fn reason_of(result: Result<pb::NormalizedEvent, Rejection>) -> RejectReason {
    result.expect_err("expected a rejection").reason
}

#[test]
fn the_three_examples_normalize() {
    let enrolment = run(ENROLMENT.as_bytes()).unwrap();
    assert_eq!(enrolment.region, "84");
    let Some(pb::normalized_event::Payload::Enrolment(e)) = &enrolment.payload else { panic!() };
    assert_eq!(e.skills, ["3.4", "3.1", "5.1"]);
    assert_eq!(e.status, pb::EnrolmentStatus::Started as i32);
    assert_eq!(e.profile.unwrap().gender, pb::Gender::Female as i32);
    assert!(e.learner.starts_with("k1:"));

    let assessment = run(ASSESSMENT.as_bytes()).unwrap();
    assert_eq!(assessment.region, "84");

    let demand = run(DEMAND.as_bytes()).unwrap();
    let Some(pb::normalized_event::Payload::Demand(d)) = &demand.payload else { panic!() };
    assert_eq!(d.skills, ["3.4", "5.1", "1.3"]);
    assert_eq!((d.openings, d.hard_to_fill), (120, 45));
}

#[test]
fn no_raw_learner_id_survives_normalization() {
    for text in [ENROLMENT, ASSESSMENT] {
        let bytes = run(text.as_bytes()).unwrap().encode_to_vec();
        let haystack = String::from_utf8_lossy(&bytes);
        assert!(!haystack.contains("learner-000042"));
    }
}

#[test]
fn protobuf_and_json_give_the_same_normalized_event() {
    let from_json = run(ENROLMENT.as_bytes()).unwrap();
    let envelope = decode(ENROLMENT.as_bytes(), Some(ContentType::Json)).unwrap();
    let from_proto = normalize(
        &envelope.encode_to_vec(),
        Some(ContentType::Protobuf),
        &IngestPolicy::default(),
        &pseudonymiser(),
        now(),
    )
    .unwrap();
    assert_eq!(from_json, from_proto);
}

#[test]
fn enums_accept_short_full_and_numeric_forms() {
    for status in
        [serde_json::json!("completed"), serde_json::json!("ENROLMENT_STATUS_COMPLETED"), serde_json::json!(3)]
    {
        let mut event = example(ENROLMENT);
        event["enrolment"]["status"] = status;
        let Some(pb::normalized_event::Payload::Enrolment(e)) = run_json(event).unwrap().payload else { panic!() };
        assert_eq!(e.status, pb::EnrolmentStatus::Completed as i32);
    }
}

#[test]
fn undecodable_bytes_are_rejected() {
    assert_eq!(reason_of(run(&[0xff, 0xff, 0xff, 0x01])), RejectReason::Undecodable);
    assert_eq!(reason_of(run(b"{not json")), RejectReason::Undecodable);
}

#[test]
fn a_json_value_of_the_wrong_type_is_rejected_naming_its_field_and_value() {
    let mut event = example(DEMAND);
    event["labour_demand"]["openings"] = serde_json::json!("five");
    let rejection = run_json(event).unwrap_err();
    assert_eq!(rejection.reason, RejectReason::InvalidField);
    assert!(rejection.message.starts_with("invalid labour_demand.openings: "), "{}", rejection.message);
    assert!(rejection.message.contains("\"five\""), "{}", rejection.message);

    let mut event = example(ENROLMENT);
    event["enrolment"]["status"] = serde_json::json!(true);
    let rejection = run_json(event).unwrap_err();
    assert_eq!(rejection.reason, RejectReason::InvalidField);
    assert!(rejection.message.starts_with("invalid enrolment.status: "), "{}", rejection.message);
    assert!(rejection.message.contains("boolean `true`"), "{}", rejection.message);

    let mut event = example(ENROLMENT);
    event["enrolment"]["skills"] = serde_json::json!(["3.4", 7]);
    let rejection = run_json(event).unwrap_err();
    assert!(rejection.message.starts_with("invalid enrolment.skills[1]: "), "{}", rejection.message);
    assert!(rejection.message.contains("integer `7`"), "{}", rejection.message);
}

#[test]
fn json_that_is_not_one_event_object_is_undecodable() {
    for payload in [&b"[1, 2]"[..], b"\"text\"", br#"{"event_id": "a"} {"event_id": "b"}"#] {
        let rejection = decode(payload, Some(ContentType::Json)).unwrap_err();
        assert_eq!(rejection.reason, RejectReason::Undecodable, "{}", rejection.message);
    }
}

#[test]
fn oversized_messages_are_rejected_before_decoding() {
    let policy = IngestPolicy { max_message_bytes: 100, ..IngestPolicy::default() };
    let rejection = normalize(ENROLMENT.as_bytes(), None, &policy, &pseudonymiser(), now()).unwrap_err();
    assert_eq!(rejection.reason, RejectReason::Oversized);
    assert!(rejection.message.contains("100"));
}

#[test]
fn an_event_without_payload_is_an_unknown_kind() {
    let mut event = example(ENROLMENT);
    event.as_object_mut().unwrap().remove("enrolment");
    assert_eq!(reason_of(run_json(event)), RejectReason::UnknownKind);
}

#[test]
fn missing_fields_are_named() {
    for (path, field) in [
        (vec!["event_id"], "event_id"),
        (vec!["occurred_at"], "occurred_at"),
        (vec!["partner_id"], "partner_id"),
        (vec!["schema_version"], "schema_version"),
        (vec!["enrolment", "learner_id"], "enrolment.learner_id"),
        (vec!["enrolment", "place"], "enrolment.place"),
        (vec!["enrolment", "status"], "enrolment.status"),
    ] {
        let mut event = example(ENROLMENT);
        let (last, parents) = path.split_last().unwrap();
        let mut target = &mut event;
        for parent in parents {
            target = &mut target[*parent];
        }
        target.as_object_mut().unwrap().remove(*last);
        let rejection = run_json(event).unwrap_err();
        assert_eq!(rejection.reason, RejectReason::MissingField, "{field}");
        assert!(rejection.message.contains(field), "{}", rejection.message);
    }
}

#[test]
fn unknown_codes_are_rejected_with_the_code() {
    let cases = [
        ("enrolment", "place", serde_json::json!({"region": "99"}), RejectReason::UnknownRegion, "99"),
        ("enrolment", "place", serde_json::json!({"department": "20"}), RejectReason::UnknownDepartment, "20"),
        ("enrolment", "place", serde_json::json!({"commune": "1"}), RejectReason::MalformedCommune, "1"),
        ("enrolment", "skills", serde_json::json!(["3.4", "7.7"]), RejectReason::UnknownSkill, "7.7"),
    ];
    for (kind, field, value, reason, code) in cases {
        let mut event = example(ENROLMENT);
        event[kind][field] = value;
        let rejection = run_json(event).unwrap_err();
        assert_eq!(rejection.reason, reason);
        assert!(rejection.message.contains(code), "{}", rejection.message);
        assert_eq!(rejection.field.as_deref(), Some(format!("{kind}.{field}").as_str()));
        assert_eq!(rejection.value.as_deref(), Some(code));
    }
    let mut demand = example(DEMAND);
    demand["labour_demand"]["rome_code"] = serde_json::json!("Z0000");
    assert_eq!(reason_of(run_json(demand)), RejectReason::UnknownRomeCode);
}

#[test]
fn levels_out_of_range_are_rejected_per_framework() {
    let mut digcomp = example(ASSESSMENT);
    digcomp["assessment"]["level"] = serde_json::json!(9);
    assert_eq!(reason_of(run_json(digcomp)), RejectReason::LevelOutOfRange);
    let mut ecf = example(ASSESSMENT);
    ecf["assessment"]["framework"] = serde_json::json!("ECF");
    ecf["assessment"]["level"] = serde_json::json!(6);
    assert_eq!(reason_of(run_json(ecf.clone())), RejectReason::LevelOutOfRange);
    ecf["assessment"]["level"] = serde_json::json!(5);
    assert!(run_json(ecf).is_ok());
    let mut certified = example(ENROLMENT);
    certified["enrolment"]["status"] = serde_json::json!("CERTIFIED");
    assert_eq!(reason_of(run_json(certified.clone())), RejectReason::MissingField);
    certified["enrolment"]["certified_level"] = serde_json::json!(0);
    assert_eq!(reason_of(run_json(certified)), RejectReason::LevelOutOfRange);
}

#[test]
fn implausible_times_are_rejected() {
    let mut future = example(ENROLMENT);
    future["occurred_at"] = serde_json::json!("2026-01-15T12:10:00Z");
    assert_eq!(reason_of(run_json(future)), RejectReason::TimestampInFuture);
    let mut skewed = example(ENROLMENT);
    skewed["occurred_at"] = serde_json::json!("2026-01-15T12:04:00Z");
    assert!(run_json(skewed).is_ok(), "within the clock-skew tolerance");
    let mut old = example(ENROLMENT);
    old["occurred_at"] = serde_json::json!("2014-12-31T23:59:59Z");
    assert_eq!(reason_of(run_json(old)), RejectReason::TimestampTooOld);
    let mut garbled = example(ENROLMENT);
    garbled["occurred_at"] = serde_json::json!("yesterday");
    assert_eq!(reason_of(run_json(garbled)), RejectReason::InvalidField);
}

#[test]
fn invalid_values_are_rejected() {
    let mut not_uuid = example(ENROLMENT);
    not_uuid["event_id"] = serde_json::json!("abc");
    assert_eq!(reason_of(run_json(not_uuid)), RejectReason::InvalidField);
    let mut version = example(ENROLMENT);
    version["schema_version"] = serde_json::json!(2);
    assert_eq!(reason_of(run_json(version)), RejectReason::UnsupportedSchemaVersion);
    let mut hard = example(DEMAND);
    hard["labour_demand"]["hard_to_fill"] = serde_json::json!(121);
    assert_eq!(reason_of(run_json(hard)), RejectReason::InvalidField);
    let mut score = example(ASSESSMENT);
    score["assessment"]["score"] = serde_json::json!(101.0);
    assert_eq!(reason_of(run_json(score)), RejectReason::InvalidField);
    let mut two = example(ENROLMENT);
    two["assessment"] = example(ASSESSMENT)["assessment"].clone();
    assert_eq!(reason_of(run_json(two)), RejectReason::InvalidField);
    let mut status = example(ENROLMENT);
    status["enrolment"]["status"] = serde_json::json!("GRADUATED");
    let rejection = run_json(status).unwrap_err();
    assert!(rejection.message.contains("GRADUATED"));
}

#[test]
fn event_ids_are_normalized_to_lowercase_uuids() {
    let mut event = example(ENROLMENT);
    event["event_id"] = serde_json::json!("2F1C7A9E-5B1D-4F0A-9D3E-7A6B2C1D0E01");
    assert_eq!(run_json(event).unwrap().event_id, "2f1c7a9e-5b1d-4f0a-9d3e-7a6b2c1d0e01");
}

#[test]
fn every_reason_has_a_distinct_code() {
    let mut codes: Vec<_> = RejectReason::ALL.iter().map(|r| r.code()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), RejectReason::ALL.len());
}

#[test]
fn reconciliation_finds_the_id_ingestion_counts_under() {
    let mut json = example(DEMAND);
    json["event_id"] = "6F9619FF-8B86-D011-B42D-00C04FC964FF".into();
    let normalized = run_json(json.clone()).unwrap();
    let id = event_id_of(json.to_string().as_bytes(), Some(ContentType::Json));
    assert_eq!(id.as_deref(), Some(normalized.event_id.as_str()));
    assert_eq!(id.as_deref(), Some("6f9619ff-8b86-d011-b42d-00c04fc964ff"));
    assert_eq!(event_id_of(b"not an event", None), None);
    json["event_id"] = "42".into();
    assert_eq!(event_id_of(json.to_string().as_bytes(), None), None);
}

#[test]
fn canonical_json_as_protobuf_libraries_write_it_is_accepted() {
    // lowerCamelCase names and prefixed enum names: what Java's JsonFormat,
    // protobuf-es or grpcurl print for the example.
    let envelope = decode(ENROLMENT.as_bytes(), Some(ContentType::Json)).unwrap();
    let canonical = skills_proto::json::to_json(&envelope);
    assert!(canonical.contains("\"occurredAt\"") && canonical.contains("ENROLMENT_STATUS_STARTED"), "{canonical}");
    assert_eq!(run(canonical.as_bytes()).unwrap(), run(ENROLMENT.as_bytes()).unwrap());
}

#[test]
fn schema_registry_framing_is_unwrapped_for_protobuf_and_json() {
    let plain = run(ASSESSMENT.as_bytes()).unwrap();
    let envelope = decode(ASSESSMENT.as_bytes(), None).unwrap();
    let header = [0u8, 0, 0, 1, 44];
    // KafkaProtobufSerializer: header, index path [0] as one zero byte.
    let protobuf = [&header[..], &[0], &envelope.encode_to_vec()].concat();
    // KafkaJsonSchemaSerializer: header, then the JSON.
    let json = [&header[..], ASSESSMENT.as_bytes()].concat();
    for (payload, content_type) in [(protobuf, Some(ContentType::Protobuf)), (json, None)] {
        let normalized = normalize(&payload, content_type, &IngestPolicy::default(), &pseudonymiser(), now()).unwrap();
        assert_eq!(normalized, plain);
    }
}

#[test]
fn a_json_type_error_on_a_learner_id_does_not_quote_it() {
    let mut event = example(ENROLMENT);
    event["enrolment"]["learner_id"] = serde_json::json!(990_011_223);
    let rejection = run_json(event).unwrap_err();
    assert_eq!(rejection.field.as_deref(), Some("enrolment.learner_id"));
    assert_eq!(rejection.value, None);
    assert!(!rejection.message.contains("990011223"), "{}", rejection.message);
}

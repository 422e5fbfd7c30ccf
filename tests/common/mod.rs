//! The hand-computed story shared by the end-to-end tests; see the top of
//! embedded_stack.rs for what it holds and the expected values.
#![allow(dead_code)]

pub mod processes;

use serde_json::json;
use skills_bus::{Message, headers, topics};
use skills_proto::v1 as pb;

pub fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

pub fn enrolment(
    n: u32,
    region: &str,
    learner: &str,
    status: &str,
    at: &str,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut body = json!({
        "learner_id": learner, "course_id": format!("dev-{region}"), "skills": ["3.4"],
        "place": {"region": region}, "status": status, "planned_end": "2025-10-01T00:00:00Z",
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    json!({"event_id": id(n), "occurred_at": at, "partner_id": "gen-partner", "schema_version": 1, "enrolment": body})
}

fn assessment(n: u32, learner: &str, phase: &str, level: u32, at: &str) -> serde_json::Value {
    json!({"event_id": id(n), "occurred_at": at, "partner_id": "gen-partner", "schema_version": 1,
        "assessment": {"learner_id": learner, "skill": "3.4", "framework": "DIGCOMP_2_2", "level": level,
            "score": 60.0, "phase": phase, "place": {"department": "69"}}})
}

pub fn demand(
    n: u32,
    region: &str,
    target: serde_json::Value,
    openings: u32,
    hard: u32,
    at: &str,
) -> serde_json::Value {
    let mut body = json!({"source": "board", "place": {"region": region}, "openings": openings, "hard_to_fill": hard});
    for (key, value) in target.as_object().unwrap() {
        body[key] = value.clone();
    }
    json!({"event_id": id(n), "occurred_at": at, "partner_id": "job-board", "schema_version": 1, "labour_demand": body})
}

pub fn as_json(event: &serde_json::Value) -> Message {
    Message::new(event.to_string().into_bytes()).with_header(headers::CONTENT_TYPE, "application/json")
}

/// The same event as protobuf, decoded through the domain's JSON reader.
fn as_protobuf(event: &serde_json::Value) -> Message {
    use skills_proto::Message as _;
    let bytes = event.to_string().into_bytes();
    let envelope = skills_domain_decode(&bytes);
    Message::new(envelope.encode_to_vec()).with_header(headers::CONTENT_TYPE, "application/x-protobuf")
}

fn skills_domain_decode(bytes: &[u8]) -> pb::EventEnvelope {
    skills_domain::events::decode(bytes, Some(skills_domain::events::ContentType::Json)).unwrap()
}

pub fn story() -> Vec<(&'static str, Message)> {
    let mut events = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let profiles = [
        json!({"profile": {"gender": "FEMALE", "employment_status": "JOBSEEKER"}}),
        json!({"profile": {"gender": "FEMALE", "employment_status": "JOBSEEKER"}}),
        json!({"profile": {"gender": "MALE", "priority_neighbourhood": true, "employment_status": "JOBSEEKER"}}),
        json!({"profile": {"gender": "MALE", "age_band": "UNDER_26"}}),
        json!({"profile": {"gender": "MALE"}}),
        json!({"profile": {"gender": "MALE"}}),
    ];
    for (i, profile) in profiles.iter().enumerate() {
        let learner = format!("A{}", i + 1);
        events.push((
            topics::ENROLMENTS,
            enrolment(next(), "84", &learner, "ENROLLED", "2025-01-10T09:00:00Z", profile.clone()),
        ));
        events.push((
            topics::ENROLMENTS,
            enrolment(next(), "84", &learner, "STARTED", "2025-02-01T09:00:00Z", profile.clone()),
        ));
    }
    for learner in ["A1", "A2", "A3"] {
        events.push((
            topics::ENROLMENTS,
            enrolment(next(), "84", learner, "COMPLETED", "2025-10-01T09:00:00Z", json!({})),
        ));
    }
    for (learner, level) in [("A1", 5), ("A2", 5), ("A3", 4)] {
        let extra =
            json!({"certified_level": level, "profile": {"gender": if learner == "A3" { "MALE" } else { "FEMALE" }}});
        events.push((topics::ENROLMENTS, enrolment(next(), "84", learner, "CERTIFIED", "2025-11-01T09:00:00Z", extra)));
    }
    events.push((topics::ENROLMENTS, enrolment(next(), "84", "A4", "DROPPED_OUT", "2025-05-01T09:00:00Z", json!({}))));
    for learner in ["B1", "B2"] {
        events.push((
            topics::ENROLMENTS,
            enrolment(next(), "11", learner, "ENROLLED", "2025-02-01T09:00:00Z", json!({})),
        ));
        events.push((
            topics::ENROLMENTS,
            enrolment(next(), "11", learner, "CERTIFIED", "2025-09-01T09:00:00Z", json!({"certified_level": 6})),
        ));
    }
    events.push((topics::ASSESSMENTS, assessment(next(), "A1", "INITIAL", 2, "2025-02-02T09:00:00Z")));
    events.push((topics::ASSESSMENTS, assessment(next(), "A1", "FINAL", 5, "2025-09-30T09:00:00Z")));
    events.push((topics::ASSESSMENTS, assessment(next(), "A2", "INITIAL", 3, "2025-02-02T09:00:00Z")));
    events.push((topics::ASSESSMENTS, assessment(next(), "A2", "FINAL", 4, "2025-09-30T09:00:00Z")));
    events.push((topics::DEMAND, demand(next(), "84", json!({"skill": "3.4"}), 20, 5, "2025-03-01T00:00:00Z")));
    events.push((topics::DEMAND, demand(next(), "84", json!({"rome_code": "M1805"}), 10, 5, "2025-06-01T00:00:00Z")));
    events.push((topics::DEMAND, demand(next(), "11", json!({"skill": "3.4"}), 10, 2, "2025-04-01T00:00:00Z")));
    events.push((topics::DEMAND, demand(next(), "84", json!({"skill": "3.4"}), 100, 50, "2024-12-31T00:00:00Z")));

    // Odd events as protobuf, even ones as JSON; then a duplicate of the
    // first event in the other encoding, and an event with a bad region.
    let mut messages: Vec<(&str, Message)> = events
        .iter()
        .enumerate()
        .map(|(i, (topic, event))| (*topic, if i % 2 == 0 { as_json(event) } else { as_protobuf(event) }))
        .collect();
    messages.push((events[0].0, as_protobuf(&events[0].1)));
    let bad = enrolment(900, "99", "Z", "ENROLLED", "2025-01-10T09:00:00Z", json!({}));
    messages.push((topics::ENROLMENTS, as_json(&bad)));
    messages
}

pub fn cell<'a>(cells: &'a [pb::CellIndicators], region: &str, skill: &str) -> &'a pb::CellIndicators {
    cells.iter().find(|c| c.region == region && c.skill == skill).expect("cell present")
}

pub fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

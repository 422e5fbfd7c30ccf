//! The xAPI mapping, verb by verb, and what it refuses.

use super::*;
use crate::events::{ContentType, IngestPolicy, normalize};
use crate::pseudonym::{Pseudonymiser, SecretKey};
use serde_json::{Value, json};
use skills_proto::v1 as pb;
use skills_proto::v1::event_envelope::Payload;

const ID: &str = "5b1f8c2e-9d7a-4c3b-8e6f-1a2b3c4d5e6f";

fn stored() -> DateTime<Utc> {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn statement(verb: &str, extensions: Value) -> Value {
    json!({
        "id": ID,
        "actor": {"objectType": "Agent", "account": {"homePage": "https://lms.example.org", "name": "u-1234"}},
        "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}"), "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": "https://lms.example.org/courses/web-dev",
                   "definition": {"type": "http://adlnet.gov/expapi/activities/course"}},
        "context": {"extensions": extensions},
        "timestamp": "2025-03-03T09:00:00Z"
    })
}

fn mapped(value: Value) -> Result<pb::EventEnvelope, Rejection> {
    XapiRecord { partner_id: "mooc-fun".into(), stored: stored(), statement: value }.to_envelope()
}

fn enrolment_of(envelope: pb::EventEnvelope) -> pb::Enrolment {
    match envelope.payload {
        Some(Payload::Enrolment(enrolment)) => enrolment,
        other => panic!("expected an enrolment, got {other:?}"),
    }
}

fn course_extensions() -> Value {
    json!({
        extensions::COMPETENCE: ["3.4", "3.1"],
        extensions::PLACE: {"commune": "69123"},
        extensions::PROGRAMME: "GEN",
        extensions::PROFILE: {"gender": "FEMALE", "ageBand": "AGE_BAND_UNDER_26", "priorityNeighbourhood": true}
    })
}

#[test]
fn enrolment_verbs_map_to_their_status() {
    use pb::EnrolmentStatus as S;
    for (verb, status) in [
        ("registered", S::Enrolled),
        ("initialized", S::Started),
        ("launched", S::Started),
        ("completed", S::Completed),
    ] {
        let envelope = mapped(statement(verb, course_extensions())).unwrap();
        assert_eq!(envelope.event_id, ID);
        assert_eq!(envelope.partner_id, "mooc-fun");
        assert_eq!(envelope.occurred_at.unwrap().seconds, 1_740_992_400);
        let enrolment = enrolment_of(envelope);
        assert_eq!(enrolment.status, status as i32, "{verb}");
        assert_eq!(enrolment.learner_id, "u-1234");
        assert_eq!(enrolment.course_id, "https://lms.example.org/courses/web-dev");
        assert_eq!(enrolment.skills, ["3.4", "3.1"]);
        assert_eq!(enrolment.programme, "GEN");
        let profile = enrolment.profile.unwrap();
        assert_eq!(profile.gender, pb::Gender::Female as i32);
        assert!(profile.priority_neighbourhood);
        assert_eq!(enrolment.certified_level, None);
    }
    let mut abandoned = statement("x", course_extensions());
    abandoned["verb"]["id"] = json!("https://w3id.org/xapi/adl/verbs/abandoned");
    assert_eq!(enrolment_of(mapped(abandoned).unwrap()).status, S::DroppedOut as i32);
}

#[test]
fn passed_certifies_at_the_level_given_and_needs_one() {
    let mut extensions = course_extensions();
    extensions[extensions::LEVEL] = json!(5);
    let enrolment = enrolment_of(mapped(statement("passed", extensions)).unwrap());
    assert_eq!(enrolment.status, pb::EnrolmentStatus::Certified as i32);
    assert_eq!(enrolment.certified_level, Some(5));

    let rejection = mapped(statement("passed", course_extensions())).unwrap_err();
    assert_eq!(rejection.reason, RejectReason::UnmappedStatement);
    assert!(rejection.message.contains(extensions::LEVEL), "{}", rejection.message);
}

#[test]
fn scored_and_failed_are_assessments_with_a_normalised_score() {
    let mut scored = statement(
        "scored",
        json!({
            extensions::COMPETENCE: "5.1", extensions::PLACE: {"region": "84"}, extensions::PHASE: "initial"
        }),
    );
    scored["result"] = json!({"score": {"raw": 30, "min": 0, "max": 40}, "extensions": {extensions::LEVEL: "3"}});
    let Some(Payload::Assessment(assessment)) = mapped(scored.clone()).unwrap().payload else { panic!() };
    assert_eq!((assessment.skill.as_str(), assessment.level), ("5.1", 3));
    assert_eq!(assessment.phase, pb::AssessmentPhase::Initial as i32);
    assert_eq!(assessment.framework, pb::Framework::Digcomp22 as i32);
    assert!((assessment.score - 75.0).abs() < 1e-9);

    // Without its phase, a score cannot be placed before or after training.
    scored["context"]["extensions"].as_object_mut().unwrap().remove(extensions::PHASE);
    assert_eq!(mapped(scored.clone()).unwrap_err().reason, RejectReason::UnmappedStatement);
    // A failed final test is a final assessment.
    scored["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    scored["result"]["score"] = json!({"scaled": 0.25});
    let Some(Payload::Assessment(assessment)) = mapped(scored).unwrap().payload else { panic!() };
    assert_eq!(assessment.phase, pb::AssessmentPhase::Final as i32);
    assert!((assessment.score - 25.0).abs() < 1e-9);
}

#[test]
fn the_competence_may_come_from_the_activity_id() {
    assert_eq!(competence_in_iri("https://lms.example.org/activities/digcomp/3.4/quiz").as_deref(), Some("3.4"));
    assert_eq!(
        competence_in_iri("https://lms.example.org/courses/course-v1:FUN+DIGCOMP34+2025").as_deref(),
        Some("3.4")
    );
    assert_eq!(competence_in_iri("https://x/digcomp-5.1").as_deref(), Some("5.1"));
    assert_eq!(competence_in_iri("https://x/digcomp/9.9"), None, "not a DigComp competence");
    assert_eq!(competence_in_iri("https://x/digcomp/345"), None, "three digits are not a code");
    assert_eq!(competence_in_iri("https://x/course/web"), None);

    let mut value = statement("registered", json!({extensions::PLACE: {"region": "11"}}));
    value["object"]["id"] = json!("https://lms.example.org/courses/course-v1:FUN+DIGCOMP34+2025/info");
    assert_eq!(enrolment_of(mapped(value).unwrap()).skills, ["3.4"]);
}

#[test]
fn what_does_not_map_says_why() {
    let cases = [
        (statement("experienced", course_extensions()), "verb"),
        (statement("registered", json!({extensions::COMPETENCE: "3.4"})), "no place"),
        (statement("registered", json!({extensions::PLACE: {"region": "84"}})), "no DigComp competence"),
    ];
    for (value, why) in cases {
        let rejection = mapped(value).unwrap_err();
        assert_eq!(rejection.reason, RejectReason::UnmappedStatement, "{why}");
        assert!(rejection.message.contains(why), "{why}: {}", rejection.message);
    }
    let mut agent_object = statement("registered", course_extensions());
    agent_object["object"] = json!({"objectType": "Agent", "mbox": "mailto:a@example.org"});
    assert_eq!(mapped(agent_object).unwrap_err().reason, RejectReason::UnmappedStatement);
}

#[test]
fn a_statement_a_store_would_refuse_is_invalid() {
    let mut cases = Vec::new();
    let mut bad_id = statement("registered", json!({}));
    bad_id["id"] = json!("not-a-uuid");
    cases.push((bad_id, "UUID"));
    let mut two_ids = statement("registered", json!({}));
    two_ids["actor"]["mbox"] = json!("mailto:a@example.org");
    cases.push((two_ids, "more than one identifier"));
    let mut no_verb = statement("registered", json!({}));
    no_verb["verb"] = json!({"id": "registered"});
    cases.push((no_verb, "not an IRI"));
    let mut bad_time = statement("registered", json!({}));
    bad_time["timestamp"] = json!("yesterday");
    cases.push((bad_time, "timestamp"));
    cases.push((json!([1]), "JSON object"));
    // A wrong type deep inside is named by its path.
    let mut nameless = statement("registered", json!({}));
    nameless["actor"]["account"]["name"] = json!(42);
    cases.push((nameless, "actor.account.name: invalid type"));
    for (value, why) in cases {
        let error = Statement::parse(&value).unwrap_err();
        assert!(error.0.contains(why), "{why}: {error}");
    }
}

#[test]
fn without_a_timestamp_the_event_time_is_when_it_was_stored() {
    let mut value = statement("registered", course_extensions());
    value.as_object_mut().unwrap().remove("timestamp");
    let envelope = mapped(value).unwrap();
    assert_eq!(envelope.occurred_at.unwrap().seconds, stored().timestamp());
}

#[test]
fn ingestion_reads_a_stored_record_like_any_event() {
    let record = XapiRecord {
        partner_id: "mooc-fun".into(),
        stored: stored(),
        statement: statement("completed", course_extensions()),
    };
    let payload = serde_json::to_vec(&record).unwrap();
    let key = SecretKey::from_bytes(vec![7; 32]).unwrap();
    let now = "2025-06-02T00:00:00Z".parse().unwrap();
    let pseudonymiser = Pseudonymiser::single(key, 1);
    let normalized =
        normalize(&payload, Some(ContentType::Xapi), &IngestPolicy::default(), &pseudonymiser, now).unwrap();
    assert_eq!(normalized.region, "84");
    assert_eq!(normalized.partner_id, "mooc-fun");
    assert_eq!(crate::events::event_id_of(&payload, Some(ContentType::Xapi)).as_deref(), Some(ID));

    let unmapped = XapiRecord { statement: statement("experienced", json!({})), ..record };
    let rejection = normalize(
        &serde_json::to_vec(&unmapped).unwrap(),
        Some(ContentType::Xapi),
        &IngestPolicy::default(),
        &pseudonymiser,
        now,
    )
    .unwrap_err();
    assert_eq!(rejection.reason, RejectReason::UnmappedStatement);
}

#[test]
fn the_shipped_example_statements_map_and_pass_the_contract() {
    let text = include_str!("../../../../../proto/examples/xapi-statements.json");
    let statements: Vec<Value> = serde_json::from_str(text).unwrap();
    let policy = IngestPolicy::default();
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let statuses: Vec<(i32, Option<u32>)> = statements
        .into_iter()
        .map(|value| {
            let envelope = mapped(value).unwrap();
            crate::events::validate(envelope.clone(), &policy, now).expect("the example passes the contract");
            let enrolment = enrolment_of(envelope);
            (enrolment.status, enrolment.certified_level)
        })
        .collect();
    assert_eq!(
        statuses,
        [(pb::EnrolmentStatus::Enrolled as i32, None), (pb::EnrolmentStatus::Certified as i32, Some(5))]
    );
}

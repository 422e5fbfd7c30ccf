//! The xAPI statements resource over the embedded bus, as a learning
//! record store client sees it: status codes, ids, what lands on the raw
//! topics. (Curl and Ralph against the real broker: tests/gateway.rs.)

mod support;

use base64::Engine;
use serde_json::{Value, json};
use skills_bus::{headers, topics};
use skills_config::SkillsConfig;
use skills_domain::events::{ContentType, IngestPolicy, RejectReason, normalize};
use skills_domain::pseudonym::{Pseudonymiser, SecretKey};
use skills_domain::xapi::{XAPI_CONTENT_TYPE, XapiRecord, extensions};
use support::*;

fn basic(user: &str, token: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}")))
}

fn statement(id: &str, verb: &str, region: &str) -> Value {
    json!({
        "id": id,
        "actor": {"account": {"homePage": "https://lms.example.org", "name": "u-42"}},
        "verb": {"id": format!("http://adlnet.gov/expapi/verbs/{verb}")},
        "object": {"id": "https://lms.example.org/courses/course-v1:FUN+DIGCOMP34+2025"},
        "context": {"extensions": {extensions::PLACE: {"region": region}}},
        "timestamp": "2025-03-03T09:00:00Z"
    })
}

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn statements_are_stored_once_with_the_status_codes_of_a_store() {
    let running = start(SkillsConfig::default()).await;
    let address = running.address;
    let post = |body: String| {
        tokio::task::spawn_blocking(move || {
            let auth = basic("gen-lyon", TOKEN);
            let headers = [
                ("authorization", auth.as_str()),
                ("x-experience-api-version", "1.0.3"),
                ("content-type", "application/json"),
            ];
            http(address, "POST /xAPI/statements", &headers, &body)
        })
    };

    let (a, b) = (id(), id());
    let batch = json!([statement(&a, "registered", "84"), statement(&b, "completed", "11")]).to_string();
    let (status, response_headers, body) = post(batch.clone()).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Vec<String>>(&body).unwrap(), [a.clone(), b.clone()]);
    assert_eq!(header(&response_headers, "x-experience-api-version"), Some("1.0.3"));

    // The same request again: the same ids, nothing written twice; nor
    // with the id in capitals, the same UUID.
    let (status, _, body) = post(batch).await.unwrap();
    assert_eq!((status, serde_json::from_str::<Vec<String>>(&body).unwrap()), (200, vec![a.clone(), b.clone()]));
    let (status, _, body) = post(json!([statement(&a.to_uppercase(), "registered", "84")]).to_string()).await.unwrap();
    assert_eq!((status, serde_json::from_str::<Vec<String>>(&body).unwrap()), (200, vec![a.clone()]));
    let written = records(&running.bus, topics::ENROLMENTS).await;
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].message.header(headers::CONTENT_TYPE), Some(XAPI_CONTENT_TYPE.as_bytes()));
    // Stored as an LRS stores it: the statement with its id and `stored`.
    let record: XapiRecord = serde_json::from_slice(&written[0].message.payload).unwrap();
    assert_eq!((record.partner_id.as_str(), record.statement["id"].as_str()), ("gen-lyon", Some(a.as_str())));
    let stamped = record.statement["stored"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert!(
        (record.stored - stamped).num_milliseconds().abs() < 1,
        "{stamped} is {} to the millisecond",
        record.stored
    );

    // What ingest makes of a stored statement: the event it maps to.
    let pseudonymiser = Pseudonymiser::single(SecretKey::from_bytes(vec![1; 32]).unwrap(), 1);
    let now = chrono::Utc::now();
    let event =
        normalize(&written[0].message.payload, Some(ContentType::Xapi), &IngestPolicy::default(), &pseudonymiser, now)
            .unwrap();
    assert_eq!(
        (event.event_id.as_str(), event.region.as_str(), event.partner_id.as_str()),
        (a.as_str(), "84", "gen-lyon")
    );

    // The same id with other content: 409, nothing stored.
    let (status, _, body) = post(json!([statement(&a, "completed", "84")]).to_string()).await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(body.contains(&a), "{body}");

    // A statement that maps but breaks the contract: 400 naming it.
    let (status, _, body) = post(json!([statement(&id(), "registered", "99")]).to_string()).await.unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("statement 0") && body.contains("unknown_region"), "{body}");
    assert_eq!(records(&running.bus, topics::ENROLMENTS).await.len(), 2);
    running.trigger.trigger();
}

#[tokio::test]
async fn an_unmapped_statement_is_stored_and_dead_lettered_downstream_with_its_reason() {
    let running = start(SkillsConfig::default()).await;
    let address = running.address;
    let auth = basic("gen-lyon", TOKEN);
    let unmapped = id();
    let mut video = statement(&unmapped, "experienced", "84");
    video["object"]["id"] = json!("https://lms.example.org/videos/intro");
    let body = json!([video]).to_string();
    let (status, _, answer) = tokio::task::spawn_blocking(move || {
        http(
            address,
            "POST /xAPI/statements",
            &[("authorization", &auth), ("x-experience-api-version", "2.0.0")],
            &body,
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    let written = records(&running.bus, topics::ENROLMENTS).await;
    assert_eq!(written.len(), 1);
    let pseudonymiser = Pseudonymiser::single(SecretKey::from_bytes(vec![1; 32]).unwrap(), 1);
    let rejection = normalize(
        &written[0].message.payload,
        Some(ContentType::Xapi),
        &IngestPolicy::default(),
        &pseudonymiser,
        chrono::Utc::now(),
    )
    .unwrap_err();
    assert_eq!(rejection.reason, RejectReason::UnmappedStatement);
    assert!(rejection.message.contains("experienced"), "{}", rejection.message);
    running.trigger.trigger();
}

#[tokio::test]
async fn put_about_and_the_refusals_of_a_store() {
    let running = start(SkillsConfig::default()).await;
    let address = running.address;
    let auth = basic("gen-lyon", TOKEN);
    let put_id = id();
    let single = statement(&put_id, "registered", "53").to_string();
    let exchanges = tokio::task::spawn_blocking(move || {
        let version = ("x-experience-api-version", "1.0.3");
        let authorized = [("authorization", auth.as_str()), version];
        vec![
            http(address, &format!("PUT /xAPI/statements?statementId={put_id}"), &authorized, &single),
            http(address, "GET /xAPI/about", &[], ""),
            http(address, "POST /xAPI/statements", &[version], &single),
            http(address, "POST /xAPI/statements", &[("authorization", &basic("fun-mooc", TOKEN)), version], &single),
            http(address, "POST /xAPI/statements", &[("authorization", auth.as_str())], &single),
            http(address, "POST /xAPI/statements", &authorized, "{\"actor\": 1}"),
            http(address, "GET /xAPI/statements", &authorized, ""),
        ]
    })
    .await
    .unwrap();
    let statuses: Vec<u16> = exchanges.iter().map(|(status, _, _)| *status).collect();
    assert_eq!(statuses, [204, 200, 401, 401, 400, 400, 405], "{exchanges:?}");
    assert!(exchanges[1].2.contains("2.0.0"), "{}", exchanges[1].2);
    assert!(header(&exchanges[2].1, "www-authenticate").is_some_and(|value| value.starts_with("Basic")));
    assert!(exchanges[3].2.contains("not the partner"), "{}", exchanges[3].2);
    assert!(exchanges[4].2.contains("X-Experience-API-Version"), "{}", exchanges[4].2);
    assert_eq!(records(&running.bus, topics::ENROLMENTS).await.len(), 1, "only the PUT stored");
    running.trigger.trigger();
}

//! The xAPI statements resource of a learning record store, write side:
//! `POST` and `PUT /xAPI/statements` (xAPI 1.0.3 and 2.0.0), and
//! `GET /xAPI/about`. Status codes are those of the specification; the
//! mapping to events is docs/xapi.md. Every accepted statement is durable
//! in Kafka before the answer.

use crate::auth;
use crate::credentials::CredentialStore;
use crate::publisher::{Outgoing, Publisher, Refusal, Verdict, content_hash};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use skills_bus::{Message, headers};
use skills_domain::events::{EventKind, RejectReason};
use skills_domain::xapi::{Statement, XAPI_CONTENT_TYPE, to_envelope};
use skills_proto::Message as _;
use std::sync::Arc;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

const VERSION_HEADER: &str = "x-experience-api-version";
/// The versions answered in `/xAPI/about`.
const VERSIONS: [&str; 2] = ["1.0.3", "2.0.0"];
/// Namespace of the ids given to statements sent without one.
const ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5d1c_7a3e_2b4f_4e8a_9c6d_0f1e_2a3b_4c5d);

#[derive(Clone)]
struct XapiState {
    publisher: Arc<Publisher>,
    credentials: Arc<CredentialStore>,
}

pub fn router(publisher: Arc<Publisher>, credentials: Arc<CredentialStore>) -> Router {
    Router::new()
        .route("/xAPI/statements", post(post_statements).put(put_statements).get(read_not_offered))
        .route("/xAPI/about", get(about))
        .with_state(XapiState { publisher, credentials })
}

/// An answer that is not a success.
#[derive(Debug)]
struct Problem {
    status: StatusCode,
    message: String,
    retry_after: Option<std::time::Duration>,
}

impl Problem {
    fn new(status: StatusCode, message: impl Into<String>) -> Problem {
        Problem { status, message: message.into(), retry_after: None }
    }

    fn bad_request(message: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, message)
    }

    fn of_refusal(refusal: &Refusal) -> Problem {
        let status = match refusal {
            Refusal::Quota { .. } | Refusal::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::TooMany { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        };
        Problem { status, message: refusal.to_string(), retry_after: refusal.retry_after() }
    }

    fn into_response(self, version: &str) -> Response {
        let mut response = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "application/json")
            .header(VERSION_HEADER, version);
        if self.status == StatusCode::UNAUTHORIZED {
            response = response.header(header::WWW_AUTHENTICATE, "Basic realm=\"skills-gateway xAPI\"");
        }
        if let Some(delay) = self.retry_after {
            response = response.header(header::RETRY_AFTER, delay.as_secs_f64().ceil().max(1.0).to_string());
        }
        let body = json!({"error": self.message}).to_string();
        response.body(Body::from(body)).expect("a valid response")
    }
}

async fn about() -> Response {
    let body = json!({"version": VERSIONS}).to_string();
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(VERSION_HEADER, VERSIONS[0])
        .body(Body::from(body))
        .expect("a valid response")
}

async fn read_not_offered() -> Response {
    let mut response = Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this learning record store takes statements (POST, PUT); reading them back is not offered",
    )
    .into_response(VERSIONS[0]);
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST, PUT"));
    response
}

async fn post_statements(State(state): State<XapiState>, request: Request) -> Response {
    let version = version_of(request.headers());
    match store(&state, request, None).await {
        Ok(ids) => Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .header(VERSION_HEADER, version.as_str())
            .body(Body::from(Value::from(ids).to_string()))
            .expect("a valid response"),
        Err(problem) => problem.into_response(&version),
    }
}

async fn put_statements(State(state): State<XapiState>, request: Request) -> Response {
    let version = version_of(request.headers());
    let statement_id = request
        .uri()
        .query()
        .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("statementId=")).map(str::to_string));
    let Some(statement_id) = statement_id else {
        return Problem::bad_request("PUT needs the statementId parameter").into_response(&version);
    };
    match store(&state, request, Some(statement_id)).await {
        Ok(_) => Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(VERSION_HEADER, version.as_str())
            .body(Body::empty())
            .expect("a valid response"),
        Err(problem) => problem.into_response(&version),
    }
}

/// The version the client speaks, echoed back; 1.0.3 when it sent none.
fn version_of(headers: &HeaderMap) -> String {
    headers.get(VERSION_HEADER).and_then(|value| value.to_str().ok()).unwrap_or(VERSIONS[0]).to_string()
}

fn check_version(headers: &HeaderMap) -> Result<(), Problem> {
    let version = headers
        .get(VERSION_HEADER)
        .ok_or_else(|| Problem::bad_request("the X-Experience-API-Version header is required (1.0.3 or 2.0.0)"))?;
    let version = version.to_str().unwrap_or("");
    if version.starts_with("1.0") || version.starts_with("2.0") {
        Ok(())
    } else {
        Err(Problem::bad_request(format!("X-Experience-API-Version {version:?} is not supported (1.0.x or 2.0.x)")))
    }
}

fn partner_of(state: &XapiState, request: &Request) -> Result<String, Problem> {
    let authorization = request.headers().get(header::AUTHORIZATION).map(|value| value.to_str().unwrap_or(""));
    let certificates = request.extensions().get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|info| info.peer_certs());
    let leaf = certificates.as_ref().and_then(|chain| chain.first()).map(|der| der.as_ref());
    auth::partner_of(&state.credentials.current(), authorization, leaf).map_err(|error| {
        state.publisher.stats().unauthenticated();
        Problem::new(StatusCode::UNAUTHORIZED, error.to_string())
    })
}

/// Checks, maps and writes the statements of one request; their ids.
async fn store(state: &XapiState, request: Request, put_id: Option<String>) -> Result<Vec<String>, Problem> {
    let partner = partner_of(state, &request)?;
    check_version(request.headers())?;
    let publisher = &state.publisher;
    let limit = publisher.config().max_request_bytes;
    let body = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| Problem::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the request is over {limit} bytes")))?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|error| Problem::bad_request(format!("the body is not JSON: {error}")))?;
    let mut statements = match (value, &put_id) {
        (Value::Array(items), None) => items,
        (Value::Array(_), Some(_)) => return Err(Problem::bad_request("PUT takes one statement, not an array")),
        (single, _) => vec![single],
    };
    if let Some(id) = &put_id {
        let statement = &mut statements[0];
        match statement.get("id").and_then(Value::as_str) {
            Some(own) if !own.eq_ignore_ascii_case(id) => {
                return Err(Problem::bad_request(format!("the statement's id {own} is not statementId {id}")));
            }
            _ => statement["id"] = Value::String(id.clone()),
        }
    }
    let admitted = publisher.admit(&partner, statements.len()).await.map_err(|r| Problem::of_refusal(&r))?;
    let stored = Utc::now();
    let mut items = Vec::with_capacity(statements.len());
    for (index, statement) in statements.into_iter().enumerate() {
        items.push(prepare(publisher, &partner, index, statement, stored)?);
    }
    if let Some(conflict) = publisher.first_conflict(&items) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            format!("statement {}: id {} was already stored with other content", conflict.index, conflict.event_id),
        ));
    }
    let ids: Vec<String> = items.iter().map(|item| item.event_id.clone()).collect();
    let verdicts = publisher.write(&partner, items, admitted).await.map_err(|r| Problem::of_refusal(&r))?;
    // Two statements of one request with one id and other contents.
    if let Some((item, _)) = verdicts.iter().find(|(_, verdict)| *verdict == Verdict::Conflict) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            format!("statement {}: id {} appears twice with other contents", item.index, item.event_id),
        ));
    }
    Ok(ids)
}

/// One statement: checked as a store does, given an id if it has none,
/// stamped `stored`, mapped and checked as ingest would, and wrapped for
/// its raw topic. A statement that maps to no event is still stored: it
/// is dead-lettered downstream as `unmapped_statement`.
fn prepare(
    publisher: &Publisher,
    partner: &str,
    index: usize,
    mut value: Value,
    stored: DateTime<Utc>,
) -> Result<Outgoing, Problem> {
    let at = |message: String| Problem::bad_request(format!("statement {index}: {message}"));
    let Some(object) = value.as_object_mut() else {
        return Err(at("a statement is a JSON object".into()));
    };
    // Set by the store, not the client.
    object.remove("stored");
    object.remove("authority");
    let mut statement = Statement::parse(&value).map_err(|error| at(error.to_string()))?;
    let id = match &statement.id {
        Some(id) => uuid::Uuid::parse_str(id).map_err(|_| at(format!("id {id:?} is not a UUID")))?,
        None => uuid::Uuid::new_v5(&ID_NAMESPACE, format!("{partner}\n{value}").as_bytes()),
    };
    let id = id.hyphenated().to_string();
    value["id"] = Value::String(id.clone());
    statement.id = Some(id.clone());
    // Serialized once (the gateway's largest cost per statement): the
    // content compared for conflicts is the statement with its id written
    // the one way, before the store's `stored`, which is spliced in after.
    let without_stored = serde_json::to_vec(&value).map_err(|error| at(error.to_string()))?;
    let content = content_hash(&without_stored);
    let topic = match to_envelope(&statement, partner, stored) {
        Ok(envelope) => {
            let kind = EventKind::of(&envelope);
            let size = envelope.encoded_len();
            publisher.check(partner, envelope, size, stored).map_err(|rejection| {
                publisher.count_rejection(partner, &rejection);
                let field = rejection.field.as_deref().map(|field| format!(" ({field})")).unwrap_or_default();
                at(format!("{}{field}: {}", rejection.reason, rejection.message))
            })?;
            publisher.topic_of(kind).to_string()
        }
        Err(rejection) if rejection.reason == RejectReason::UnmappedStatement => publisher.topic_of(None).to_string(),
        Err(rejection) => {
            publisher.count_rejection(partner, &rejection);
            return Err(at(format!("{}: {}", rejection.reason, rejection.message)));
        }
    };
    let message = Message::new(record_bytes(partner, stored, &without_stored))
        .with_header(headers::CONTENT_TYPE, XAPI_CONTENT_TYPE)
        .with_header(headers::PARTNER_ID, partner);
    Ok(Outgoing { index: index as u64, event_id: id, content, topic, message })
}

/// An `XapiRecord`'s JSON, from a statement already serialized as a JSON
/// object without `stored`: the statement gets `stored` (milliseconds, as
/// an LRS writes it) as its last member; the record keeps the full time.
fn record_bytes(partner: &str, stored: DateTime<Utc>, statement: &[u8]) -> Vec<u8> {
    let in_record = serde_json::to_string(&stored).expect("a time serializes");
    let in_statement =
        serde_json::to_string(&stored.to_rfc3339_opts(SecondsFormat::Millis, true)).expect("a string serializes");
    let partner = serde_json::to_string(partner).expect("a string serializes");
    let members = &statement[1..statement.len() - 1];
    let comma = if members.is_empty() { "" } else { "," };
    let mut out = Vec::with_capacity(statement.len() + partner.len() + in_record.len() + in_statement.len() + 64);
    out.extend_from_slice(format!("{{\"partner_id\":{partner},\"stored\":{in_record},\"statement\":{{").as_bytes());
    out.extend_from_slice(members);
    out.extend_from_slice(format!("{comma}\"stored\":{in_statement}}}}}").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use skills_domain::xapi::XapiRecord;

    #[test]
    fn a_record_reads_back_with_the_statement_and_both_times() {
        let stored = "2026-12-02T20:21:05.123456789Z".parse::<DateTime<Utc>>().unwrap();
        let statement = json!({"id": "3f0c1d2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "verb": {"id": "x\"y"}});
        let bytes = record_bytes("gen-\"lyon", stored, &serde_json::to_vec(&statement).unwrap());
        let record: XapiRecord = serde_json::from_slice(&bytes).unwrap();
        assert_eq!((record.partner_id.as_str(), record.stored), ("gen-\"lyon", stored));
        let mut expected = statement;
        expected["stored"] = json!("2026-12-02T20:21:05.123Z");
        assert_eq!(record.statement, expected);
    }

    #[test]
    fn an_empty_statement_object_gets_stored_alone() {
        let stored = Utc::now();
        let record: XapiRecord = serde_json::from_slice(&record_bytes("p", stored, b"{}")).unwrap();
        assert_eq!(record.statement.as_object().unwrap().keys().collect::<Vec<_>>(), ["stored"]);
    }
}

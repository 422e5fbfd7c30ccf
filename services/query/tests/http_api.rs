//! The HTTP face of skills-query on the gRPC port: every `/v1/` route
//! answers what the same gRPC call answers, for the same token (JSON
//! field for field, CSV value for value, withheld cells empty), errors
//! carry the gRPC code's HTTP status, the dashboard is served, and the
//! gRPC calls are counted under the conventional metric names.

mod support;

use serde_json::Value;
use skills_proto::v1 as pb;
use std::collections::BTreeMap;
use support::{PARTNER_TOKEN, PUBLIC_TOKEN, TOKEN, serve};
use tonic::Request;

struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

/// One HTTP/1.1 GET with the headers given, over a fresh connection.
async fn get(endpoint: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    send(endpoint, "GET", path, headers).await
}

async fn send(endpoint: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\ncontent-length: 0\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Answer { status, headers, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}

fn bearer(token: Option<&str>) -> Vec<(&'static str, String)> {
    token.map(|t| vec![("authorization", format!("Bearer {t}"))]).unwrap_or_default()
}

fn grpc<T>(token: Option<&str>, message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

async fn json(endpoint: &str, path: &str, token: Option<&str>) -> Value {
    let headers = bearer(token);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = get(endpoint, path, &headers).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json");
    // What a token holder reads must not be served to others by a cache.
    assert_eq!(answer.headers["cache-control"], "private, no-store");
    assert_eq!(answer.headers["vary"], "authorization, accept");
    serde_json::from_str(&answer.body).unwrap()
}

async fn csv(endpoint: &str, path: &str, token: Option<&str>) -> Vec<BTreeMap<String, String>> {
    let mut headers = bearer(token);
    headers.push(("accept", "text/csv".into()));
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = get(endpoint, path, &headers).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    assert!(answer.headers["content-type"].starts_with("text/csv"));
    let mut lines = answer.body.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
    lines.map(|line| header.iter().cloned().zip(line.split(',').map(str::to_string)).collect()).collect()
}

/// The JSON of a gRPC answer, every field present, as the routes write it.
fn expected<M: prost::Message + prost::Name>(message: &M) -> Value {
    serde_json::from_str(&skills_proto::json::to_json_full(message)).unwrap()
}

const TOKENS: [Option<&str>; 4] = [None, Some(PUBLIC_TOKEN), Some(PARTNER_TOKEN), Some(TOKEN)];

#[tokio::test]
async fn json_routes_answer_what_grpc_answers_for_every_audience() {
    let mut running = serve(8).await;
    let endpoint = running.endpoint.clone();
    for token in TOKENS {
        let request = pb::GetRegionIndicatorsRequest { region: "11".into(), period: "2025".into() };
        let answer = running.client.get_region_indicators(grpc(token, request)).await.unwrap().into_inner();
        assert_eq!(json(&endpoint, "/v1/regions/11/indicators?period=2025", token).await, expected(&answer));

        let request = pb::GetSkillAcrossRegionsRequest { skill: "3.4".into(), period: "2025".into() };
        let answer = running.client.get_skill_across_regions(grpc(token, request)).await.unwrap().into_inner();
        assert_eq!(json(&endpoint, "/v1/skills/3.4/regions?period=2025", token).await, expected(&answer));

        let request = pb::RankShortagesRequest { period: "2025".into(), top: 5, ..Default::default() };
        let answer = running.client.rank_shortages(grpc(token, request)).await.unwrap().into_inner();
        assert_eq!(json(&endpoint, "/v1/shortages?period=2025&top=5", token).await, expected(&answer));

        let request = pb::GetInclusionRequest { region: "11".into(), period: "2025".into() };
        let answer = running.client.get_inclusion(grpc(token, request)).await.unwrap().into_inner();
        assert_eq!(json(&endpoint, "/v1/regions/11/inclusion?period=2025", token).await, expected(&answer));

        let request = pb::GetTrendRequest {
            region: "11".into(),
            skill: "3.4".into(),
            from: "2025-01".into(),
            to: "2025-12".into(),
        };
        let answer = running.client.get_trend(grpc(token, request)).await.unwrap().into_inner();
        let path = "/v1/regions/11/trend?skill=3.4&from=2025-01&to=2025-12";
        assert_eq!(json(&endpoint, path, token).await, expected(&answer));
    }
    let answer = running.client.get_reference_data(grpc(None, pb::GetReferenceDataRequest {})).await.unwrap();
    assert_eq!(json(&endpoint, "/v1/regions", None).await, expected(answer.get_ref()));
    let status = running.client.get_pipeline_status(grpc(Some(TOKEN), pb::GetPipelineStatusRequest {})).await;
    let mut status = expected(status.unwrap().get_ref());
    let mut served = json(&endpoint, "/v1/status", Some(TOKEN)).await;
    for value in [&mut status, &mut served] {
        value.as_object_mut().unwrap().remove("asOf");
    }
    assert_eq!(served, status);

    let asking = pb::GetPartnerStatusRequest { partner_id: "p".into() };
    let answer = running.client.get_partner_status(grpc(Some(PARTNER_TOKEN), asking)).await.unwrap();
    let mut expected = expected(answer.get_ref());
    let mut served = json(&endpoint, "/v1/partners/p/status", Some(PARTNER_TOKEN)).await;
    for value in [&mut expected, &mut served] {
        value.as_object_mut().unwrap().remove("lagSeconds");
    }
    assert_eq!(served, expected);
    running.trigger.trigger();
}

#[tokio::test]
async fn csv_rows_hold_the_grpc_values_and_leave_withheld_cells_empty() {
    let mut running = serve(8).await;
    let endpoint = running.endpoint.clone();
    let mut withheld_seen = 0;
    for token in TOKENS {
        let request = pb::GetRegionIndicatorsRequest { region: "11".into(), period: "2025".into() };
        let answer = running.client.get_region_indicators(grpc(token, request)).await.unwrap().into_inner();
        let rows = csv(&endpoint, "/v1/regions/11/indicators?period=2025", token).await;
        assert_eq!(rows.len(), answer.cells.len());
        for (row, cell) in rows.iter().zip(&answer.cells) {
            assert_eq!((row["region"].as_str(), row["skill"].as_str()), (cell.region.as_str(), cell.skill.as_str()));
            assert_eq!(row["suppressed"], cell.suppressed.to_string());
            let text = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
            assert_eq!(row["learners"], text(cell.learners), "{row:?}");
            assert_eq!(row["certified"], text(cell.certified), "{row:?}");
            assert_eq!(row["talent_gap"], cell.talent_gap.map(|v| v.to_string()).unwrap_or_default());
            assert_eq!(row["shortage_score"], cell.shortage_score.map(|v| v.to_string()).unwrap_or_default());
            assert_eq!(row["openings"], cell.openings.to_string());
            assert_eq!(row["region_name"], "Île-de-France");
            if cell.suppressed {
                withheld_seen += 1;
                assert!(row["learners"].is_empty() && row["enrolled"].is_empty(), "a withheld cell shows no count");
            }
        }
    }
    assert!(withheld_seen > 0, "the story has cells the public may not see");
    running.trigger.trigger();
}

#[tokio::test]
async fn errors_carry_the_status_of_their_grpc_code() {
    let running = serve(4).await;
    let endpoint = running.endpoint.clone();
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);
    let cases: [Case; 9] = [
        ("/v1/regions/%FF/indicators", &[], 400, "invalid_argument"),
        ("/v1/partners/q/status", &[("authorization", "Bearer partner-token")], 403, "permission_denied"),
        ("/v1/regions/99/indicators", &[], 400, "invalid_argument"),
        ("/v1/regions/11/indicators?perod=2025", &[], 400, "invalid_argument"),
        ("/v1/regions/11/indicators?skill=3.4", &[], 400, "invalid_argument"),
        ("/v1/shortages?rank_by=size", &[], 400, "invalid_argument"),
        ("/v1/regions/11/indicators", &[("authorization", "Bearer nobody")], 401, "unauthenticated"),
        ("/v1/status", &[("authorization", "Bearer public-token")], 403, "permission_denied"),
        ("/v1/nothing", &[], 404, "not_found"),
    ];
    for (path, headers, status, code) in cases {
        let answer = get(&endpoint, path, headers).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(body["code"], code, "{path}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let refused = get(&endpoint, "/v1/regions", &[("authorization", "Bearer nobody")]).await;
    assert_eq!(refused.headers["www-authenticate"], "Bearer");
    let posted = send(&endpoint, "POST", "/v1/regions", &[]).await;
    assert_eq!(posted.status, 405, "{}", posted.body);
    assert_eq!(serde_json::from_str::<Value>(&posted.body).unwrap()["code"], "unimplemented");
    running.trigger.trigger();
}

#[tokio::test]
async fn the_dashboard_is_served_beside_grpc() {
    let running = serve(4).await;
    let page = get(&running.endpoint, "/", &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.headers["content-type"].starts_with("text/html"));
    assert!(page.headers["content-security-policy"].contains("default-src 'self'"));
    let script = get(&running.endpoint, "/dashboard.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!((script.status, script.headers["content-encoding"].as_str()), (200, "gzip"));
    running.trigger.trigger();
}

#[tokio::test]
async fn grpc_calls_are_counted_under_the_conventional_names() {
    let running = serve(4).await;
    // A server of its own, whose registry the test holds.
    let options = skills_query::ServeOptions::default();
    let registry = options.metrics.clone();
    let (stop, shutdown) = skills_runtime::shutdown_pair();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let api = skills_query::service::TalentGapApi::in_process(
        running.engine.clone(),
        skills_query::auth::Authorizer::new(Some("public")).unwrap(),
        4,
        shutdown.clone(),
    );
    tokio::spawn(skills_query::serve(listener, api, options, shutdown));
    let mut client = pb::talent_gap_service_client::TalentGapServiceClient::connect(endpoint).await.unwrap();
    let ok = pb::GetRegionIndicatorsRequest { region: "11".into(), period: "2025".into() };
    client.get_region_indicators(ok.clone()).await.unwrap();
    client.get_region_indicators(ok).await.unwrap();
    let bad = pb::GetRegionIndicatorsRequest { region: "99".into(), period: "2025".into() };
    assert!(client.get_region_indicators(bad).await.is_err());
    let mut text = skills_runtime::metrics::Exposition::default();
    registry.render(&mut text);
    let text = text.finish();
    let labels = r#"grpc_type="unary",grpc_service="skills.v1.TalentGapService",grpc_method="GetRegionIndicators""#;
    assert!(text.contains(&format!("grpc_server_started_total{{{labels}}} 3\n")), "{text}");
    assert!(text.contains(&format!("grpc_server_handled_total{{{labels},grpc_code=\"OK\"}} 2\n")), "{text}");
    assert!(
        text.contains(&format!("grpc_server_handled_total{{{labels},grpc_code=\"InvalidArgument\"}} 1\n")),
        "{text}"
    );
    assert!(text.contains(&format!("grpc_server_handling_seconds_count{{{labels}}} 3\n")), "{text}");
    let watch = r#"grpc_type="server_stream",grpc_service="skills.v1.TalentGapService",grpc_method="WatchIndicators""#;
    assert!(text.contains(&format!("grpc_server_started_total{{{watch}}} 0\n")), "{text}");
    stop.trigger();
    running.trigger.trigger();
}

#[tokio::test]
async fn a_slow_answer_is_a_json_504_before_the_transport_deadline() {
    let options = skills_query::ServeOptions {
        request_timeout: Some(std::time::Duration::from_millis(400)),
        ..Default::default()
    };
    let running =
        support::serve_with(skills_query::config::Limits::unlimited(4), std::time::Duration::from_secs(600), options)
            .await;
    running.store.set_read_delay(std::time::Duration::from_secs(3));
    let answer = get(&running.endpoint, "/v1/regions/84/indicators?period=2024", &[]).await;
    assert_eq!(answer.status, 504, "{}", answer.body);
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["code"], "deadline_exceeded");
    running.trigger.trigger();
}

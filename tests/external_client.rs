//! The query service as other programs see it: grpcurl (the Go gRPC
//! client, built by deploy/tools.sh) with no .proto files, through server
//! reflection alone; and curl speaking gRPC-web over HTTP/1.1 with CORS, as
//! a browser dashboard does. Every call, the auth failures, suppression,
//! validation errors, paging and the watch stream. The data is the
//! hand-computed story of embedded_stack.rs (k = 3 here).

mod common;

use common::story;
use serde_json::Value;
use skills::config::SkillsConfig;
use skills::stack::{EmbeddedStack, bind};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

const PARTNER_TOKEN: &str = "external-partner-token";
const DASHBOARD: &str = "https://dash.example.org";

fn tool(name: &str, variable: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let cached =
        std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".cache/skills-monitor/bin").join(name);
    assert!(cached.exists(), "{name} not found: run deploy/tools.sh (deploy/test.sh does) or set {variable}");
    cached
}

/// Every number as a double, so that `0` and `0.0` compare equal.
fn same_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) => n.as_f64().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.into_iter().map(same_numbers).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, same_numbers(v))).collect()),
        other => other,
    }
}

struct Service {
    stack: EmbeddedStack,
    address: String,
    policy: String,
}

async fn start() -> Service {
    let dir = std::env::temp_dir().join(format!("skills-external-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tokens"), format!("partner:gen-partner {PARTNER_TOKEN}\n")).unwrap();
    let mut config = SkillsConfig::default().in_dir(dir.clone());
    config.indicators.suppression_k = 3;
    config.query.refresh_interval_ms = 50;
    config.query.tokens_file = Some(dir.join("tokens"));
    config.query.cors_allowed_origins = vec![DASHBOARD.into()];
    config.aggregator.batch_max_wait_ms = 20;
    config.ingest.batch_max_wait_ms = 20;
    let stack = EmbeddedStack::start(config, bind("127.0.0.1:0").await.unwrap()).await.unwrap();
    for (topic, message) in story() {
        stack.send(topic, vec![message]).await.unwrap();
    }
    stack.wait_idle(Duration::from_secs(60)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await; // the engine notices the data
    let address = stack.endpoint().trim_start_matches("http://").to_string();
    let policy = stack.policy_token().to_string();
    Service { stack, address, policy }
}

impl Service {
    /// grpcurl in plaintext with an optional token: `flags`, the address,
    /// then `words` (`list`, or a method).
    fn grpcurl(&self, token: Option<&str>, flags: &[&str], words: &[&str]) -> Output {
        let mut command = Command::new(tool("grpcurl", "SKILLS_GRPCURL"));
        command.arg("-plaintext");
        if let Some(token) = token {
            command.args(["-H", &format!("authorization: Bearer {token}")]);
        }
        command.args(flags).arg(&self.address).args(words);
        command.output().expect("grpcurl runs")
    }

    /// A unary call that must succeed; its JSON answer.
    fn call(&self, token: Option<&str>, method: &str, body: &str) -> Value {
        let output = self.grpcurl(token, &["-d", body], &[&format!("skills.v1.TalentGapService/{method}")]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{method} {body}: {stderr}");
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{method}: not JSON ({e})"))
    }

    /// A unary call that must fail; grpcurl's error text (code and message).
    fn fail(&self, token: Option<&str>, method: &str, body: &str) -> String {
        let output = self.grpcurl(token, &["-d", body], &[&format!("skills.v1.TalentGapService/{method}")]);
        assert!(!output.status.success(), "{method} {body} should fail");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// A gRPC-web request over HTTP/1.1, as a browser sends it: headers and
    /// body of the answer.
    fn grpc_web(&self, method: &str, message: &[u8], origin: &str) -> (String, Vec<u8>) {
        let mut frame = vec![0u8];
        frame.extend((message.len() as u32).to_be_bytes());
        frame.extend(message);
        let body_file = std::env::temp_dir().join(format!("skills-grpc-web-{}.bin", std::process::id()));
        std::fs::write(&body_file, frame).unwrap();
        let output = Command::new("curl")
            .args(["-sS", "--http1.1", "-X", "POST", "-D", "-", "-o", "-"])
            .args(["-H", "content-type: application/grpc-web+proto", "-H", "x-grpc-web: 1"])
            .args(["-H", &format!("origin: {origin}")])
            .arg("--data-binary")
            .arg(format!("@{}", body_file.display()))
            .arg(format!("http://{}/skills.v1.TalentGapService/{method}", self.address))
            .output()
            .expect("curl runs");
        assert!(output.status.success(), "curl: {}", String::from_utf8_lossy(&output.stderr));
        let split = output.stdout.windows(4).position(|w| w == b"\r\n\r\n").expect("headers end") + 4;
        (String::from_utf8_lossy(&output.stdout[..split]).to_lowercase(), output.stdout[split..].to_vec())
    }

    fn preflight(&self, origin: &str) -> String {
        let output = Command::new("curl")
            .args(["-sS", "-X", "OPTIONS", "-D", "-", "-o", "/dev/null"])
            .args(["-H", &format!("origin: {origin}"), "-H", "access-control-request-method: POST"])
            .args(["-H", "access-control-request-headers: authorization,content-type,x-grpc-web"])
            .arg(format!("http://{}/skills.v1.TalentGapService/GetRegionIndicators", self.address))
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&output.stdout).to_lowercase()
    }
}

fn cell<'a>(cells: &'a Value, region: &str, skill: &str) -> &'a Value {
    cells
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["region"] == region && c["skill"] == skill)
        .unwrap_or_else(|| panic!("cell {region} × {skill} in {cells}"))
}

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs grpcurl and curl: ./deploy/test.sh"]
async fn grpcurl_through_reflection_and_grpc_web_through_curl() {
    let service = start().await;
    let policy = Some(service.policy.as_str());

    // Reflection: the services and their methods, without .proto files.
    let list = String::from_utf8(service.grpcurl(None, &[], &["list"]).stdout).unwrap();
    for name in ["skills.v1.TalentGapService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"] {
        assert!(list.lines().any(|l| l == name), "{name} in {list}");
    }
    let described =
        String::from_utf8(service.grpcurl(None, &[], &["describe", "skills.v1.TalentGapService"]).stdout).unwrap();
    for rpc in ["GetRegionIndicators", "RankShortages", "WatchIndicators", "GetPipelineStatus"] {
        assert!(described.contains(&format!("rpc {rpc}")), "{rpc} in {described}");
    }
    let health =
        service.grpcurl(None, &["-d", r#"{"service":"skills.v1.TalentGapService"}"#], &["grpc.health.v1.Health/Check"]);
    assert_eq!(serde_json::from_slice::<Value>(&health.stdout).unwrap()["status"], "SERVING");

    // Every call, as policy: the hand-computed values.
    let ara = service.call(policy, "GetRegionIndicators", r#"{"region":"84","period":"2025"}"#);
    assert_eq!(ara["regionName"], "Auvergne-Rhône-Alpes");
    // `skills gaps --format json` prints what grpcurl prints.
    let mut client =
        skills::client::Client::connect(&service.stack.endpoint(), Some(service.policy.clone())).await.unwrap();
    let ours = skills_proto::json::to_json(&client.region("84", "2025").await.unwrap());
    assert_eq!(
        same_numbers(serde_json::from_str(&ours).unwrap()),
        same_numbers(ara.clone()),
        "the command line's JSON is grpcurl's (a double 0 prints as 0.0 or 0)"
    );
    assert_eq!(ara["cells"].as_array().unwrap().len(), 21);
    let programming = cell(&ara["cells"], "84", "3.4");
    assert_eq!(programming["learners"], "6", "uint64 travels as a JSON string");
    assert_eq!(programming["openings"], "30");
    assert!(close(&programming["talentGap"], 26.5));
    assert!(close(&programming["shortageRatio"], 30.0 / 3.5));

    let whole = service.call(policy, "RankShortages", r#"{"period":"2025","top":3}"#);
    let first = service.call(policy, "RankShortages", r#"{"period":"2025","top":3,"pageSize":2}"#);
    let token = first["nextPageToken"].as_str().expect("a next page").to_string();
    let second = service.call(
        policy,
        "RankShortages",
        &format!(r#"{{"period":"2025","top":3,"pageSize":2,"pageToken":"{token}"}}"#),
    );
    assert!(second.get("nextPageToken").is_none_or(|t| t == ""), "the last page: {second}");
    let paged: Vec<&Value> =
        first["cells"].as_array().unwrap().iter().chain(second["cells"].as_array().unwrap()).collect();
    assert_eq!(paged, whole["cells"].as_array().unwrap().iter().collect::<Vec<_>>(), "two pages = the ranking");
    assert_eq!(cell(&whole["cells"], "84", "3.4")["talentGap"], 26.5);

    let across = service.call(policy, "GetSkillAcrossRegions", r#"{"skill":"3.4","period":"2025"}"#);
    assert!(close(&across["mismatchIndex"], 0.5 * ((0.75 - 3.5 / 5.5) + (2.0 / 5.5 - 0.25))));
    let inclusion = service.call(policy, "GetInclusion", r#"{"region":"84","period":"2025"}"#);
    assert_eq!((inclusion["enrolled"].as_str(), inclusion["certified"].as_str()), (Some("6"), Some("2")), "at target");
    let trend = service.call(policy, "GetTrend", r#"{"region":"84","skill":"3.4","from":"2025-Q1","to":"2025-Q4"}"#);
    assert_eq!(trend["points"].as_array().unwrap().len(), 4);
    let reference = service.call(policy, "GetReferenceData", "{}");
    assert_eq!(
        (reference["regions"].as_array().unwrap().len(), reference["skills"].as_array().unwrap().len()),
        (18, 21)
    );
    let status = service.call(policy, "GetPipelineStatus", "{}");
    assert_eq!((status["events"].as_str(), status["deadLetters"].as_str()), (Some("31"), Some("1")));
    assert_eq!(status["deadLettersByReason"][0]["reason"], "unknown_region");

    // The watch stream: the first update arrives at once; grpcurl then
    // waits for more until its own deadline.
    let watched = service.grpcurl(
        policy,
        &["-max-time", "2", "-d", r#"{"region":"84","period":"2025"}"#],
        &["skills.v1.TalentGapService/WatchIndicators"],
    );
    let stream = String::from_utf8_lossy(&watched.stdout);
    assert!(stream.contains("\"meta\"") && stream.contains("\"region\": \"84\""), "first update: {stream}");

    // Suppression for partner and public callers (11 × 3.4: 2 learners < k = 3).
    for token in [Some(PARTNER_TOKEN), None] {
        let idf = service.call(token, "GetRegionIndicators", r#"{"region":"11","period":"2025"}"#);
        let small = cell(&idf["cells"], "11", "3.4");
        assert_eq!(small["suppressed"], true, "{small}");
        assert!(small.get("learners").is_none() && small.get("talentGap").is_none(), "values withheld: {small}");
        assert_eq!(small["openings"], "10", "openings are not about learners");
        assert_eq!(idf["meta"]["suppressionK"], 3);
        let ranked = service.call(token, "RankShortages", r#"{"period":"2025","top":10}"#);
        assert!(
            ranked["cells"].as_array().unwrap().iter().all(|c| c["suppressed"] != true),
            "no suppressed cell ranked"
        );
        let denied = service.fail(token, "GetPipelineStatus", "{}");
        assert!(denied.contains("PermissionDenied") && denied.contains("pipeline status"), "{denied}");
    }

    // Auth and validation failures, with codes and the field named.
    let unknown = service.fail(Some("not-a-token"), "GetReferenceData", "{}");
    assert!(unknown.contains("Unauthenticated"), "{unknown}");
    let region = service.fail(policy, "GetRegionIndicators", r#"{"region":"99"}"#);
    assert!(region.contains("InvalidArgument") && region.contains("region") && region.contains("\"99\""), "{region}");
    let period = service.fail(policy, "GetRegionIndicators", r#"{"region":"84","period":"2025-13"}"#);
    assert!(period.contains("InvalidArgument") && period.contains("2025-13"), "{period}");
    let foreign =
        service.fail(policy, "RankShortages", &format!(r#"{{"period":"2024","top":3,"pageToken":"{token}"}}"#));
    assert!(foreign.contains("InvalidArgument") && foreign.contains("page_token"), "{foreign}");
    let empty = service.call(policy, "GetRegionIndicators", r#"{"region":"84","period":"2019"}"#);
    assert_eq!(empty["cells"].as_array().unwrap().len(), 21, "an empty period is not an error");

    // gRPC-web, as a browser on the dashboard's origin sends it.
    let request = [0x0a, 0x02, b'8', b'4', 0x12, 0x04, b'2', b'0', b'2', b'5']; // region "84", period "2025"
    let (headers, body) = service.grpc_web("GetRegionIndicators", &request, DASHBOARD);
    assert!(headers.starts_with("http/1.1 200"), "{headers}");
    assert!(headers.contains("content-type: application/grpc-web+proto"), "{headers}");
    assert!(headers.contains(&format!("access-control-allow-origin: {DASHBOARD}")), "{headers}");
    assert!(headers.contains("access-control-expose-headers: grpc-status,grpc-message"), "{headers}");
    assert_eq!(body[0], 0, "a data frame first");
    let length = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    let trailer = String::from_utf8_lossy(&body[5 + length..]);
    assert_eq!(body[5 + length], 0x80, "then the trailer frame");
    assert!(trailer.contains("grpc-status:0"), "{trailer}");
    assert!(String::from_utf8_lossy(&body[5..5 + length]).contains("Auvergne"), "the region's name in the message");
    // An error is a trailers-only answer: the status in the HTTP headers.
    let (refused, _) = service.grpc_web("GetRegionIndicators", &[0x0a, 0x02, b'9', b'9'], DASHBOARD);
    assert!(refused.contains("grpc-status: 3") && refused.contains("region"), "INVALID_ARGUMENT: {refused}");
    assert!(service.preflight(DASHBOARD).contains(&format!("access-control-allow-origin: {DASHBOARD}")));
    assert!(
        !service.preflight("https://elsewhere.example").contains("access-control-allow-origin"),
        "other origins refused"
    );

    service.stack.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs grpcurl and openssl: ./deploy/test.sh"]
async fn tls_when_a_certificate_is_configured() {
    let dir = std::env::temp_dir().join(format!("skills-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A private CA and a server certificate it signs (rustls, unlike Go's
    // TLS, refuses a CA certificate used as the server's own).
    let (ca, cert, key) = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    let openssl = |args: &[&str]| {
        let made = Command::new("openssl").args(args).current_dir(&dir).output().expect("openssl runs");
        assert!(made.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&made.stderr));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=skills-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ]);
    let mut config = SkillsConfig::default().in_dir(dir.clone());
    config.query.tls_cert_file = Some(cert.clone());
    config.query.tls_key_file = Some(key);
    let stack = EmbeddedStack::start(config, bind("127.0.0.1:0").await.unwrap()).await.unwrap();
    let address = stack.endpoint().trim_start_matches("http://").to_string();
    let grpcurl = |args: &[&str]| Command::new(tool("grpcurl", "SKILLS_GRPCURL")).args(args).output().unwrap();
    let method = "skills.v1.TalentGapService/GetReferenceData";
    let secure = grpcurl(&["-cacert", ca.to_str().unwrap(), "-d", "{}", &address, method]);
    assert!(secure.status.success(), "over TLS: {}", String::from_utf8_lossy(&secure.stderr));
    let reference: Value = serde_json::from_slice(&secure.stdout).unwrap();
    assert_eq!(reference["regions"].as_array().unwrap().len(), 18);
    let plain = grpcurl(&["-plaintext", "-max-time", "5", "-d", "{}", &address, method]);
    assert!(!plain.status.success(), "plaintext is refused on a TLS port");
    let untrusted = grpcurl(&["-max-time", "5", "-d", "{}", &address, method]);
    assert!(!untrusted.status.success(), "a certificate the client does not trust is refused");
    // The command line's client: https:// with --ca.
    let https = format!("https://{address}");
    let mut client = skills::client::Client::connect_with(&https, Some(&ca), None).await.unwrap();
    assert_eq!(client.reference().await.unwrap().regions.len(), 18, "the CLI's client over TLS");
    let refused = match skills::client::Client::connect_with(&https, None, None).await {
        Ok(mut client) => client.reference().await.map(drop).map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    assert!(refused.is_err(), "without the CA, the system's roots do not trust a self-signed certificate");
    stack.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

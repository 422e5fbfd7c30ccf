//! The gRPC gateway over the embedded bus: acks, rejections, partners,
//! the stream, quotas. (Kafka itself: tests/gateway.rs at the top level.)

mod support;

use skills_bus::{headers, topics};
use skills_config::SkillsConfig;
use skills_domain::events::{ContentType, decode};
use skills_proto::v1 as pb;
use std::time::Duration;
use support::*;
use tonic::Code;
use tonic_types::StatusExt;

fn status_of(ack: &pb::EventAck) -> pb::AckStatus {
    pb::AckStatus::try_from(ack.status).unwrap()
}

#[tokio::test]
async fn a_batch_is_acked_event_by_event() {
    let running = start(SkillsConfig::default()).await;
    let mut client = client(&running, Some(TOKEN)).await;
    let good = enrolment("gen-lyon");
    let mut unknown_region = enrolment("");
    if let Some(pb::event_envelope::Payload::Enrolment(enrolment)) = &mut unknown_region.payload {
        enrolment.place = Some(pb::Place { code: Some(pb::place::Code::Region("99".into())) });
    }
    let mut conflicting = good.clone();
    conflicting.occurred_at.as_mut().unwrap().seconds += 60;
    let other_partner = enrolment("fun-mooc");

    let first = client
        .publish_batch(pb::PublishBatchRequest { events: vec![good.clone(), unknown_region, demand("")] })
        .await
        .unwrap()
        .into_inner()
        .acks;
    assert_eq!(first.iter().map(|ack| ack.index).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(status_of(&first[0]), pb::AckStatus::Accepted);
    assert_eq!(first[0].event_id, good.event_id);
    assert_eq!(status_of(&first[1]), pb::AckStatus::Rejected);
    let rejection = first[1].rejection.as_ref().unwrap();
    assert_eq!(
        (rejection.reason.as_str(), rejection.field.as_str(), rejection.value.as_str()),
        ("unknown_region", "enrolment.place", "99")
    );
    assert_eq!(status_of(&first[2]), pb::AckStatus::Accepted, "an empty partner_id is filled in");

    let second = client
        .publish_batch(pb::PublishBatchRequest { events: vec![good.clone(), conflicting, other_partner] })
        .await
        .unwrap()
        .into_inner()
        .acks;
    assert_eq!(status_of(&second[0]), pb::AckStatus::Duplicate);
    assert_eq!(second[1].rejection.as_ref().unwrap().reason, "event_id_conflict");
    let mismatch = second[2].rejection.as_ref().unwrap();
    assert_eq!((mismatch.reason.as_str(), mismatch.value.as_str()), ("partner_mismatch", "fun-mooc"));

    // What was accepted is on the raw topics, once, as ingest reads it.
    let enrolments = records(&running.bus, topics::ENROLMENTS).await;
    assert_eq!(enrolments.len(), 1);
    let message = &enrolments[0].message;
    assert_eq!(message.header(headers::PARTNER_ID), Some(&b"gen-lyon"[..]));
    let written = decode(&message.payload, Some(ContentType::Protobuf)).unwrap();
    assert_eq!(written.event_id, good.event_id);
    let demand = records(&running.bus, topics::DEMAND).await;
    assert_eq!(decode(&demand[0].message.payload, None).unwrap().partner_id, "gen-lyon");
    running.trigger.trigger();
}

#[tokio::test]
async fn a_stream_gets_one_ack_per_event() {
    let running = start(SkillsConfig::default()).await;
    let mut client = client(&running, Some(TOKEN)).await;
    let events: Vec<pb::EventEnvelope> = (0..3_000).map(|_| enrolment("gen-lyon")).collect();
    let requests = events.clone().into_iter().map(|event| pb::PublishRequest { event: Some(event) });
    let mut acks = client.publish(tokio_stream::iter(requests)).await.unwrap().into_inner();
    let mut seen = vec![false; events.len()];
    while let Some(response) = acks.message().await.unwrap() {
        let ack = response.ack.unwrap();
        assert_eq!(status_of(&ack), pb::AckStatus::Accepted, "{ack:?}");
        assert_eq!(ack.event_id, events[ack.index as usize].event_id);
        assert!(!std::mem::replace(&mut seen[ack.index as usize], true), "one ack per event");
    }
    assert!(seen.iter().all(|acked| *acked), "every event acked");
    assert_eq!(records(&running.bus, topics::ENROLMENTS).await.len(), events.len());
    running.trigger.trigger();
}

#[tokio::test]
async fn calls_without_a_known_credential_are_refused() {
    let running = start(SkillsConfig::default()).await;
    let batch = || pb::PublishBatchRequest { events: vec![enrolment("gen-lyon")] };
    let status = client(&running, None).await.publish_batch(batch()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("Bearer"), "{}", status.message());
    let status = client(&running, Some("not-a-known-token-at-all")).await.publish_batch(batch()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(records(&running.bus, topics::ENROLMENTS).await.is_empty());
    running.trigger.trigger();
}

#[tokio::test]
async fn a_partner_over_its_quota_is_told_when_to_retry_and_others_go_on() {
    let mut config = SkillsConfig::default();
    config.gateway.partner_rate_per_s = 10.0;
    config.gateway.partner_burst = 20;
    config.gateway.max_batch_events = 20;
    let running = start(config).await;
    let mut lyon = client(&running, Some(TOKEN)).await;
    let batch = |partner: &str, n| pb::PublishBatchRequest { events: (0..n).map(|_| enrolment(partner)).collect() };
    lyon.publish_batch(batch("gen-lyon", 20)).await.unwrap();
    let status = lyon.publish_batch(batch("gen-lyon", 5)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    let delay = status.get_error_details().retry_info().and_then(|info| info.retry_delay).unwrap();
    assert!(delay > Duration::ZERO && delay <= Duration::from_secs(1), "{delay:?}");
    let mut mooc = client(&running, Some(OTHER_TOKEN)).await;
    mooc.publish_batch(batch("fun-mooc", 20)).await.expect("quotas are per partner");

    let status = mooc.publish_batch(batch("fun-mooc", 21)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "an oversized batch: {}", status.message());
    running.trigger.trigger();
}

#[tokio::test]
async fn an_unreachable_kafka_is_unavailable_with_a_retry_delay() {
    let mut config = SkillsConfig::default();
    config.bus.kind = skills_bus::BusKind::Kafka;
    config.bus.kafka.brokers = "127.0.0.1:1".into();
    config.gateway.write_timeout_ms = 1_500;
    let bus = skills_bus::connect_shared(&config.bus).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service =
        skills_gateway::GatewayService::new(&config, bus, listener, vec![("gen-lyon".into(), TOKEN.into())]).unwrap();
    let address = service.local_addr().unwrap();
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(service.run(shutdown));
    let mut client = client_at(address, Some(TOKEN)).await;
    let started = std::time::Instant::now();
    let status =
        client.publish_batch(pb::PublishBatchRequest { events: vec![enrolment("gen-lyon")] }).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{}", status.message());
    assert!(status.get_error_details().retry_info().is_some());
    assert!(started.elapsed() >= Duration::from_millis(1_400), "no ack before the write timed out");
    // Right after, calls are refused at once rather than left waiting.
    let started = std::time::Instant::now();
    let status =
        client.publish_batch(pb::PublishBatchRequest { events: vec![enrolment("gen-lyon")] }).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(started.elapsed() < Duration::from_millis(500));
    trigger.trigger();
}

#[tokio::test]
async fn credentials_rotate_without_a_restart() {
    let dir = std::env::temp_dir().join(format!("skills-gateway-rotation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("partners");
    let (old, new) = ("rotation-old-token-0123456789", "rotation-new-token-0123456789");
    std::fs::write(&file, format!("partner:gen-lyon {old}\n")).unwrap();
    let mut config = SkillsConfig::default();
    config.gateway.credentials_file = Some(file.clone());
    config.gateway.credentials_reload_ms = 100;
    let running = start(config).await;
    let batch = || pb::PublishBatchRequest { events: vec![enrolment("gen-lyon")] };
    client(&running, Some(old)).await.publish_batch(batch()).await.expect("the old token works");

    // The new token added, then the old one removed: no restart.
    std::fs::write(&file, format!("partner:gen-lyon {old}\npartner:gen-lyon {new}\n")).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while client(&running, Some(new)).await.publish_batch(batch()).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the new token was never taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::write(&file, format!("partner:gen-lyon {new}\n# old token removed\n")).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match client(&running, Some(old)).await.publish_batch(batch()).await {
            Err(status) if status.code() == Code::Unauthenticated => break,
            _ => assert!(std::time::Instant::now() < deadline, "the old token still works"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client(&running, Some(new)).await.publish_batch(batch()).await.expect("the new token works");
    running.trigger.trigger();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs openssl in `dir`; panics when it fails.
fn openssl(dir: &std::path::Path, args: &[&str]) -> String {
    let made = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(made.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&made.stderr));
    String::from_utf8_lossy(&made.stdout).into_owned()
}

#[tokio::test]
async fn a_client_certificate_over_mutual_tls_is_a_partner_credential() {
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
    let dir = std::env::temp_dir().join(format!("skills-gateway-mtls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Extensions make X.509 v3 certificates, the only ones rustls takes.
    std::fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    let days = ["-days", "1"];
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            days[0],
            days[1],
            "-subj",
            "/CN=test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    for (name, extension) in [("server", "server.ext"), ("client", "client.ext")] {
        let (key, csr, pem) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
        openssl(
            &dir,
            &["req", "-newkey", "rsa:2048", "-nodes", "-subj", &format!("/CN={name}"), "-keyout", &key, "-out", &csr],
        );
        let signed = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", extension];
        openssl(&dir, &[&["x509", "-req", "-in", &csr, days[0], days[1], "-out", &pem][..], &signed].concat());
    }
    let fingerprint = openssl(&dir, &["x509", "-in", "client.pem", "-noout", "-fingerprint", "-sha256"]);
    let fingerprint = fingerprint.trim().rsplit('=').next().unwrap().to_string();
    std::fs::write(dir.join("partners"), format!("partner:fun-mooc cert-sha256:{fingerprint}\n")).unwrap();

    let mut config = SkillsConfig::default();
    config.gateway.credentials_file = Some(dir.join("partners"));
    config.gateway.tls_cert_file = Some(dir.join("server.pem"));
    config.gateway.tls_key_file = Some(dir.join("server.key"));
    config.gateway.tls_client_ca_file = Some(dir.join("ca.pem"));
    let running = start(config).await;
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read("ca.pem"))).domain_name("localhost");
    let endpoint = format!("https://127.0.0.1:{}", running.address.port());
    let connect = |tls: ClientTlsConfig| {
        let endpoint = endpoint.clone();
        async move {
            let channel = Channel::from_shared(endpoint).unwrap().tls_config(tls).unwrap().connect().await.unwrap();
            skills_proto::v1::event_gateway_client::EventGatewayClient::new(channel)
        }
    };
    let with_certificate = tls.clone().identity(Identity::from_pem(read("client.pem"), read("client.key")));
    let acks = connect(with_certificate)
        .await
        .publish_batch(pb::PublishBatchRequest { events: vec![enrolment("fun-mooc"), enrolment("gen-lyon")] })
        .await
        .expect("the certificate is fun-mooc's credential")
        .into_inner()
        .acks;
    assert_eq!(status_of(&acks[0]), pb::AckStatus::Accepted);
    assert_eq!(acks[1].rejection.as_ref().unwrap().reason, "partner_mismatch", "only as itself");
    let status = connect(tls)
        .await
        .publish_batch(pb::PublishBatchRequest { events: vec![enrolment("fun-mooc")] })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "TLS without a certificate or a token");
    running.trigger.trigger();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn every_call_is_counted_under_the_conventional_grpc_metric_names() {
    let bus = skills_bus::embedded::EmbeddedBus::new(1_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config = SkillsConfig::default();
    let service = skills_gateway::GatewayService::new(
        &config,
        std::sync::Arc::new(bus),
        listener,
        vec![("gen-lyon".into(), TOKEN.into())],
    )
    .unwrap()
    .with_metrics_listen(metrics.to_string());
    let address = service.local_addr().unwrap();
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(service.run(shutdown));
    client_at(address, Some(TOKEN))
        .await
        .publish_batch(pb::PublishBatchRequest { events: vec![enrolment("gen-lyon")] })
        .await
        .unwrap();
    let refused = client_at(address, None).await.publish_batch(pb::PublishBatchRequest::default()).await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    let (status, _, text) = tokio::task::spawn_blocking(move || http(metrics, "GET /metrics", &[], "")).await.unwrap();
    assert_eq!(status, 200);
    let labels = r#"grpc_type="unary",grpc_service="skills.v1.EventGateway",grpc_method="PublishBatch""#;
    for expected in [
        format!("grpc_server_started_total{{{labels}}} 2\n"),
        format!("grpc_server_handled_total{{{labels},grpc_code=\"OK\"}} 1\n"),
        format!("grpc_server_handled_total{{{labels},grpc_code=\"Unauthenticated\"}} 1\n"),
        format!("grpc_server_handling_seconds_count{{{labels}}} 2\n"),
    ] {
        assert!(text.contains(&expected), "{expected} not in {text}");
    }
    assert!(text.contains("skills_gateway_accepted_total"), "the gateway's own counters beside them");
    trigger.trigger();
}

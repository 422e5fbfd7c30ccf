//! Kafka security as RELIABILITY.md documents it: the settings under
//! `[bus.kafka.client]` reach every client, here SASL PLAIN over TLS to the
//! broker's SASL_SSL listener (deploy/infra.sh: a test CA, the broker's
//! certificate for 127.0.0.1, a random password). Events go through; a
//! wrong password and an untrusted certificate get nothing.
//!
//! Needs librdkafka with OpenSSL: `cargo test -p skills-bus --features
//! kafka-tls --test sasl_ssl -- --ignored` (deploy/test.sh does).
#![cfg(feature = "kafka-tls")]

use skills_bus::kafka::{KafkaBus, KafkaConfig};
use skills_bus::{Bus, Message};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const NEEDS_BROKER: &str = "SKILLS_KAFKA_SASL_BROKERS / SKILLS_KAFKA_TLS_DIR: eval \"$(./deploy/infra.sh up)\"";

fn tls_dir() -> PathBuf {
    PathBuf::from(std::env::var("SKILLS_KAFKA_TLS_DIR").expect(NEEDS_BROKER))
}

fn sasl_ssl(password: &str, ca: PathBuf) -> KafkaConfig {
    let client = BTreeMap::from([
        ("security.protocol".to_string(), "SASL_SSL".to_string()),
        ("sasl.mechanism".to_string(), "PLAIN".to_string()),
        ("sasl.username".to_string(), "skills".to_string()),
        ("sasl.password".to_string(), password.to_string()),
        ("ssl.ca.location".to_string(), ca.display().to_string()),
    ]);
    KafkaConfig {
        brokers: std::env::var("SKILLS_KAFKA_SASL_BROKERS").expect(NEEDS_BROKER),
        partitions: 1,
        client,
        ..Default::default()
    }
}

fn password() -> String {
    std::fs::read_to_string(tls_dir().join("sasl-password")).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Kafka broker of deploy/infra.sh and --features kafka-tls"]
async fn events_go_through_sasl_ssl_and_bad_credentials_get_nothing() {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let topic = format!("sasl-ssl-{}-{nanos}", std::process::id());
    let bus = KafkaBus::new(sasl_ssl(&password(), tls_dir().join("ca.pem"))).unwrap();
    bus.ensure_topics(std::slice::from_ref(&topic)).await.unwrap();
    bus.producer().send(&topic, vec![Message::new(b"over TLS".to_vec())]).await.unwrap();
    let mut consumer = bus.consumer(&format!("{topic}-group"), std::slice::from_ref(&topic)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
        let records = consumer.poll(10, Duration::from_millis(500)).await.unwrap_or_default();
        if !records.is_empty() {
            break records;
        }
        assert!(Instant::now() < deadline, "nothing consumed over SASL_SSL");
    };
    assert_eq!(records[0].message.payload, b"over TLS");

    // A wrong password, then a CA that did not sign the broker's certificate.
    let other_ca = std::env::temp_dir().join(format!("skills-other-ca-{}.pem", std::process::id()));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other"])
        .args(["-keyout", "/dev/null", "-out"])
        .arg(&other_ca)
        .output()
        .unwrap();
    assert!(made.status.success());
    for (what, config) in [
        ("a wrong password", sasl_ssl("not-the-password", tls_dir().join("ca.pem"))),
        ("an untrusted CA", sasl_ssl(&password(), other_ca.clone())),
    ] {
        let refused = KafkaBus::new(config).unwrap();
        let sent = tokio::time::timeout(
            Duration::from_secs(8),
            refused.producer().send(&topic, vec![Message::new(b"should not land".to_vec())]),
        )
        .await;
        assert!(!matches!(sent, Ok(Ok(()))), "{what} was let in");
    }
    let later = consumer.poll(10, Duration::from_secs(2)).await.unwrap_or_default();
    assert!(later.is_empty(), "a refused client's event landed: {later:?}");
    let _ = std::fs::remove_file(other_ca);
}

//! `skills send` against the real broker (SKILLS_KAFKA_BROKERS): every line
//! of a JSONL file reaches the raw topic of its kind, bad lines included
//! (ingestion dead-letters those).

use skills_bus::kafka::{KafkaBus, KafkaConfig};
use skills_bus::{Bus, topics};
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Kafka: ./deploy/test.sh"]
async fn send_puts_each_line_on_the_topic_of_its_kind() {
    let brokers = std::env::var("SKILLS_KAFKA_BROKERS").expect("SKILLS_KAFKA_BROKERS: ./deploy/infra.sh up");
    let prefix = format!("send{}-{}.", std::process::id(), Instant::now().elapsed().as_nanos());
    let dir = std::env::temp_dir().join(format!("skills-send-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.jsonl");
    let compact = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap().to_string();
    let lines = [
        compact(include_str!("../../../proto/examples/enrolment.json")),
        compact(include_str!("../../../proto/examples/assessment.json")),
        compact(include_str!("../../../proto/examples/labour_demand.json")),
        "this line is not an event".to_string(),
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_skills"))
        .args(["send", "--file"])
        .arg(&file)
        .args(["--brokers", &brokers, "--topic-prefix", &prefix])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("sent 4 events"), "{stdout}");

    let bus = KafkaBus::new(KafkaConfig { brokers, ..Default::default() }).unwrap();
    let names: Vec<String> =
        [topics::ENROLMENTS, topics::ASSESSMENTS, topics::DEMAND].iter().map(|t| format!("{prefix}{t}")).collect();
    let mut consumer = bus.consumer(&format!("{prefix}reader"), &names).unwrap();
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while records.len() < 4 && Instant::now() < deadline {
        records.extend(consumer.poll(100, Duration::from_millis(200)).await.unwrap());
    }
    let count = |topic: &str| records.iter().filter(|r| r.topic == format!("{prefix}{topic}")).count();
    assert_eq!(count(topics::ENROLMENTS), 2, "the enrolment and the line that is not an event");
    assert_eq!(count(topics::ASSESSMENTS), 1);
    assert_eq!(count(topics::DEMAND), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

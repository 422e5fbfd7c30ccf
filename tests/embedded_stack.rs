//! End to end on the embedded default: raw partner events in (JSON and
//! protobuf, with a duplicate, a bad event and a late one), indicators out
//! through real gRPC calls, checked against values computed by hand in the
//! comments below.
//!
//! The story, year 2025, skill 3.4 (Programming, target level 5):
//! - Auvergne-Rhône-Alpes (84): six learners A1..A6 enrol in January and
//!   start in February, planned to end 2025-10-01. A1, A2, A3 complete; A1
//!   and A2 are certified at level 5 (at target), A3 at level 4 (below).
//!   A4 drops out. A5 and A6 are still active at the end of the year.
//!   enrolled 6, completed 3, dropped 1, certified at target 2,
//!   completion rate 3/4, pipeline 2 × 0.75 = 1.5, qualified supply 3.5.
//!   Openings: 20 for 3.4 (5 hard to fill) and 10 for ROME M1805 (5 hard),
//!   which maps to 3.4, 5.1 and 1.3: 30 openings for 3.4, 10 hard.
//!   Gap 30 − 3.5 = 26.5; ratio 30 / 3.5. Gains: A1 2→5, A2 3→4: mean 2.
//! - Île-de-France (11): B1, B2 enrol and are certified at level 6; 10
//!   openings. Gap 10 − 2 = 8, ratio 5, completion rate 1.
//! - Shortage scores over the 4 cells with openings (ratios 5, 8.57, 10,
//!   10): 11/3.4 → 1, 84/3.4 → 2, 84/5.1 and 84/1.3 → 3.
//! - Duncan index of 3.4: openings 30/40 and 10/40 against supply 3.5/5.5
//!   and 2/5.5: ½(|0.75 − 0.63636| + |0.25 − 0.36364|) = 0.113636…

mod common;

use common::{as_json, cell, close, demand, story};
use serde_json::json;
use skills::client::{Client, ClientError};
use skills::config::SkillsConfig;
use skills::stack::{EmbeddedStack, bind};
use skills_bus::{Message, topics};
use skills_proto::v1 as pb;
use skills_store::MetricsStore;
use std::path::PathBuf;
use std::time::Duration;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(60);

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("skills-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(dir: PathBuf) -> SkillsConfig {
    let mut config = SkillsConfig::default().in_dir(dir);
    config.indicators.suppression_k = 3;
    config.query.refresh_interval_ms = 50;
    config.aggregator.batch_max_wait_ms = 20;
    config.ingest.batch_max_wait_ms = 20;
    config
}

async fn start(config: SkillsConfig) -> EmbeddedStack {
    let listener = bind("127.0.0.1:0").await.unwrap();
    EmbeddedStack::start(config, listener).await.unwrap()
}

async fn feed(stack: &EmbeddedStack, messages: Vec<(&'static str, Message)>) {
    for (topic, message) in messages {
        stack.send(topic, vec![message]).await.unwrap();
    }
    stack.wait_idle(WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indicators_served_over_grpc_match_the_hand_computed_story() {
    let dir = temp_dir("story");
    let stack = start(config(dir.clone())).await;
    feed(&stack, story()).await;

    let status = stack.store.status().await.unwrap();
    assert_eq!(status.dead_letters, 1, "the event with region 99");
    assert_eq!(stack.store.dead_letter_reasons().await.unwrap(), [("unknown_region".to_string(), 1)]);
    assert_eq!(status.events, 31, "31 distinct valid events, the duplicate counted once");

    let mut policy = Client::connect(&stack.endpoint(), Some(stack.policy_token().into())).await.unwrap();
    let ara = policy.region("84", "2025").await.unwrap();
    assert_eq!(ara.region_name, "Auvergne-Rhône-Alpes");
    assert_eq!(ara.cells.len(), 21, "every skill of the region, empty ones included");
    let meta = ara.meta.as_ref().unwrap();
    assert!(meta.complete, "2025 is over and its late allowance has passed");
    assert!(meta.as_of.is_some());
    assert_eq!(meta.suppression_k, 0, "policy sees everything");
    let programming = cell(&ara.cells, "84", "3.4");
    assert_eq!(programming.learners, Some(6));
    assert_eq!(programming.enrolled, Some(6));
    assert_eq!(programming.completed, Some(3));
    assert_eq!(programming.dropped_out, Some(1));
    assert_eq!(programming.certified, Some(2));
    assert_eq!(programming.active, Some(2));
    assert!(close(programming.completion_rate, 0.75));
    assert!(close(programming.pipeline, 1.5));
    assert_eq!(programming.openings, 30);
    assert!(close(programming.hard_to_fill_share, 10.0 / 30.0));
    assert!(close(programming.talent_gap, 26.5));
    assert!(close(programming.shortage_ratio, 30.0 / 3.5));
    assert!(close(programming.mean_proficiency_gain, 2.0));
    assert_eq!(programming.shortage_score, Some(2));
    assert_eq!(cell(&ara.cells, "84", "5.1").shortage_score, Some(3));
    assert_eq!(cell(&ara.cells, "84", "2.1").openings, 0);

    let ranking = policy
        .rank(pb::RankShortagesRequest {
            period: "2025".into(),
            top: 3,
            rank_by: pb::RankBy::TalentGap as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let order: Vec<(&str, &str)> = ranking.cells.iter().map(|c| (c.region.as_str(), c.skill.as_str())).collect();
    assert_eq!(order, [("84", "3.4"), ("84", "1.3"), ("84", "5.1")]);
    let by_ratio = policy
        .rank(pb::RankShortagesRequest {
            period: "2025".into(),
            top: 1,
            rank_by: pb::RankBy::ShortageRatio as i32,
            skill: "3.4".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_ratio.cells[0].region, "84", "8.57 beats 5 among 3.4 cells");

    let across = policy.skill("3.4", "2025").await.unwrap();
    assert_eq!(across.cells.len(), 18);
    assert!(close(across.mismatch_index, 0.5 * ((0.75 - 3.5 / 5.5) + (2.0 / 5.5 - 0.25))));
    let idf = cell(&across.cells, "11", "3.4");
    assert!(close(idf.talent_gap, 8.0));
    assert!(close(idf.completion_rate, 1.0));
    assert_eq!(idf.shortage_score, Some(1));

    let inclusion = policy.inclusion("84", "2025").await.unwrap();
    assert_eq!((inclusion.enrolled, inclusion.certified), (Some(6), Some(2)), "A3's level 4 is under 3.4's target");
    let share = |group: &str| inclusion.shares.iter().find(|s| s.group == group).unwrap().clone();
    assert!(close(share("women").share_enrolled, 2.0 / 6.0));
    assert!(close(share("women").share_certified, 1.0), "A1 and A2, certified at target");
    assert!(close(share("women").distance_enrolled, 2.0 / 6.0 - 0.40));
    // A learner's groups for 2025 are those of the last profile sent in
    // 2025, as a whole: A1–A3's certifications carry a profile with only a
    // gender, so they are no longer jobseekers, nor A3 from a priority
    // neighbourhood; A4 (under 26) sent one profile.
    assert!(close(share("priority_neighbourhood").share_enrolled, 0.0));
    assert!(close(share("jobseekers").share_enrolled, 0.0));
    assert!(close(share("under_26").share_enrolled, 1.0 / 6.0));
    assert!(close(share("rural").share_enrolled, 0.0));

    let trend = policy.trend("84", "3.4", "2025-01", "2025-04").await.unwrap();
    let enrolled: Vec<Option<u64>> = trend.points.iter().map(|p| p.enrolled).collect();
    let openings: Vec<u64> = trend.points.iter().map(|p| p.openings).collect();
    assert_eq!(enrolled, [Some(6), Some(0), Some(0), Some(0)]);
    assert_eq!(openings, [0, 0, 20, 0]);
    assert_eq!(trend.points[2].period, "2025-03");

    let quarter = policy.region("84", "2024-Q4").await.unwrap();
    assert_eq!(cell(&quarter.cells, "84", "3.4").openings, 100, "the 2024 posting stays in 2024");

    stack.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_callers_get_small_cells_withheld_and_bad_requests_are_named() {
    let dir = temp_dir("public");
    let stack = start(config(dir.clone())).await;
    feed(&stack, story()).await;

    let mut public = Client::connect(&stack.endpoint(), None).await.unwrap();
    let across = public.skill("3.4", "2025").await.unwrap();
    let meta = across.meta.as_ref().unwrap();
    assert_eq!(meta.suppression_k, 3);
    let idf = cell(&across.cells, "11", "3.4");
    assert!(idf.suppressed, "two learners is under k = 3");
    assert_eq!(idf.openings, 10, "demand is not about learners");
    assert_eq!((idf.certified, idf.talent_gap, idf.shortage_ratio, idf.shortage_score), (None, None, None, None));
    // The country's 3.4 figure is 84's 6 learners plus 11's 2: showing
    // both the country and 84 would give 11 back, so at least one of them
    // goes (84's December, 2 learners, needs protecting too).
    let national = across.national.as_ref().expect("the country's cell");
    let rhone_alpes = cell(&across.cells, "84", "3.4");
    assert!(national.suppressed || rhone_alpes.suppressed, "{national:?}");
    assert_eq!(meta.suppressed_cells, 1 + u32::from(rhone_alpes.suppressed));
    assert_eq!(national.enrolled, Some(8).filter(|_| !national.suppressed));
    let ranking = public
        .rank(pb::RankShortagesRequest { period: "2025".into(), top: 10, skill: "3.4".into(), ..Default::default() })
        .await
        .unwrap();
    assert!(ranking.cells.iter().all(|c| !c.suppressed), "withheld cells take no place in rankings");
    assert_eq!(ranking.cells.len(), usize::from(!rhone_alpes.suppressed));

    let inclusion = public.inclusion("11", "2025").await.unwrap();
    assert!(inclusion.suppressed && inclusion.shares.is_empty() && inclusion.enrolled.is_none());

    let code = |result: Result<_, ClientError>| match result {
        Err(ClientError::Call(status)) => (status.code(), status.message().to_string()),
        other => panic!("expected a status, got {:?}", other.map(|_: pb::GetRegionIndicatorsResponse| ())),
    };
    let (unknown_region, message) = code(public.region("99", "2025").await);
    assert_eq!(unknown_region, Code::InvalidArgument);
    assert!(message.contains("region") && message.contains("\"99\""), "{message}");
    let (bad_period, message) = code(public.region("84", "2025-13").await);
    assert_eq!(bad_period, Code::InvalidArgument);
    assert!(message.contains("period") && message.contains("2025-13"), "{message}");
    match public.skill("9.9", "2025").await {
        Err(ClientError::Call(status)) => assert_eq!(status.code(), Code::InvalidArgument),
        other => panic!("expected INVALID_ARGUMENT, got {:?}", other.map(|_| ())),
    }
    let mut intruder = Client::connect(&stack.endpoint(), Some("not-a-token".into())).await.unwrap();
    let (unauthenticated, _) = code(intruder.region("84", "2025").await);
    assert_eq!(unauthenticated, Code::Unauthenticated);

    let reference = public.reference().await.unwrap();
    assert_eq!((reference.regions.len(), reference.skills.len()), (18, 21));

    stack.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_event_reaches_watchers_and_its_own_period_and_data_survives_a_restart() {
    let dir = temp_dir("late");
    let stack = start(config(dir.clone())).await;
    feed(&stack, story()).await;

    let mut policy = Client::connect(&stack.endpoint(), Some(stack.policy_token().into())).await.unwrap();
    let mut updates = policy.watch("84", "2025-Q1").await.unwrap();
    let first = updates.message().await.unwrap().unwrap();
    assert_eq!(cell(&first.cells, "84", "3.4").openings, 20);
    let q2_before = policy.region("84", "2025-Q2").await.unwrap();

    let late = demand(1000, "84", json!({"skill": "3.4"}), 5, 0, "2025-03-15T00:00:00Z");
    feed(&stack, vec![(topics::DEMAND, as_json(&late))]).await;
    let pushed = tokio::time::timeout(WAIT, updates.message()).await.expect("an update is pushed").unwrap().unwrap();
    assert_eq!(cell(&pushed.cells, "84", "3.4").openings, 25, "the late posting lands in Q1");
    let q2_after = policy.region("84", "2025-Q2").await.unwrap();
    assert_eq!(cell(&q2_after.cells, "84", "3.4").openings, cell(&q2_before.cells, "84", "3.4").openings);
    drop(updates);
    stack.stop().await.unwrap();

    // Same data dir, nothing re-sent: the store kept everything.
    let restarted = start(config(dir.clone())).await;
    let mut client = Client::connect(&restarted.endpoint(), Some(restarted.policy_token().into())).await.unwrap();
    let year = client.region("84", "2025").await.unwrap();
    let programming = cell(&year.cells, "84", "3.4");
    assert_eq!((programming.enrolled, programming.openings), (Some(6), 35));
    // Replaying the whole story after the restart changes nothing.
    feed(&restarted, story()).await;
    let replayed = client.region("84", "2025").await.unwrap();
    assert_eq!(cell(&replayed.cells, "84", "3.4"), programming);
    assert_eq!(restarted.store.status().await.unwrap().events, 32);
    restarted.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Region 53: 2 learners on 3.4 (under k = 3), 4 on 5.1, 5 on 1.1, all
/// enrolled in March 2025. The region total (GetInclusion) minus the
/// visible cells must not give the small cell back: 5.1 is withheld with
/// it (secondary suppression), so the difference is only their sum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_difference_of_two_calls_does_not_reveal_a_withheld_cell() {
    let dir = temp_dir("differencing");
    let stack = start(config(dir.clone())).await;
    let mut events = Vec::new();
    let mut n = 5_000;
    for (skill, learners) in [("3.4", 2), ("5.1", 4), ("1.1", 5)] {
        for i in 0..learners {
            n += 1;
            let learner = format!("R{skill}-{i}");
            let extra = json!({"skills": [skill], "course_id": format!("c-{skill}")});
            events.push((
                topics::ENROLMENTS,
                as_json(&common::enrolment(n, "53", &learner, "ENROLLED", "2025-03-03T09:00:00Z", extra)),
            ));
        }
    }
    feed(&stack, events).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut public = Client::connect(&stack.endpoint(), None).await.unwrap();
    let row = public.region("53", "2025").await.unwrap();
    let withheld: Vec<&str> = row.cells.iter().filter(|c| c.suppressed).map(|c| c.skill.as_str()).collect();
    assert_eq!(withheld, ["3.4", "5.1"], "the small cell and the next smallest of its row");
    let visible: u64 = row.cells.iter().filter_map(|c| c.enrolled).sum();
    let total = public.inclusion("53", "2025").await.unwrap().enrolled.expect("11 learners: the total is shown");
    assert_eq!((total, visible), (11, 5));
    assert_ne!(total - visible, 2, "the difference is the sum of two withheld cells, not the small one");

    // The same decisions in every call: the quarter's trend point agrees.
    let trend = public.trend("53", "3.4", "2025-Q1", "2025-Q1").await.unwrap();
    assert!(trend.points[0].suppressed);
    let policy = Client::connect(&stack.endpoint(), Some(stack.policy_token().into()))
        .await
        .unwrap()
        .region("53", "2025")
        .await
        .unwrap();
    assert_eq!(common::cell(&policy.cells, "53", "3.4").enrolled, Some(2), "policy sees everything");
    stack.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The right to erasure, through the operator's command: forgetting A1
/// (enrolled, completed, certified at target, gain 2 → 5) changes the cells
/// they were in at the next read, and a later event of theirs never counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_learner_leaves_the_served_indicators() {
    let dir = temp_dir("forget");
    let config = config(dir.clone());
    let stack = start(config.clone()).await;
    feed(&stack, story()).await;
    let mut policy = Client::connect(&stack.endpoint(), Some(stack.policy_token().into())).await.unwrap();
    let before = cell(&policy.region("84", "2025").await.unwrap().cells, "84", "3.4").clone();
    assert_eq!((before.enrolled, before.completed, before.certified), (Some(6), Some(3), Some(2)));
    assert!(close(before.mean_proficiency_gain, 2.0));

    let args = skills::cli::ForgetArgs { partner: "gen-partner".into(), learners: vec!["A1".into()], json: false };
    skills::forget::run(config.clone(), args).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    let after = loop {
        let now = served_programming_84(&mut policy).await;
        if now.enrolled != before.enrolled {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "the served cell never changed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((after.enrolled, after.completed, after.certified), (Some(5), Some(2), Some(1)));
    assert!(close(after.mean_proficiency_gain, 1.0), "only A2's gain 3 → 4 is left");
    assert_eq!(after.openings, before.openings, "demand is nobody's");

    // A1's partner sends one more event afterwards: it never counts.
    let late = common::enrolment(950, "84", "A1", "ENROLLED", "2025-03-01T09:00:00Z", json!({}));
    feed(&stack, vec![(topics::ENROLMENTS, as_json(&late))]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(served_programming_84(&mut policy).await.enrolled, Some(5));
    stack.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

async fn served_programming_84(policy: &mut Client) -> pb::CellIndicators {
    cell(&policy.region("84", "2025").await.unwrap().cells, "84", "3.4").clone()
}

/// A partner that sends the learner's profile on enrolment only: its
/// certified learners still count in their groups (the latest profile sent
/// before the period's end, whatever the event), where the certification
/// event's own (absent) profile would have put them in none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_among_the_certified_come_from_the_profile_sent_on_enrolment() {
    let dir = temp_dir("profile-on-enrolment");
    let stack = start(config(dir.clone())).await;
    let mut events = Vec::new();
    for i in 0..4 {
        let learner = format!("P{i}");
        let profile = json!({"skills": ["3.4"], "profile": {"gender": if i < 3 { "FEMALE" } else { "MALE" }}});
        let certified = json!({"skills": ["3.4"], "certified_level": 6});
        events.push((
            topics::ENROLMENTS,
            as_json(&common::enrolment(7_000 + 2 * i, "52", &learner, "ENROLLED", "2025-02-03T09:00:00Z", profile)),
        ));
        events.push((
            topics::ENROLMENTS,
            as_json(&common::enrolment(7_001 + 2 * i, "52", &learner, "CERTIFIED", "2025-06-03T09:00:00Z", certified)),
        ));
    }
    feed(&stack, events).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut policy = Client::connect(&stack.endpoint(), Some(stack.policy_token().into())).await.unwrap();
    let inclusion = policy.inclusion("52", "2025").await.unwrap();
    assert_eq!((inclusion.enrolled, inclusion.certified), (Some(4), Some(4)));
    let women = inclusion.shares.iter().find(|s| s.group == "women").unwrap();
    assert!(close(women.share_enrolled, 0.75) && close(women.share_certified, 0.75), "{women:?}");
    stack.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

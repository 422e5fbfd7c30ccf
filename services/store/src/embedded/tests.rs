//! The embedded store against hand-computed counters.

use super::*;
use crate::{Batch, DeadLetter};
use chrono::{DateTime, Utc};
use skills_domain::events::to_timestamp;
use skills_domain::facts::{EventFacts, facts_of, status};
use skills_domain::indicators::{CellIndicators, SupplyCounters};
use skills_proto::v1 as pb;

fn at(text: &str) -> DateTime<Utc> {
    format!("{text}T12:00:00Z").parse().unwrap()
}

fn envelope(n: u32, region: &str, when: &str, payload: pb::normalized_event::Payload) -> EventFacts {
    let event = pb::NormalizedEvent {
        event_id: format!("00000000-0000-4000-8000-{n:012}"),
        occurred_at: Some(to_timestamp(at(when))),
        ingested_at: Some(to_timestamp(at("2026-01-02"))),
        partner_id: "p".into(),
        region: region.into(),
        payload: Some(payload),
    };
    facts_of(&event).unwrap()
}

#[derive(Clone, Copy, Default)]
struct Profile {
    woman: bool,
    priority: bool,
    under_26: bool,
    jobseeker: bool,
}

#[allow(clippy::too_many_arguments)]
fn enrolment(
    n: u32,
    learner: &str,
    state: i32,
    when: &str,
    skills: &[&str],
    planned_end: Option<&str>,
    certified_level: Option<u32>,
    profile: Profile,
) -> EventFacts {
    envelope(
        n,
        "11",
        when,
        pb::normalized_event::Payload::Enrolment(pb::NormalizedEnrolment {
            learner: learner.into(),
            course_id: "course".into(),
            programme: "GEN".into(),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            status: state,
            planned_end: planned_end.map(|d| to_timestamp(at(d))),
            profile: Some(pb::LearnerProfile {
                gender: if profile.woman { pb::Gender::Female as i32 } else { pb::Gender::Male as i32 },
                age_band: if profile.under_26 { pb::AgeBand::Under26 as i32 } else { pb::AgeBand::From26To44 as i32 },
                priority_neighbourhood: profile.priority,
                rural_resident: false,
                employment_status: if profile.jobseeker {
                    pb::EmploymentStatus::Jobseeker as i32
                } else {
                    pb::EmploymentStatus::Employed as i32
                },
            }),
            satisfaction: None,
            certified_level,
        }),
    )
}

fn assessment(n: u32, learner: &str, phase: i32, level: u32, when: &str) -> EventFacts {
    envelope(
        n,
        "11",
        when,
        pb::normalized_event::Payload::Assessment(pb::NormalizedAssessment {
            learner: learner.into(),
            skill: "3.4".into(),
            framework: pb::Framework::Digcomp22 as i32,
            level,
            score: 50.0,
            phase,
        }),
    )
}

fn demand(n: u32, openings: u32, hard: u32, when: &str) -> EventFacts {
    envelope(
        n,
        "11",
        when,
        pb::normalized_event::Payload::Demand(pb::NormalizedDemand {
            source: "board".into(),
            skills: vec!["3.4".into()],
            openings,
            hard_to_fill: hard,
            rome_code: String::new(),
        }),
    )
}

/// Five learners on 3.4 in Île-de-France; see each line for its story.
fn story() -> Vec<EventFacts> {
    let l1 = Profile { woman: true, jobseeker: true, ..Default::default() };
    let l2 = Profile { priority: true, ..Default::default() };
    let l4 = Profile { under_26: true, ..Default::default() };
    let none = Profile::default();
    let both = &["3.4", "2.1"][..];
    let one = &["3.4"][..];
    vec![
        // L1 (also learns 2.1): enrolled, started, completed, certified at level 5 (target 5).
        enrolment(1, "L1", status::ENROLLED, "2025-01-10", both, None, None, l1),
        enrolment(2, "L1", status::STARTED, "2025-02-01", both, Some("2025-09-30"), None, l1),
        enrolment(3, "L1", status::COMPLETED, "2025-09-28", both, None, None, l1),
        enrolment(4, "L1", status::CERTIFIED, "2025-10-15", both, None, Some(5), l1),
        // L2: still active at the end of 2025, planned to end within the horizon.
        enrolment(5, "L2", status::ENROLLED, "2025-03-01", one, None, None, l2),
        enrolment(6, "L2", status::STARTED, "2025-03-05", one, Some("2026-03-01"), None, l2),
        // L3: enrolled in 2024, dropped out in 2025.
        enrolment(7, "L3", status::ENROLLED, "2024-11-01", one, None, None, none),
        enrolment(8, "L3", status::STARTED, "2024-11-15", one, Some("2025-06-30"), None, none),
        enrolment(9, "L3", status::DROPPED_OUT, "2025-04-01", one, None, None, none),
        // L4: the completion arrives before the start it follows.
        enrolment(10, "L4", status::COMPLETED, "2025-05-01", one, None, None, l4),
        enrolment(11, "L4", status::STARTED, "2025-01-10", one, Some("2025-05-01"), None, l4),
        enrolment(12, "L4", status::ENROLLED, "2025-01-05", one, None, None, l4),
        // L5: certified below the target level.
        enrolment(13, "L5", status::ENROLLED, "2024-10-01", one, None, None, none),
        enrolment(14, "L5", status::CERTIFIED, "2025-06-01", one, None, Some(4), none),
        // Gains: L1 2 -> 5, L4 3 -> 4 (initial in 2024), L2 final without initial.
        assessment(20, "L1", 1, 2, "2025-01-15"),
        assessment(21, "L1", 2, 4, "2025-05-15"),
        assessment(22, "L1", 3, 5, "2025-09-20"),
        assessment(23, "L4", 1, 3, "2024-12-01"),
        assessment(24, "L4", 3, 4, "2025-05-02"),
        assessment(25, "L2", 3, 6, "2025-08-01"),
        // Demand: 15 openings in 2025, 5 hard to fill; 100 in 2024.
        demand(30, 10, 4, "2025-04-01"),
        demand(31, 5, 1, "2025-07-01"),
        demand(32, 100, 50, "2024-12-31"),
    ]
}

fn year_2025(by_skill: bool) -> CounterWindow {
    CounterWindow {
        start: "2025-01-01T00:00:00Z".parse().unwrap(),
        end: "2026-01-01T00:00:00Z".parse().unwrap(),
        horizon_end: "2026-07-01T00:00:00Z".parse().unwrap(),
        by_skill,
        region: None,
        skill: None,
    }
}

async fn loaded() -> EmbeddedStore {
    let store = EmbeddedStore::in_memory().unwrap();
    let outcome = store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    assert_eq!(outcome.new_events, 23);
    store
}

fn cell<'a>(cells: &'a [CellCounters], region: &str, skill: Option<&str>) -> &'a CellCounters {
    cells.iter().find(|c| c.region == region && c.skill.as_deref() == skill).expect("cell present")
}

#[tokio::test]
async fn counters_of_a_cell_match_the_hand_computed_story() {
    let store = loaded().await;
    let cells = store.counters(&year_2025(true)).await.unwrap();
    let programming = cell(&cells, "11", Some("3.4"));
    let s: SupplyCounters = programming.supply;
    assert_eq!(s.enrolled, 3, "L1, L2, L4 enrolled in 2025");
    assert_eq!(s.completed, 3, "L1, L4, L5");
    assert_eq!(s.dropped_out, 1);
    assert_eq!(s.certified, 2);
    assert_eq!(s.certified_at_target, 1);
    assert_eq!((s.active, s.active_finishing), (1, 1), "only L2");
    assert_eq!(s.learners, 5);
    assert_eq!((s.gain_sum, s.gain_learners), (4, 2));
    assert_eq!(s.enrolled_groups.women, 1);
    assert_eq!(s.enrolled_groups.priority_neighbourhood, 1);
    assert_eq!(s.enrolled_groups.under_26, 1);
    assert_eq!(s.enrolled_groups.jobseekers, 1);
    assert_eq!(s.certified_groups.women, 1);
    assert_eq!((programming.demand.openings, programming.demand.hard_to_fill), (15, 5));

    let indicators = CellIndicators::from_counters(programming);
    assert_eq!(indicators.completion_rate, Some(0.75));
    assert_eq!(indicators.pipeline, 0.75);
    assert_eq!(indicators.talent_gap, 15.0 - 1.75);
    assert!((indicators.shortage_ratio - 15.0 / 1.75).abs() < 1e-12);
}

#[tokio::test]
async fn whole_region_rows_count_each_learner_once() {
    let store = loaded().await;
    let cells = store.counters(&year_2025(false)).await.unwrap();
    let region = cell(&cells, "11", None);
    assert_eq!(region.supply.enrolled, 3, "L1 learns two skills but is one learner");
    assert_eq!(region.supply.learners, 5);
    assert_eq!(region.demand.openings, 0, "demand is per skill only");
}

#[tokio::test]
async fn replaying_a_batch_changes_nothing() {
    let store = loaded().await;
    let before = store.counters(&year_2025(true)).await.unwrap();
    let status_before = store.status().await.unwrap();
    let outcome = store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    assert_eq!(outcome.new_events, 0);
    assert_eq!(outcome.duplicate_events, 23);
    assert_eq!(store.counters(&year_2025(true)).await.unwrap(), before);
    assert_eq!(store.status().await.unwrap(), status_before, "a no-op keeps the cache version");
}

#[tokio::test]
async fn a_late_event_lands_in_its_own_period() {
    let store = loaded().await;
    let q2 = CounterWindow {
        start: "2025-04-01T00:00:00Z".parse().unwrap(),
        end: "2025-07-01T00:00:00Z".parse().unwrap(),
        ..year_2025(true)
    };
    let q3 = CounterWindow {
        start: "2025-07-01T00:00:00Z".parse().unwrap(),
        end: "2025-10-01T00:00:00Z".parse().unwrap(),
        ..year_2025(true)
    };
    let q3_before = store.counters(&q3).await.unwrap();
    let q2_before = cell(&store.counters(&q2).await.unwrap(), "11", Some("3.4")).demand.openings;
    store.apply(Batch { events: vec![demand(40, 7, 0, "2025-05-20")], ..Default::default() }).await.unwrap();
    let q2_after = cell(&store.counters(&q2).await.unwrap(), "11", Some("3.4")).demand.openings;
    assert_eq!(q2_after, q2_before + 7);
    assert_eq!(store.counters(&q3).await.unwrap(), q3_before);
}

#[tokio::test]
async fn filters_restrict_the_cells() {
    let store = loaded().await;
    let window = CounterWindow { skill: Some("2.1".into()), ..year_2025(true) };
    let cells = store.counters(&window).await.unwrap();
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].supply.enrolled, 1);
    let elsewhere = CounterWindow { region: Some("84".into()), ..year_2025(true) };
    assert!(store.counters(&elsewhere).await.unwrap().is_empty());
}

#[tokio::test]
async fn dead_letters_checkpoints_and_status_persist_across_reopen() {
    let directory = std::env::temp_dir().join(format!("skills-store-test-{}", std::process::id()));
    let path = directory.join("store.db");
    let _ = std::fs::remove_dir_all(&directory);
    {
        let store = EmbeddedStore::open(&path).unwrap();
        let letter = DeadLetter {
            id: "d1".into(),
            source_topic: "raw".into(),
            source_partition: 0,
            source_offset: 9,
            reason: "unknown_skill".into(),
            message: "unknown skill code \"9.9\"".into(),
            payload: b"{}".to_vec(),
        };
        let batch = Batch {
            events: vec![demand(50, 3, 1, "2025-02-01")],
            dead_letters: vec![letter.clone(), letter],
            checkpoints: vec![crate::Checkpoint {
                consumer: "agg".into(),
                topic: "t".into(),
                partition: 0,
                next_offset: 12,
            }],
        };
        let outcome = store.apply(batch).await.unwrap();
        assert_eq!(outcome.new_dead_letters, 1);
    }
    let store = EmbeddedStore::open(&path).unwrap();
    let status = store.status().await.unwrap();
    assert_eq!((status.events, status.dead_letters, status.version), (1, 1, 1));
    assert_eq!(status.as_of, Some("2026-01-02T12:00:00Z".parse().unwrap()));
    assert_eq!(store.dead_letter_reasons().await.unwrap(), [("unknown_skill".to_string(), 1)]);
    assert_eq!(store.checkpoints("agg").await.unwrap()[0].next_offset, 12);
    store.set_meta("seeded", 1).await.unwrap();
    assert_eq!(store.meta("seeded").await.unwrap(), Some(1));
    assert_eq!(store.meta("absent").await.unwrap(), None);
    drop(store);
    std::fs::remove_dir_all(&directory).unwrap();
}

//! A small, hand-computed story of facts shared by the tests of every
//! store, so that the embedded and ClickHouse stores are checked against
//! the same expected counters. Not used by the services.
#![doc(hidden)]

use crate::CounterWindow;
use chrono::{DateTime, Utc};
use skills_domain::events::to_timestamp;
use skills_domain::facts::{EventFacts, facts_of, status};
use skills_domain::indicators::CellCounters;
use skills_proto::v1 as pb;

pub fn at(text: &str) -> DateTime<Utc> {
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

pub fn demand(n: u32, openings: u32, hard: u32, when: &str) -> EventFacts {
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
/// Expected for 2025, cell 11 × 3.4: enrolled 3, completed 3, dropped 1,
/// certified 2 (1 at target), active 1 (finishing 1), learners 5, gains
/// 4 over 2 learners, openings 15 (5 hard to fill).
pub fn story() -> Vec<EventFacts> {
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

pub fn year_2025(by_skill: bool) -> CounterWindow {
    CounterWindow {
        start: "2025-01-01T00:00:00Z".parse().unwrap(),
        end: "2026-01-01T00:00:00Z".parse().unwrap(),
        horizon_end: "2026-07-01T00:00:00Z".parse().unwrap(),
        by_skill,
        region: None,
        skill: None,
    }
}

/// The quarter window of 2025 starting at `month` (1, 4, 7 or 10).
pub fn quarter_2025(month: u32, by_skill: bool) -> CounterWindow {
    let start: DateTime<Utc> = format!("2025-{month:02}-01T00:00:00Z").parse().expect("valid date");
    let end = start + chrono::Months::new(3);
    CounterWindow { start, end, ..year_2025(by_skill) }
}

/// What reconciliation asks a store, checked alike for every store: `event`
/// is counted and `letter` was dead-lettered (both already applied).
pub async fn check_reconciliation_lookups(
    store: &dyn crate::MetricsStore,
    event: &EventFacts,
    letter: &crate::DeadLetter,
) {
    let absent = "00000000-0000-4000-8000-999999999999".to_string();
    let counted = store.counted_events(&[event.event_id.clone(), absent]).await.unwrap();
    assert_eq!(counted, std::collections::HashSet::from([event.event_id.clone()]));
    let (topic, partition, offset) = (letter.source_topic.as_str(), letter.source_partition, letter.source_offset);
    let found = store.dead_lettered_offsets(topic, partition, offset..offset + 1).await.unwrap();
    assert_eq!(found, std::collections::HashSet::from([offset]));
    assert!(store.dead_lettered_offsets(topic, partition, 0..offset).await.unwrap().is_empty(), "range end excluded");
    assert!(store.dead_lettered_offsets(topic, partition + 1, 0..i64::MAX).await.unwrap().is_empty());
    assert!(store.dead_lettered_offsets("other", partition, 0..i64::MAX).await.unwrap().is_empty());
}

/// `events` as they might arrive: each once plus the repeats named in
/// `extra` (indexes into `events`), in an order shuffled by `seed`, cut
/// into batches of the sizes in `cuts` (cycled). Tests check that any
/// such arrival gives the counters of one clean pass.
pub fn arrival(events: &[EventFacts], extra: &[usize], seed: u64, cuts: &[usize]) -> Vec<Vec<EventFacts>> {
    let mut order: Vec<usize> = (0..events.len()).chain(extra.iter().map(|i| i % events.len())).collect();
    // Fisher–Yates with a small xorshift generator: reproducible from the seed.
    let mut state = seed | 1;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut batches = Vec::new();
    let mut rest = order.as_slice();
    for &cut in cuts.iter().filter(|&&cut| cut > 0).cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at(cut.min(rest.len()));
        batches.push(batch.iter().map(|&i| events[i].clone()).collect());
        rest = tail;
    }
    if !rest.is_empty() {
        batches.push(rest.iter().map(|&i| events[i].clone()).collect());
    }
    batches
}

/// The right to erasure, on any store: forgetting L1 of the story removes
/// their facts, recomputes the cells they were in, changes the data
/// version (caches drop), redacts a dead letter quoting their raw id, and
/// keeps a later event of theirs out of every counter.
pub async fn check_erasure(store: &dyn crate::MetricsStore) {
    use crate::{Batch, DeadLetter, Erasure};
    store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    let letter = |id: &str, payload: &str| DeadLetter {
        id: id.into(),
        source_topic: "skills.enrolments.v1".into(),
        source_partition: 0,
        source_offset: 7,
        reason: "unknown_region".into(),
        message: "region 99".into(),
        payload: payload.as_bytes().to_vec(),
    };
    let letters =
        vec![letter("d1", r#"{"learner_id":"raw-learner-0001"}"#), letter("d2", r#"{"learner_id":"other-9"}"#)];
    store.apply(Batch { dead_letters: letters, ..Default::default() }).await.unwrap();
    let version = store.quick_status().await.unwrap().version;

    let erasure = Erasure { pseudonyms: vec!["L1".into()], raw_ids: vec!["raw-learner-0001".into(), "x".into()] };
    let outcome = store.forget(&erasure).await.unwrap();
    assert_eq!((outcome.enrolment_facts, outcome.assessment_facts, outcome.dead_letters_redacted), (4, 3, 1));
    assert_ne!(store.quick_status().await.unwrap().version, version, "cached indicators must be dropped");

    let check = |cells: Vec<CellCounters>| {
        let cell = cells.iter().find(|c| c.region == "11" && c.skill.as_deref() == Some("3.4")).expect("cell 11 × 3.4");
        let s = &cell.supply;
        assert_eq!((s.enrolled, s.completed, s.dropped_out, s.learners), (2, 2, 1, 4), "{s:?}");
        assert_eq!((s.certified, s.certified_at_target, s.gain_sum, s.gain_learners), (1, 0, 1, 1), "{s:?}");
        assert_eq!(s.enrolled_groups.women, 0, "L1 was the only woman");
        assert_eq!((cell.demand.openings, cell.demand.hard_to_fill), (15, 5), "demand is nobody's");
        let other = cells.iter().find(|c| c.skill.as_deref() == Some("2.1"));
        assert!(other.is_none_or(|c| c.supply.learners == 0 && c.supply.enrolled == 0), "only L1 learnt 2.1");
    };
    check(store.counters(&year_2025(true)).await.unwrap());

    // An event of L1 arriving after the request never counts.
    let mut late = story().into_iter().next().unwrap();
    late.event_id = "late-event-of-l1".into();
    for fact in &mut late.facts.enrolments {
        fact.event_id = late.event_id.clone();
    }
    store.apply(Batch { events: vec![late], ..Default::default() }).await.unwrap();
    check(store.counters(&year_2025(true)).await.unwrap());

    // The other dead letter keeps its payload; the quoted raw id is gone.
    let again = store.forget(&erasure).await.unwrap();
    assert_eq!((again.enrolment_facts, again.dead_letters_redacted), (1, 0), "only the late event was left to delete");
}

/// Key rotation on any store: renaming every learner keeps every counter,
/// an erasure follows the rename, and a later event under a new pseudonym
/// joins that learner's history (L1's new final assessment is measured
/// against the initial one stored under the old pseudonym).
pub async fn check_rename(store: &dyn crate::MetricsStore) {
    use crate::{Batch, Erasure};
    store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    store.forget(&Erasure { pseudonyms: vec!["L3".into()], raw_ids: vec![] }).await.unwrap();
    let before = store.counters(&year_2025(true)).await.unwrap();

    let renames: Vec<(String, String)> = (1..=5).map(|n| (format!("L{n}"), format!("M{n}"))).collect();
    store.rename_learners(&renames).await.unwrap();
    assert_eq!(store.counters(&year_2025(true)).await.unwrap(), before, "a rename changes no counter");
    let mut learners = store.learners().await.unwrap();
    learners.sort();
    assert_eq!(learners, ["M1", "M2", "M3", "M4", "M5"], "no old pseudonym left, the erasure renamed too");

    let later = vec![
        assessment(40, "M1", 3, 6, "2025-12-01"),
        enrolment(41, "M3", status::ENROLLED, "2025-05-01", &["3.4"], None, None, Profile::default()),
    ];
    store.apply(Batch { events: later, ..Default::default() }).await.unwrap();
    let cells = store.counters(&year_2025(true)).await.unwrap();
    let cell = cells.iter().find(|c| c.region == "11" && c.skill.as_deref() == Some("3.4")).unwrap();
    assert_eq!((cell.supply.gain_sum, cell.supply.gain_learners), (5, 2), "L1: 2 → 6, L4: 3 → 4");
    let old = before.iter().find(|c| c.region == "11" && c.skill.as_deref() == Some("3.4")).unwrap();
    assert_eq!(cell.supply.enrolled, old.supply.enrolled, "the forgotten L3 stays forgotten as M3");
    assert_eq!(cell.supply.learners, old.supply.learners);
}

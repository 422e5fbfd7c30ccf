//! The embedded store against hand-computed counters.

use super::*;
use crate::fixtures::{demand, quarter_2025, story, year_2025};
use crate::{Batch, DeadLetter};
use skills_domain::indicators::{CellIndicators, SupplyCounters};

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
    let q2 = quarter_2025(4, true);
    let q3 = quarter_2025(7, true);
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
            partner_id: String::new(),
        };
        let batch = Batch {
            events: vec![demand(50, 3, 1, "2025-02-01")],
            dead_letters: vec![letter.clone(), letter.clone()],
            duplicates: Vec::new(),
            checkpoints: vec![crate::Checkpoint {
                consumer: "agg".into(),
                topic: "t".into(),
                partition: 0,
                next_offset: 12,
            }],
        };
        let outcome = store.apply(batch).await.unwrap();
        assert_eq!(outcome.new_dead_letters, 1);
        crate::fixtures::check_reconciliation_lookups(&store, &demand(50, 3, 1, "2025-02-01"), &letter).await;
    }
    let store = EmbeddedStore::open(&path).unwrap();
    let status = store.status().await.unwrap();
    assert_eq!((status.events, status.dead_letters, status.version), (1, 1, 1));
    assert_eq!(status.as_of, Some("2026-01-02T12:00:00Z".parse().unwrap()));
    assert_eq!(status.newest_event, Some(crate::fixtures::at("2025-02-01")));
    assert_eq!(store.dead_letter_reasons().await.unwrap(), [("unknown_skill".to_string(), 1)]);
    assert_eq!(store.checkpoints("agg").await.unwrap()[0].next_offset, 12);
    store.set_meta("seeded", 1).await.unwrap();
    assert_eq!(store.meta("seeded").await.unwrap(), Some(1));
    assert_eq!(store.meta("absent").await.unwrap(), None);
    drop(store);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[tokio::test]
async fn forgetting_a_learner_removes_their_facts_and_recomputes_the_cells() {
    crate::fixtures::check_erasure(&EmbeddedStore::in_memory().unwrap()).await;
}

#[tokio::test]
async fn a_partner_status_counts_its_events_duplicates_and_dead_letters() {
    crate::fixtures::check_partner_status(&EmbeddedStore::in_memory().unwrap()).await;
}

#[tokio::test]
async fn renaming_learners_for_a_key_rotation_keeps_their_history() {
    crate::fixtures::check_rename(&EmbeddedStore::in_memory().unwrap()).await;
}

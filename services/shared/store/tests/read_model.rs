//! The embedded store's read model against the fact queries: on random
//! histories arriving in any order and batching, with repeats, erasures,
//! renames that join two histories and a rebuild, every calendar window reads the same counters from the
//! model as counted from the facts.

use skills_domain::indicators::{CellCounters, DemandCounters, SupplyCounters};
use skills_store::fixtures::{arrival, calendar_windows, random_history};
use skills_store::{Batch, CounterWindow, EmbeddedStore, Erasure, MetricsStore};
use std::collections::BTreeMap;

async fn assert_model_matches_facts(store: &EmbeddedStore, context: &str) {
    for horizon in [0, 6, 30] {
        for window in calendar_windows(2023..=2027, horizon) {
            let model = store.counters(&window).await.unwrap();
            let facts = store.recount(&window).await.unwrap();
            assert_eq!(model, facts, "{context}: window {window:?}");
            if window.region.is_none() && window.skill.is_none() {
                assert_partners_sum_to_cells(store, &window, &model, context).await;
            }
        }
    }
}

/// Each partner's part of a window's cells sums to the cells, and one
/// partner's parts are its rows of every partner's.
async fn assert_partners_sum_to_cells(
    store: &EmbeddedStore,
    window: &CounterWindow,
    cells: &[CellCounters],
    context: &str,
) {
    let parts = store.partner_counters(window, None).await.unwrap().expect("the embedded store keeps partner parts");
    let mut sums: BTreeMap<(String, Option<String>), (SupplyCounters, DemandCounters)> = BTreeMap::new();
    for part in &parts {
        let sum = sums.entry((part.counters.region.clone(), part.counters.skill.clone())).or_default();
        sum.0 += &part.counters.supply;
        sum.1 += &part.counters.demand;
    }
    let expected: BTreeMap<(String, Option<String>), (SupplyCounters, DemandCounters)> =
        cells.iter().map(|c| ((c.region.clone(), c.skill.clone()), (c.supply, c.demand))).collect();
    assert_eq!(sums, expected, "{context}: partner parts of {window:?}");
    let p1 = store.partner_counters(window, Some("p1")).await.unwrap().unwrap();
    let p1_of_all: Vec<_> = parts.into_iter().filter(|p| p.partner == "p1").collect();
    assert_eq!(p1, p1_of_all, "{context}: one partner's parts");
}

#[tokio::test]
async fn the_model_equals_the_fact_queries_on_random_histories() {
    for seed in 1..=6u64 {
        let events = random_history(seed, 40);
        let repeats: Vec<usize> = (0..events.len()).step_by(7).collect();
        let store = EmbeddedStore::in_memory().unwrap();
        for batch in arrival(&events, &repeats, seed, &[1, 9, 30, 4]) {
            store.apply(Batch { events: batch, ..Default::default() }).await.unwrap();
        }
        let cells = store.counters(&calendar_windows(2025..=2025, 6)[0]).await.unwrap();
        assert!(cells.len() >= 8, "seed {seed}: the history fills cells ({} cells)", cells.len());
        assert_model_matches_facts(&store, &format!("seed {seed}")).await;

        let forgotten: Vec<String> = (0..40).step_by(5).map(|n| format!("R{n}")).collect();
        store.forget(&Erasure { pseudonyms: forgotten, raw_ids: vec![] }).await.unwrap();
        assert_model_matches_facts(&store, &format!("seed {seed}, after erasure")).await;

        // A key rotation that joins two histories of one partner (R1's
        // facts become R4's).
        store.rename_learners(&[("R1".into(), "R4".into()), ("R3".into(), "R903".into())]).await.unwrap();
        assert_model_matches_facts(&store, &format!("seed {seed}, after renames")).await;

        let before = store.counters(&calendar_windows(2025..=2025, 6)[0]).await.unwrap();
        store.rebuild_read_model().await.unwrap();
        assert_eq!(store.counters(&calendar_windows(2025..=2025, 6)[0]).await.unwrap(), before, "seed {seed}: rebuild");
    }
}

#[tokio::test]
async fn a_store_file_from_before_the_model_gets_it_built_at_open() {
    let directory = std::env::temp_dir().join(format!("read-model-{}", std::process::id()));
    let path = directory.join("store.db");
    let _ = std::fs::remove_dir_all(&directory);
    let status = {
        let store = EmbeddedStore::open(&path).unwrap();
        store.apply(Batch { events: random_history(9, 30), ..Default::default() }).await.unwrap();
        store.status().await.unwrap()
    };
    assert!(status.events > 100 && status.as_of.is_some(), "{status:?}");
    // Back to schema version 3, as a file written before the model existed.
    {
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "DROP TABLE cell_tallies; DROP TABLE cell_finishing;
                 DROP TABLE partner_tallies; DROP TABLE partner_finishing;
                 ALTER TABLE enrolment_facts DROP COLUMN profiled;
                 DROP INDEX applied_events_by_partner; DROP INDEX dead_letters_by_partner;
                 DROP TABLE duplicate_events; ALTER TABLE dead_letters DROP COLUMN partner_id;
                 ALTER TABLE applied_events DROP COLUMN source_topic;
                 ALTER TABLE applied_events DROP COLUMN source_partition;
                 ALTER TABLE applied_events DROP COLUMN source_offset;
                 DELETE FROM meta WHERE key = 'read_model_last_year' OR key LIKE 'status_%';
                 PRAGMA user_version = 3;",
            )
            .unwrap();
    }
    let store = EmbeddedStore::open(&path).unwrap();
    assert_model_matches_facts(&store, "migrated file").await;
    assert_eq!(store.status().await.unwrap(), status, "the status counts are taken from the tables once");
    std::fs::remove_dir_all(&directory).unwrap();
}

/// A tracked store's changes, copied after every batch into a map as
/// skills-model copies them to ClickHouse, always equal the whole model,
/// each partner's part of every cell included: no change is missed, through erasure, renames that rebuild, and a
/// rebuild.
#[tokio::test]
async fn tracked_changes_copied_batch_by_batch_equal_the_whole_model() {
    use skills_domain::read_model::CellTally;
    use std::collections::BTreeMap;
    /// Each cell's sums and its parts by partner.
    type Copy = BTreeMap<(String, String, String), (CellTally, Vec<(String, CellTally)>)>;
    async fn copy_changes(store: &EmbeddedStore, copy: &mut Copy, seen: &mut i64) {
        let (summary, cells) = store.model_changes_since(*seen).await.unwrap();
        assert!(summary.seq >= *seen);
        *seen = summary.seq;
        for cell in cells {
            copy.insert((cell.period, cell.region, cell.skill), (cell.tally, cell.partners));
        }
    }
    async fn assert_copy_is_whole(store: &EmbeddedStore, copy: &Copy, context: &str) {
        let (_, all) = store.model_changes_since(0).await.unwrap();
        let whole: Copy = all.into_iter().map(|c| ((c.period, c.region, c.skill), (c.tally, c.partners))).collect();
        assert_eq!(copy, &whole, "{context}");
        assert!(whole.values().filter(|(t, _)| !t.is_empty()).count() > 100, "{context}: cells");
        for ((period, region, skill), (tally, parts)) in &whole {
            let mut sum = CellTally::default();
            for (_, part) in parts {
                sum.add(part, 1);
            }
            sum.finishing.retain(|_, learners| *learners != 0);
            assert_eq!(&sum, tally, "{context}: the parts of {period} {region} {skill} sum to it");
        }
        assert!(whole.values().any(|(_, parts)| parts.len() > 1), "{context}: cells with several partners");
    }

    let store = EmbeddedStore::in_memory().unwrap();
    // Tracking starts on a store that already has data: everything is a change.
    let events = random_history(11, 60);
    let (early, late) = events.split_at(events.len() / 10);
    store.apply(Batch { events: early.to_vec(), ..Default::default() }).await.unwrap();
    let first = store.track_model_changes().await.unwrap();
    assert!(first.state_id != 0 && first.seq > 0, "{first:?}");
    assert_eq!(store.track_model_changes().await.unwrap().state_id, first.state_id, "one state, one id");
    let (mut copy, mut seen) = (Copy::new(), 0);
    copy_changes(&store, &mut copy, &mut seen).await;
    let repeats: Vec<usize> = (0..late.len()).step_by(5).collect();
    for batch in arrival(late, &repeats, 11, &[1, 17, 40, 6]) {
        store.apply(Batch { events: batch, ..Default::default() }).await.unwrap();
        copy_changes(&store, &mut copy, &mut seen).await;
    }
    assert_copy_is_whole(&store, &copy, "streamed").await;
    let (_, unchanged) = store.model_changes_since(seen).await.unwrap();
    assert!(unchanged.is_empty(), "nothing changed since the last copy");

    store.forget(&Erasure { pseudonyms: vec!["R4".into(), "R9".into()], raw_ids: vec![] }).await.unwrap();
    copy_changes(&store, &mut copy, &mut seen).await;
    assert_copy_is_whole(&store, &copy, "after an erasure").await;
    assert_eq!(store.model_summary().await.unwrap().erased, 2);

    store.rename_learners(&[("R1".into(), "R2".into())]).await.unwrap();
    copy_changes(&store, &mut copy, &mut seen).await;
    assert_copy_is_whole(&store, &copy, "after a rename that rebuilds").await;

    // A late event of a new year: its periods start from December's stock.
    let next_year = skills_store::fixtures::demand(9_001, 5, 1, "2027-03-01");
    store.apply(Batch { events: vec![next_year], ..Default::default() }).await.unwrap();
    copy_changes(&store, &mut copy, &mut seen).await;
    assert_copy_is_whole(&store, &copy, "after a new year").await;
    assert_eq!(store.model_summary().await.unwrap().last_year, Some(2027));
}

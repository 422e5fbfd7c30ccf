//! Counted once, whatever the arrival: any permutation of the story's
//! events, with any of them repeated, cut into batches of any size, gives
//! the embedded store the counters of one clean pass, in every window.
//! (tests/clickhouse.rs runs seeded arrivals against real ClickHouse.)

use proptest::prelude::*;
use skills_store::fixtures::{arrival, quarter_2025, story, year_2025};
use skills_store::{Batch, CounterWindow, EmbeddedStore, MetricsStore};

fn windows() -> Vec<CounterWindow> {
    let mut windows = vec![year_2025(true), year_2025(false)];
    for month in [1, 4, 7, 10] {
        windows.push(quarter_2025(month, true));
    }
    windows.push(CounterWindow { region: Some("11".into()), ..year_2025(true) });
    windows
}

fn counters(batches: Vec<Vec<skills_domain::facts::EventFacts>>) -> Vec<Vec<skills_domain::indicators::CellCounters>> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let store = EmbeddedStore::in_memory().unwrap();
        for events in batches {
            store.apply(Batch { events, ..Default::default() }).await.unwrap();
        }
        let mut all = Vec::new();
        for window in windows() {
            all.push(store.counters(&window).await.unwrap());
        }
        all
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_order_repetition_and_batching_gives_the_same_counters(
        extra in prop::collection::vec(0usize..64, 0..40),
        seed in any::<u64>(),
        cuts in prop::collection::vec(1usize..12, 1..6),
    ) {
        let events = story();
        let expected = counters(vec![events.clone()]);
        prop_assert_eq!(counters(arrival(&events, &extra, seed, &cuts)), expected);
    }
}

#[test]
fn an_arrival_holds_every_event_and_the_repeats() {
    let events = story();
    let batches = arrival(&events, &[0, 0, 5], 42, &[4, 7]);
    let mut ids: Vec<&str> = batches.iter().flatten().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), events.len() + 3);
    assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 7));
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "every event, no other");
}

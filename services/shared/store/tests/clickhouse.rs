//! The ClickHouse store against the real server that `deploy/infra.sh up`
//! starts (SKILLS_CLICKHOUSE_URL, ClickHouse 18.16 from Debian), each test
//! in its own database; and the same SQL through a current ClickHouse
//! engine (chdb, SKILLS_CHDB_PYTHON).

use skills_store::fixtures::{demand, quarter_2025, story, year_2025};
use skills_store::{
    Batch, Checkpoint, ClickHouseConfig, ClickHouseStore, CounterWindow, DeadLetter, EmbeddedStore, ErrorKind,
    MetricsStore,
};

const NEEDS_CLICKHOUSE: &str = "SKILLS_CLICKHOUSE_URL is not set: start ClickHouse with ./deploy/infra.sh up";

fn config(name: &str) -> ClickHouseConfig {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    ClickHouseConfig {
        url: std::env::var("SKILLS_CLICKHOUSE_URL").expect(NEEDS_CLICKHOUSE),
        database: format!("test_{name}_{}_{nanos}", std::process::id()),
        ..ClickHouseConfig::default()
    }
}

async fn drop_database(config: &ClickHouseConfig) {
    let client = clickhouse::Client::default().with_url(&config.url).with_validation(false);
    client.query(&format!("DROP DATABASE IF EXISTS {}", config.database)).execute().await.unwrap();
}

fn windows() -> Vec<CounterWindow> {
    let mut windows = vec![year_2025(true), year_2025(false)];
    for month in [1, 4, 7, 10] {
        windows.push(quarter_2025(month, true));
        windows.push(quarter_2025(month, false));
    }
    windows.push(CounterWindow { region: Some("11".into()), ..year_2025(true) });
    windows.push(CounterWindow { skill: Some("2.1".into()), ..year_2025(true) });
    windows.push(CounterWindow { region: Some("84".into()), ..year_2025(true) });
    windows
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn services_starting_together_apply_each_migration_once() {
    let config = config("together");
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move { ClickHouseStore::connect(&config).await.map(|_| ()) })
        })
        .collect();
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let client = clickhouse::Client::default().with_url(&config.url).with_validation(false);
    let applied: Vec<(u32, u64)> = client
        .query(&format!(
            "SELECT version, count() FROM {}.schema_migrations GROUP BY version ORDER BY version",
            config.database
        ))
        .fetch_all()
        .await
        .unwrap();
    assert!(applied.len() >= 3, "{applied:?}");
    assert!(applied.iter().all(|(_, times)| *times == 1), "each version recorded once: {applied:?}");
    let lease: u8 =
        client.query(&format!("EXISTS TABLE {}.migration_lease", config.database)).fetch_one().await.unwrap();
    assert_eq!(lease, 0, "the lease is released");
    drop_database(&config).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn counters_equal_the_embedded_stores_on_the_same_story() {
    let config = config("counters");
    let clickhouse = ClickHouseStore::connect(&config).await.unwrap();
    let embedded = EmbeddedStore::in_memory().unwrap();
    for store in [&clickhouse as &dyn MetricsStore, &embedded] {
        let outcome = store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
        assert_eq!(outcome.new_events, 23);
    }
    for window in windows() {
        let expected = embedded.counters(&window).await.unwrap();
        let actual = clickhouse.counters(&window).await.unwrap();
        assert_eq!(actual, expected, "window {window:?}");
    }
    // And by hand, for the main cell (see the fixture).
    let cells = clickhouse.counters(&year_2025(true)).await.unwrap();
    let cell = cells.iter().find(|c| c.region == "11" && c.skill.as_deref() == Some("3.4")).unwrap();
    assert_eq!((cell.supply.enrolled, cell.supply.completed, cell.supply.dropped_out), (3, 3, 1));
    assert_eq!((cell.supply.certified, cell.supply.certified_at_target), (2, 1));
    assert_eq!((cell.supply.active, cell.supply.active_finishing, cell.supply.learners), (1, 1, 5));
    assert_eq!((cell.supply.gain_sum, cell.supply.gain_learners), (4, 2));
    assert_eq!((cell.demand.openings, cell.demand.hard_to_fill), (15, 5));
    drop_database(&config).await;
}

/// Each partner's part of every cell, counted from the facts here and kept
/// in the embedded store's read model, agree on a random history of three
/// partners, every calendar window of two years, for all and for one partner.
#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn partner_parts_equal_the_embedded_stores() {
    use skills_store::fixtures::{calendar_windows, random_history, sorted_parts};
    let config = config("partner_parts");
    let clickhouse = ClickHouseStore::connect(&config).await.unwrap();
    let embedded = EmbeddedStore::in_memory().unwrap();
    let events = random_history(23, 60);
    for store in [&clickhouse as &dyn MetricsStore, &embedded] {
        store.apply(Batch { events: events.clone(), ..Default::default() }).await.unwrap();
    }
    let mut compared = 0;
    for window in calendar_windows(2024..=2025, 6) {
        for partner in [None, Some("p1")] {
            let expected = embedded.partner_counters(&window, partner).await.unwrap().expect("embedded parts");
            let expected = sorted_parts(expected);
            let actual = sorted_parts(clickhouse.partner_counters_from_facts(&window, partner).await.unwrap());
            assert_eq!(actual, expected, "window {window:?}, partner {partner:?}");
            compared += actual.len();
        }
    }
    assert!(compared > 500, "{compared} parts compared");
    drop_database(&config).await;
}

/// Copies of an event that differ (a partner's corrected resend, or a
/// backlog pseudonymised under another key): the first copy counts, in the
/// same batch as across batches, as in the embedded store.
#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn the_first_copy_of_an_event_counts_even_when_copies_differ() {
    use skills_store::fixtures::{calendar_windows, random_history};
    let config = config("copies");
    let clickhouse = ClickHouseStore::connect(&config).await.unwrap();
    let embedded = EmbeddedStore::in_memory().unwrap();
    let events = random_history(3, 12);
    let renamed = |prefix: &str| {
        let mut copies = events.clone();
        for event in &mut copies {
            for fact in &mut event.facts.enrolments {
                fact.learner = format!("{prefix}{}", fact.learner);
            }
            for fact in &mut event.facts.assessments {
                fact.learner = format!("{prefix}{}", fact.learner);
            }
        }
        copies
    };
    let same_batch: Vec<_> = events.iter().cloned().chain(renamed("X")).collect();
    for store in [&clickhouse as &dyn MetricsStore, &embedded] {
        let first = store.apply(Batch { events: same_batch.clone(), ..Default::default() }).await.unwrap();
        assert_eq!((first.new_events, first.duplicate_events), (events.len() as u64, events.len() as u64));
        let later = store.apply(Batch { events: renamed("Y"), ..Default::default() }).await.unwrap();
        assert_eq!((later.new_events, later.duplicate_events), (0, events.len() as u64));
    }
    assert_eq!(clickhouse.status().await.unwrap().events, events.len() as u64);
    let mut compared = 0;
    for window in calendar_windows(2024..=2025, 6) {
        let expected = embedded.counters(&window).await.unwrap();
        assert_eq!(clickhouse.counters(&window).await.unwrap(), expected, "window {window:?}");
        compared += expected.len();
    }
    assert!(compared > 50, "{compared} cells compared");
    let learners = clickhouse.learners().await.unwrap();
    assert!(learners.iter().all(|l| !l.starts_with('X') && !l.starts_with('Y')), "{learners:?}");
    drop_database(&config).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn counters_do_not_depend_on_arrival_order() {
    // The story has a learner assessed before enrolling and a completion
    // arriving before the start; here every event arrives alone, newest
    // first, then in an interleaved order.
    let config = config("order");
    let reversed = ClickHouseStore::connect(&config).await.unwrap();
    for event in story().into_iter().rev() {
        reversed.apply(Batch { events: vec![event], ..Default::default() }).await.unwrap();
    }
    let embedded = EmbeddedStore::in_memory().unwrap();
    let (even, odd): (Vec<_>, Vec<_>) = story().into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    for half in [odd, even] {
        let events = half.into_iter().map(|(_, event)| event).collect();
        embedded.apply(Batch { events, ..Default::default() }).await.unwrap();
    }
    let in_order = EmbeddedStore::in_memory().unwrap();
    in_order.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    for window in windows() {
        let expected = in_order.counters(&window).await.unwrap();
        assert_eq!(reversed.counters(&window).await.unwrap(), expected, "ClickHouse, window {window:?}");
        assert_eq!(embedded.counters(&window).await.unwrap(), expected, "embedded, window {window:?}");
    }
    drop_database(&config).await;
}

/// The arrivals of the embedded property test (arrival_order.rs), on the
/// real server: seeded permutations of the story with repeats, cut into
/// batches, each into a fresh database, give the counters of a clean pass.
#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn permuted_repeated_and_rebatched_arrivals_give_the_same_counters() {
    let events = story();
    let in_order = EmbeddedStore::in_memory().unwrap();
    in_order.apply(Batch { events: events.clone(), ..Default::default() }).await.unwrap();
    for seed in 1..=6u64 {
        // About a third of the events repeated, the first one twice more.
        let extra: Vec<usize> =
            (0..events.len()).filter(|i| (i + seed as usize).is_multiple_of(3)).chain([0, 0]).collect();
        let cuts = [seed as usize % 5 + 1, 9, 17];
        let config = config(&format!("arrival{seed}"));
        let store = ClickHouseStore::connect(&config).await.unwrap();
        for batch in skills_store::fixtures::arrival(&events, &extra, seed, &cuts) {
            store.apply(Batch { events: batch, ..Default::default() }).await.unwrap();
        }
        for window in windows() {
            let expected = in_order.counters(&window).await.unwrap();
            assert_eq!(store.counters(&window).await.unwrap(), expected, "seed {seed}, window {window:?}");
        }
        drop_database(&config).await;
    }
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn replays_and_unmerged_duplicates_change_nothing() {
    let config = config("replay");
    let store = ClickHouseStore::connect(&config).await.unwrap();
    store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    let before: Vec<_> = {
        let mut all = Vec::new();
        for window in windows() {
            all.push(store.counters(&window).await.unwrap());
        }
        all
    };
    let outcome = store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    assert_eq!((outcome.new_events, outcome.duplicate_events), (0, 23));
    // Rows written twice by a crash between a batch's inserts, before any
    // merge: insert the facts again behind the store's back.
    let client = clickhouse::Client::default().with_url(&config.url).with_validation(false);
    for table in ["enrolment_facts", "assessment_facts", "demand_facts", "applied_events"] {
        let db = &config.database;
        client.query(&format!("INSERT INTO {db}.{table} SELECT * FROM {db}.{table}")).execute().await.unwrap();
    }
    for (window, expected) in windows().iter().zip(&before) {
        assert_eq!(&store.counters(window).await.unwrap(), expected, "window {window:?}");
    }
    assert_eq!(store.status().await.unwrap().events, 23);
    // A late event lands in its own quarter only.
    let q1 = store.counters(&quarter_2025(1, true)).await.unwrap();
    store.apply(Batch { events: vec![demand(60, 7, 2, "2025-05-20")], ..Default::default() }).await.unwrap();
    let q2 = store.counters(&quarter_2025(4, true)).await.unwrap();
    let openings = |cells: &[skills_domain::indicators::CellCounters]| {
        cells.iter().find(|c| c.region == "11" && c.skill.as_deref() == Some("3.4")).map_or(0, |c| c.demand.openings)
    };
    assert_eq!(openings(&q2), 10 + 7);
    assert_eq!(store.counters(&quarter_2025(1, true)).await.unwrap(), q1);
    drop_database(&config).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn dead_letters_checkpoints_and_status() {
    let config = config("letters");
    let store = ClickHouseStore::connect(&config).await.unwrap();
    let letter = DeadLetter {
        id: "d1".into(),
        source_topic: "raw".into(),
        source_partition: 2,
        source_offset: 9,
        reason: "unknown_skill".into(),
        message: "unknown skill code \"9.9\"".into(),
        payload: vec![0xff, 0x00, b'{'],
        partner_id: "p".into(),
    };
    let checkpoint = |next_offset| Checkpoint { consumer: "agg".into(), topic: "t".into(), partition: 0, next_offset };
    let outcome = store
        .apply(Batch {
            events: vec![demand(50, 3, 1, "2025-02-01")],
            dead_letters: vec![letter.clone(), letter.clone()],
            duplicates: Vec::new(),
            checkpoints: vec![checkpoint(12)],
        })
        .await
        .unwrap();
    assert_eq!((outcome.new_events, outcome.new_dead_letters), (1, 1));
    let again = store
        .apply(Batch { dead_letters: vec![letter.clone()], checkpoints: vec![checkpoint(20)], ..Default::default() })
        .await
        .unwrap();
    assert_eq!(again.new_dead_letters, 0);
    let status = store.status().await.unwrap();
    assert_eq!((status.events, status.dead_letters), (1, 1));
    assert_eq!(status.as_of, Some("2026-01-02T12:00:00Z".parse().unwrap()));
    assert_eq!(status.newest_event, Some(skills_store::fixtures::at("2025-02-01")));
    assert_eq!(store.dead_letter_reasons().await.unwrap(), [("unknown_skill".to_string(), 1)]);
    assert_eq!(store.checkpoints("agg").await.unwrap()[0].next_offset, 20);
    skills_store::fixtures::check_reconciliation_lookups(&store, &demand(50, 3, 1, "2025-02-01"), &letter).await;
    drop_database(&config).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn migrations_are_idempotent_and_a_schema_mismatch_is_a_clear_error() {
    let config = config("schema");
    ClickHouseStore::connect(&config).await.unwrap();
    ClickHouseStore::connect(&config).await.expect("a second start applies nothing and passes the check");
    let client = clickhouse::Client::default().with_url(&config.url).with_validation(false);
    let versions: u64 =
        client.query(&format!("SELECT count() FROM {}.schema_migrations", config.database)).fetch_one().await.unwrap();
    assert_eq!(versions, 6, "migrations 1 to 6 recorded once each");
    client
        .query(&format!("ALTER TABLE {}.enrolment_facts DROP COLUMN course_id", config.database))
        .execute()
        .await
        .unwrap();
    match ClickHouseStore::connect(&config).await {
        Err(error) if error.kind() == ErrorKind::Schema => {
            let message = error.to_string();
            assert!(message.contains("enrolment_facts") && message.contains("course_id String"), "{message}")
        }
        Err(other) => panic!("expected a schema error, got {other}"),
        Ok(_) => panic!("expected a schema error"),
    }
    drop_database(&config).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn an_unreachable_server_is_reported_as_unavailable() {
    let config = ClickHouseConfig { url: "http://127.0.0.1:9".into(), ..ClickHouseConfig::default() };
    match ClickHouseStore::connect(&config).await {
        Err(error) if error.kind() == ErrorKind::Unavailable => {}
        Err(other) => panic!("expected Unavailable, got {other}"),
        Ok(_) => panic!("nothing listens on port 9"),
    }
}

#[test]
#[ignore = "needs chdb: ./deploy/test.sh"]
fn every_migration_and_query_runs_on_a_current_clickhouse() {
    let python = std::env::var("SKILLS_CHDB_PYTHON").expect("SKILLS_CHDB_PYTHON: ./deploy/test.sh installs chdb");
    let sql_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sql/clickhouse");
    let output = std::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/sql/clickhouse/check_current.py"))
        .arg(sql_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("engine 2"), "a current engine, not 18.x: {stdout}");
    assert!(stdout.contains("all statements ran"), "{stdout}");
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn forgetting_a_learner_removes_their_facts_and_recomputes_the_cells() {
    let config = config("erasure");
    let store = ClickHouseStore::connect(&config).await.unwrap();
    skills_store::fixtures::check_erasure(&store).await;
    // Deleted on disk too, not only hidden: the mutations have run.
    let client = clickhouse::Client::default().with_url(&config.url).with_validation(false);
    let left: u64 = client
        .query(&format!("SELECT count() FROM {}.enrolment_facts WHERE learner = 'L1'", config.database))
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(left, 0);
    drop_database(&config).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn a_partner_status_counts_its_events_duplicates_and_dead_letters() {
    let config = config("partner_status");
    let store = ClickHouseStore::connect(&config).await.unwrap();
    skills_store::fixtures::check_partner_status(&store).await;
    drop_database(&config).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn renaming_learners_for_a_key_rotation_keeps_their_history() {
    let config = config("rename");
    let store = ClickHouseStore::connect(&config).await.unwrap();
    skills_store::fixtures::check_rename(&store).await;
    drop_database(&config).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn a_batch_larger_than_one_id_lookup_is_stored_and_counted_once() {
    // 60,000 ids do not fit one lookup query on 18.16 ("AST is too big" past
    // 50,000 elements): the lookup is split.
    let config = config("big_batch");
    let store = ClickHouseStore::connect(&config).await.unwrap();
    let events: Vec<_> = (0..60_000u32).map(|n| demand(n, 1, 0, "2025-03-01")).collect();
    let first = store.apply(Batch { events: events.clone(), ..Default::default() }).await.unwrap();
    assert_eq!((first.new_events, first.duplicate_events), (60_000, 0));
    let again = store.apply(Batch { events, ..Default::default() }).await.unwrap();
    assert_eq!((again.new_events, again.duplicate_events), (0, 60_000));
    assert_eq!(store.status().await.unwrap().events, 60_000);
    drop_database(&config).await;
}

/// The data version caches key on moves with every insert and erasure, and
/// not when ClickHouse merges parts: a merge that folds repeated rows
/// changes row counts, not data, and must not make every cache recompute.
#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn the_data_version_moves_with_data_not_with_merges() {
    let config = config("version");
    let store = ClickHouseStore::connect(&config).await.unwrap();
    let client = clickhouse::Client::default().with_url(&config.url).with_validation(false);
    let empty = store.quick_status().await.unwrap().version;
    let events = story();
    store.apply(Batch { events: events.clone(), ..Default::default() }).await.unwrap();
    // The same events again, in their own insert: repeats, not new data,
    // but a new block until a merge folds them.
    client
        .query(&format!(
            "INSERT INTO {}.applied_events SELECT * FROM {}.applied_events",
            config.database, config.database
        ))
        .execute()
        .await
        .unwrap();
    let loaded = store.quick_status().await.unwrap();
    assert!(loaded.version > empty, "an insert moves it");
    let rows_before = loaded.events;
    client.query(&format!("OPTIMIZE TABLE {}.applied_events FINAL", config.database)).execute().await.unwrap();
    let merged = store.quick_status().await.unwrap();
    assert!(merged.events < rows_before, "the merge folded the repeated rows ({} → {})", rows_before, merged.events);
    assert_eq!(merged.version, loaded.version, "a merge is not new data");
    assert_eq!(store.status().await.unwrap().version, merged.version, "both status reads agree");
    store.apply(Batch { events: vec![demand(90, 1, 0, "2025-03-01")], ..Default::default() }).await.unwrap();
    let more = store.quick_status().await.unwrap().version;
    assert!(more > merged.version, "new data moves it");
    let erasure = skills_store::Erasure { pseudonyms: vec!["someone".into()], raw_ids: Vec::new() };
    store.forget(&erasure).await.unwrap();
    assert!(store.quick_status().await.unwrap().version > more, "an erasure moves it");
    drop_database(&config).await;
}

//! skills-model against the real ClickHouse that `deploy/infra.sh up`
//! starts (SKILLS_CLICKHOUSE_URL): on a random history arriving shuffled,
//! with repeats, every calendar window read from the mirrored model equals
//! the same window counted from the facts, each partner's part of it too — after a crash between the
//! state and its copy, an old backup of the state put back, an erasure, the loss of the state, a key rotation
//! and a rebuild asked while it runs; and reads do come from the model.

use skills_aggregator::model::Materializer;
use skills_domain::indicators::PartnerCell;
use skills_store::fixtures::{arrival, calendar_windows, random_history, sorted_parts};
use skills_store::{Batch, ClickHouseConfig, ClickHouseStore, CounterWindow, Erasure, MetricsStore};
use std::path::PathBuf;

const NEEDS_CLICKHOUSE: &str = "SKILLS_CLICKHOUSE_URL is not set: start ClickHouse with ./deploy/infra.sh up";

fn config() -> ClickHouseConfig {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    ClickHouseConfig {
        url: std::env::var("SKILLS_CLICKHOUSE_URL").expect(NEEDS_CLICKHOUSE),
        database: format!("test_model_{}_{nanos}", std::process::id()),
        ..ClickHouseConfig::default()
    }
}

fn state_path(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("skills-model-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// Copies a state file with its SQLite companions (the state closed).
fn copy_state(from: &std::path::Path, to: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let (source, target) = (format!("{}{suffix}", from.display()), format!("{}{suffix}", to.display()));
        let _ = std::fs::remove_file(&target);
        if std::path::Path::new(&source).exists() {
            std::fs::copy(&source, &target).unwrap();
        }
    }
}

/// Which windows a check compares. Every one (about 250: each period of
/// five years, with and without skills, and 2025 at two more horizons)
/// once the history is streamed and after a restore; at the steps in
/// between, each of which changes learners all over the history, every
/// seventh (an odd stride: by skill and whole-region in turn) and the
/// windows of one region or one skill (the full sweep takes about a
/// minute on ClickHouse 18.16).
#[derive(Clone, Copy)]
enum Sweep {
    Every,
    Sample,
}

async fn assert_model_matches_facts(store: &ClickHouseStore, context: &str, sweep: Sweep) {
    let model = store.mirrored_model().await.unwrap().expect("a mirrored model");
    assert!(model.is_valid(), "{context}: the model is valid");
    let (mut cells, mut parts) = (0, 0);
    let windows = calendar_windows(2023..=2027, 6)
        .into_iter()
        .chain([0, 30].into_iter().flat_map(|horizon| calendar_windows(2025..=2025, horizon)));
    let sampled = |(n, window): &(usize, CounterWindow)| {
        matches!(sweep, Sweep::Every) || n % 7 == 0 || window.region.is_some() || window.skill.is_some()
    };
    for (_, window) in windows.enumerate().filter(sampled) {
        let from_model = store.counters(&window).await.unwrap();
        let from_facts = store.recount(&window).await.unwrap();
        assert_eq!(from_model, from_facts, "{context}: window {window:?}");
        cells += from_model.len();
        // One partner's parts on one year's windows (the fact queries with
        // a join per partner are the slow part of this test).
        let partners = match window.start.format("%Y").to_string().as_str() {
            "2025" => vec![None, Some("p1")],
            _ => vec![None],
        };
        for partner in partners {
            let from_model = sorted_parts(store.partner_counters(&window, partner).await.unwrap().expect("parts"));
            let from_facts = sorted_parts(store.partner_counters_from_facts(&window, partner).await.unwrap());
            assert_eq!(from_model, from_facts, "{context}: parts of {partner:?}, window {window:?}");
            parts += from_model.len();
        }
    }
    assert!(parts > cells, "{context}: every cell has parts, some several ({parts} parts, {cells} cells)");
    let least = match sweep {
        Sweep::Every => 500,
        Sweep::Sample => 500 / 7,
    };
    assert!(cells > least, "{context}: the history fills cells ({cells})");
}

#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn the_mirrored_model_equals_the_fact_queries_through_crashes_erasure_loss_and_rotation() {
    let config = config();
    let store = ClickHouseStore::connect(&config).await.unwrap();
    let path = state_path("state.db");
    let events = random_history(11, 60);
    let repeats: Vec<usize> = (0..events.len()).step_by(5).collect();
    let mut batches = arrival(&events, &repeats, 11, &[1, 17, 40, 6]);
    let held_back = batches.pop().unwrap();

    // The aggregator writes the facts; skills-model keeps the model.
    let mut model = Materializer::open(&path, store.clone()).await.unwrap();
    for batch in batches {
        store.apply(Batch { events: batch.clone(), ..Default::default() }).await.unwrap();
        model.apply(batch).await.unwrap();
    }
    assert_model_matches_facts(&store, "streamed", Sweep::Every).await;

    // A backup of the state, taken now and put back later.
    drop(model);
    copy_state(&path, &path.with_extension("backup"));
    let model = Materializer::open(&path, store.clone()).await.unwrap();

    // A crash after the state committed a batch, before its copy.
    store.apply(Batch { events: held_back.clone(), ..Default::default() }).await.unwrap();
    model.state().apply(Batch { events: held_back, ..Default::default() }).await.unwrap();
    drop(model);
    let model = Materializer::open(&path, store.clone()).await.unwrap();
    assert_model_matches_facts(&store, "after a crash before the copy", Sweep::Sample).await;

    // The old backup put back: older than its copy, so rebuilt from the facts.
    drop(model);
    copy_state(&path.with_extension("backup"), &path);
    let mut model = Materializer::open(&path, store.clone()).await.unwrap();
    let status = store.status().await.unwrap();
    assert_eq!(model.state().model_summary().await.unwrap().events, status.events, "every stored event is back");
    assert_model_matches_facts(&store, "after an old backup was put back", Sweep::Sample).await;

    // Erasure: `forget` waits until skills-model has taken the learners out.
    let forgotten: Vec<String> = (0..60).step_by(7).map(|n| format!("R{n}")).collect();
    let erasing = {
        let store = store.clone();
        tokio::spawn(async move { store.forget(&Erasure { pseudonyms: forgotten, raw_ids: vec![] }).await })
    };
    while !erasing.is_finished() {
        model.apply(Vec::new()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    erasing.await.unwrap().unwrap();
    assert_eq!(model.state().model_summary().await.unwrap().erased, 9);
    assert_model_matches_facts(&store, "after an erasure", Sweep::Sample).await;

    // The state is lost: a new one is restored from ClickHouse and
    // replaces the copy whole.
    let before = store.mirrored_model().await.unwrap().unwrap();
    drop(model);
    let model = Materializer::open(&state_path("state.db"), store.clone()).await.unwrap();
    let after = store.mirrored_model().await.unwrap().unwrap();
    assert_ne!(after.state_id, before.state_id, "a new state");
    assert_eq!(after.summary.events, before.summary.events, "every event restored");
    assert_eq!(model.state().model_summary().await.unwrap().erased, 9, "erasures restored");
    assert_model_matches_facts(&store, "after a restore", Sweep::Every).await;

    // Reads come from the model: a newer row for one cell shows.
    let client = clickhouse::Client::default().with_url(&config.url).with_validation(false);
    let db = &config.database;
    client
        .query(&format!(
            "INSERT INTO {db}.model_cells SELECT period, region, skill, version + 1, 999, enrolled, active, \
             completed, dropped_out, certified, certified_at_target, gain_sum, gain_learners, enrolled_women, \
             enrolled_priority, enrolled_rural, enrolled_under_26, enrolled_jobseekers, certified_women, \
             certified_priority, certified_rural, certified_under_26, certified_jobseekers, openings, hard_to_fill, \
             postings, finishing_months, finishing_learners FROM {db}.model_cells \
             WHERE period = '2025' AND region = '84' AND skill = '3.4' ORDER BY version DESC LIMIT 1"
        ))
        .execute()
        .await
        .unwrap();
    let year = calendar_windows(2025..=2025, 6)[0].clone();
    let cells = store.counters(&year).await.unwrap();
    let cell = cells.iter().find(|c| c.region == "84" && c.skill.as_deref() == Some("3.4")).unwrap();
    assert_eq!(cell.supply.learners, 999, "the newest version is read");
    assert_ne!(store.recount(&year).await.unwrap(), cells);
    // Its parts are the ones written with that version: none yet, then one.
    let parts_of_cell = |parts: Vec<PartnerCell>| -> Vec<(String, u64)> {
        parts
            .into_iter()
            .filter(|p| p.counters.region == "84" && p.counters.skill.as_deref() == Some("3.4"))
            .map(|p| (p.partner, p.counters.supply.learners))
            .collect()
    };
    let from_facts = parts_of_cell(store.partner_counters_from_facts(&year, None).await.unwrap());
    assert!(!from_facts.is_empty(), "the cell has parts in the facts");
    assert_eq!(parts_of_cell(store.partner_counters(&year, None).await.unwrap().unwrap()), vec![]);
    client
        .query(&format!(
            "INSERT INTO {db}.model_partner_cells SELECT period, region, skill, 'p9', version, \
             arrayMap(i -> toInt64(if(i = 0, 999, 0)), range(22)), [], [] FROM {db}.model_cells \
             WHERE period = '2025' AND region = '84' AND skill = '3.4' ORDER BY version DESC LIMIT 1"
        ))
        .execute()
        .await
        .unwrap();
    let parts = parts_of_cell(store.partner_counters(&year, None).await.unwrap().unwrap());
    assert_eq!(parts, vec![("p9".to_string(), 999)], "parts are read from the model");

    // A key rotation invalidates the copy (reads count from the facts)
    // until skills-model restarts and rebuilds its state. R2 and R5 are
    // one learner under the new key (both of partner p2: pseudonyms are
    // partner-scoped, so no rotation merges two partners' learners).
    drop(model);
    store.rename_learners(&[("R1".into(), "R901".into()), ("R2".into(), "R5".into())]).await.unwrap();
    assert!(!store.mirrored_model().await.unwrap().unwrap().is_valid());
    // Reads reuse the state row for up to a second.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(store.counters(&year).await.unwrap(), store.recount(&year).await.unwrap());
    let mut model = Materializer::open(&path, store.clone()).await.unwrap();
    assert_model_matches_facts(&store, "after a key rotation", Sweep::Sample).await;

    // `verify-model --rebuild` on ClickHouse: a running skills-model sees
    // the copy invalidated before its next batch and rebuilds.
    let state_before = store.mirrored_model().await.unwrap().unwrap().state_id;
    store.rebuild_read_model().await.unwrap();
    assert!(!store.mirrored_model().await.unwrap().unwrap().is_valid());
    model.apply(Vec::new()).await.unwrap();
    let rebuilt = store.mirrored_model().await.unwrap().unwrap();
    assert!(rebuilt.is_valid() && rebuilt.state_id != state_before, "{rebuilt:?}");
    assert_model_matches_facts(&store, "after a rebuild while running", Sweep::Sample).await;

    client.query(&format!("DROP DATABASE IF EXISTS {db}")).execute().await.unwrap();
}

/// A model mirrored before ClickHouse migration 5 has no partner parts:
/// the migration marks it invalid, and the next skills-model rebuilds it
/// and copies it whole, parts included.
#[tokio::test]
#[ignore = "needs ClickHouse: ./deploy/test.sh"]
async fn a_model_copied_before_partner_parts_is_rebuilt_with_them() {
    let config = config();
    let store = ClickHouseStore::connect(&config).await.unwrap();
    let path = state_path("before-parts.db");
    let events = random_history(5, 30);
    store.apply(Batch { events: events.clone(), ..Default::default() }).await.unwrap();
    let mut model = Materializer::open(&path, store.clone()).await.unwrap();
    model.apply(events).await.unwrap();
    drop(model);

    // Back to the schema before migration 5, with the copy still valid.
    let client = clickhouse::Client::default().with_url(&config.url).with_validation(false);
    let db = &config.database;
    client.query(&format!("DROP TABLE {db}.model_partner_cells")).execute().await.unwrap();
    client.query(&format!("ALTER TABLE {db}.schema_migrations DELETE WHERE version = 5")).execute().await.unwrap();
    let recorded = || async {
        client
            .query(&format!("SELECT count() FROM {db}.schema_migrations WHERE version = 5"))
            .fetch_one::<u64>()
            .await
            .unwrap()
    };
    while recorded().await > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(store.mirrored_model().await.unwrap().unwrap().is_valid());

    let store = ClickHouseStore::connect(&config).await.unwrap();
    assert!(!store.mirrored_model().await.unwrap().unwrap().is_valid(), "migration 5 invalidates the copy");
    let year = calendar_windows(2025..=2025, 6)[0].clone();
    let from_facts = store.partner_counters_from_facts(&year, None).await.unwrap();
    assert!(!from_facts.is_empty());
    let _model = Materializer::open(&path, store.clone()).await.unwrap();
    assert!(store.mirrored_model().await.unwrap().unwrap().is_valid(), "rebuilt");
    let parts: u64 = client.query(&format!("SELECT count() FROM {db}.model_partner_cells")).fetch_one().await.unwrap();
    assert!(parts > 0, "the rebuilt copy has parts");
    let from_model = sorted_parts(store.partner_counters(&year, None).await.unwrap().unwrap());
    assert_eq!(from_model, sorted_parts(from_facts));

    client.query(&format!("DROP DATABASE IF EXISTS {db}")).execute().await.unwrap();
}

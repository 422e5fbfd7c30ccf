//! A refresh serves a new data version in two stages: policy callers as
//! soon as it is read (nothing is withheld from them), everyone else once
//! the year's publication is decided. Between the stages nobody else sees
//! anything new, and what policy sees is exactly what it sees afterwards.

use skills_domain::indicators::{Audience, IndicatorSettings};
use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_server::TalentGapService;
use skills_query::IndicatorEngine;
use skills_query::auth::Authorizer;
use skills_query::service::TalentGapApi;
use skills_store::fixtures::{demand, story};
use skills_store::{Batch, EmbeddedStore, MetricsStore};
use std::sync::Arc;
use std::time::Duration;
use tokio_stream::StreamExt;

const POLICY: &str = "policy-token";

fn api(engine: Arc<IndicatorEngine>, shutdown: skills_runtime::Shutdown) -> TalentGapApi {
    let mut auth = Authorizer::new(Some("public")).unwrap();
    auth.add_token(POLICY, Audience::Policy);
    TalentGapApi::in_process(engine, auth, 8, shutdown)
}

fn request<T>(body: T, policy: bool) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    if policy {
        request.metadata_mut().insert("authorization", format!("Bearer {POLICY}").parse().unwrap());
    }
    request
}

/// The story's data in a store, its engine and its API.
async fn started() -> (Arc<EmbeddedStore>, Arc<IndicatorEngine>, TalentGapApi, skills_runtime::ShutdownTrigger) {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    let engine = IndicatorEngine::new(store.clone(), IndicatorSettings::default()).await.unwrap();
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    let api = api(engine.clone(), shutdown);
    (store, engine, api, trigger)
}

/// A full refresh, failing the test (not hanging it) if it never ends.
async fn refreshed(engine: &Arc<IndicatorEngine>) {
    tokio::time::timeout(Duration::from_secs(30), engine.refresh()).await.expect("the refresh ends").unwrap();
}

/// Every read call's answer for 2025, as one comparable text.
async fn answers(api: &TalentGapApi, policy: bool) -> String {
    let period = || "2025".to_string();
    let indicators = pb::GetRegionIndicatorsRequest { region: "11".into(), period: period() };
    let ranking = pb::RankShortagesRequest { period: period(), top: 20, ..Default::default() };
    let across = pb::GetSkillAcrossRegionsRequest { skill: "3.4".into(), period: period() };
    let inclusion = pb::GetInclusionRequest { region: "11".into(), period: period() };
    let trend =
        pb::GetTrendRequest { region: "11".into(), skill: "3.4".into(), from: "2025-01".into(), to: "2025-12".into() };
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        api.get_region_indicators(request(indicators, policy)).await.unwrap().into_inner(),
        api.rank_shortages(request(ranking, policy)).await.unwrap().into_inner(),
        api.get_skill_across_regions(request(across, policy)).await.unwrap().into_inner(),
        api.get_inclusion(request(inclusion, policy)).await.unwrap().into_inner(),
        api.get_trend(request(trend, policy)).await.unwrap().into_inner(),
    )
}

/// Region 11's 3.4 openings in 2025 as `policy` or the public is served them.
async fn openings(api: &TalentGapApi, policy: bool) -> u64 {
    let body = pb::GetRegionIndicatorsRequest { region: "11".into(), period: "2025".into() };
    let answer = api.get_region_indicators(request(body, policy)).await.unwrap().into_inner();
    answer.cells.iter().find(|c| c.skill == "3.4").unwrap().openings
}

#[tokio::test]
async fn policy_is_served_new_data_before_its_publication_is_decided_and_nobody_else_is() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    let engine = IndicatorEngine::new(store.clone(), IndicatorSettings::default()).await.unwrap();
    let uncached_engine =
        IndicatorEngine::with_cache(store.clone(), IndicatorSettings::default(), false).await.unwrap();
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    let api = api(engine.clone(), shutdown.clone());
    let uncached = self::api(uncached_engine.clone(), shutdown);

    // Read once, so 2025 is a year the refresh computes ahead.
    let (public_before, policy_before) = (answers(&api, false).await, answers(&api, true).await);
    let before = openings(&api, true).await;
    let mut watchers = Vec::new();
    for policy in [false, true] {
        let body = pb::WatchIndicatorsRequest { region: "11".into(), period: "2025".into() };
        let mut stream = api.watch_indicators(request(body, policy)).await.unwrap().into_inner();
        stream.next().await.unwrap().unwrap();
        watchers.push(stream);
    }
    let [mut public_watch, mut policy_watch] = <[_; 2]>::try_from(watchers).ok().unwrap();

    let gate = engine.hold_decisions();
    store.apply(Batch { events: vec![demand(900, 3, 0, "2025-06-15")], ..Default::default() }).await.unwrap();
    // A refresh stopped between its stages (a shutdown, a cancelled
    // task) leaves policy on the new version, not back on the old one.
    let mut policy_news = engine.subscribe(0);
    policy_news.borrow_and_update();
    let mut public_news = engine.subscribe(11);
    public_news.borrow_and_update();
    let interrupted = tokio::spawn({
        let engine = engine.clone();
        async move { engine.refresh().await }
    });
    tokio::time::timeout(Duration::from_secs(10), policy_news.changed()).await.unwrap().unwrap();
    interrupted.abort();
    let _ = interrupted.await;

    let update = tokio::time::timeout(Duration::from_secs(5), policy_watch.next()).await.unwrap().unwrap().unwrap();
    let cell = update.cells.iter().find(|c| c.skill == "3.4").unwrap();
    assert_eq!(cell.openings, before + 3, "the policy watcher is woken with the new version");
    assert_eq!(openings(&api, true).await, before + 3, "policy is served the new version");
    let policy_early = answers(&api, true).await;
    assert_ne!(policy_early, policy_before);
    assert_eq!(answers(&api, false).await, public_before, "every public answer is the old version's");
    assert!(!public_news.has_changed().unwrap(), "nobody else is told of the new version");
    let quiet = tokio::time::timeout(Duration::from_millis(300), public_watch.next()).await;
    assert!(quiet.is_err(), "public watchers are not woken yet");

    // The next refresh decides 2025; only then does the public see it.
    gate.add_permits(16);
    refreshed(&engine).await;
    assert!(public_news.has_changed().unwrap(), "everyone else is told now");
    assert!(!policy_news.has_changed().unwrap(), "policy is not told twice of one version");
    assert_eq!(answers(&api, true).await, policy_early, "what policy saw early is what it sees decided");
    assert_eq!(openings(&api, false).await, before + 3, "the public is served the new version");
    assert_ne!(answers(&api, false).await, public_before);
    let update = tokio::time::timeout(Duration::from_secs(5), public_watch.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(update.cells.iter().find(|c| c.skill == "3.4").unwrap().openings, before + 3);
    let again = tokio::time::timeout(Duration::from_millis(300), policy_watch.next()).await;
    assert!(again.is_err(), "policy watchers get no second message for one version");

    // Without the cache, policy answers are the same.
    refreshed(&uncached_engine).await;
    assert_eq!(answers(&uncached, true).await, policy_early);
    assert_eq!(answers(&uncached, false).await, answers(&api, false).await);
    trigger.trigger();
}

/// A policy watcher on a year the refresh did not read ahead (nobody read
/// it lately) is woken at the first stage and served the old version from
/// the cache; it is woken again once the refresh ends, and gets the new one.
#[tokio::test]
async fn a_policy_watcher_on_a_year_not_read_ahead_gets_the_new_version_at_the_end() {
    let (store, engine, api, trigger) = started().await;
    let before = openings(&api, true).await;
    let body = pb::WatchIndicatorsRequest { region: "11".into(), period: "2025".into() };
    let mut watch = api.watch_indicators(request(body, true)).await.unwrap().into_inner();
    watch.next().await.unwrap().unwrap();
    // Eight years read since: 2025 is no longer among those read ahead.
    for year in 2016..2024 {
        let body = pb::GetRegionIndicatorsRequest { region: "11".into(), period: year.to_string() };
        api.get_region_indicators(request(body, true)).await.unwrap();
    }
    store.apply(Batch { events: vec![demand(900, 3, 0, "2025-06-15")], ..Default::default() }).await.unwrap();
    refreshed(&engine).await;
    let update = tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap().unwrap().unwrap();
    let cell = update.cells.iter().find(|c| c.skill == "3.4").unwrap();
    assert_eq!(cell.openings, before + 3, "the watcher's next message is the new version's");
    trigger.trigger();
}

/// A version read while the previous one is still being decided is
/// served to policy callers at once: events arriving faster than a
/// decision reach policy dashboards in the time of a read. Everyone else
/// is served each decided version in turn, never an undecided one, and a
/// version superseded before its decision starts is not decided.
#[tokio::test]
async fn a_new_version_reaches_policy_while_the_previous_one_is_decided() {
    let (store, engine, api, trigger) = started().await;
    let before = openings(&api, true).await;
    let public_before = answers(&api, false).await;
    let gate = engine.hold_decisions();

    let mut sequences = Vec::new();
    for (n, (openings_added, day)) in [(3, "2025-06-15"), (4, "2025-07-15"), (5, "2025-08-15")].iter().enumerate() {
        let event = demand(900 + n as u32, *openings_added, 0, day);
        store.apply(Batch { events: vec![event], ..Default::default() }).await.unwrap();
        sequences.push(engine.refresh_ahead().await.unwrap());
        if n == 0 {
            // The test's runtime has one thread: while this one sleeps, the
            // first decision starts, then waits for the gate.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(sequences.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(openings(&api, true).await, before + 12, "read while the first version waits for its decision");
    assert_eq!(answers(&api, false).await, public_before, "the public still has the last decided version");

    gate.add_permits(64);
    refreshed(&engine).await;
    assert_eq!(openings(&api, false).await, before + 12, "the public is served the newest version once decided");
    assert_eq!(openings(&api, true).await, before + 12, "and policy stays on it");
    // 2025, the one year read lately, decided for the first version (whose
    // decision had started) and the third; the second was superseded.
    assert_eq!(gate.available_permits(), 64 - 2, "two decisions, not three");
    trigger.trigger();
}

/// A year an earlier read served to policy early, and a newer read did
/// not read again (no longer among the years read lately): its policy
/// watcher gets the newest version once everyone is served it.
#[tokio::test]
async fn a_policy_watcher_on_a_year_a_newer_read_skipped_gets_the_newest_version() {
    let (store, engine, api, trigger) = started().await;
    let before = openings(&api, true).await;
    let body = pb::WatchIndicatorsRequest { region: "11".into(), period: "2025".into() };
    let mut watch = api.watch_indicators(request(body, true)).await.unwrap().into_inner();
    watch.next().await.unwrap().unwrap();
    let gate = engine.hold_decisions();
    store.apply(Batch { events: vec![demand(900, 3, 0, "2025-06-15")], ..Default::default() }).await.unwrap();
    engine.refresh_ahead().await.unwrap();
    let early = tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(early.cells.iter().find(|c| c.skill == "3.4").unwrap().openings, before + 3);
    // Eight other years read since: the next read leaves 2025 out.
    for year in 2016..2024 {
        let body = pb::GetRegionIndicatorsRequest { region: "11".into(), period: year.to_string() };
        api.get_region_indicators(request(body, true)).await.unwrap();
    }
    store.apply(Batch { events: vec![demand(901, 4, 0, "2025-07-15")], ..Default::default() }).await.unwrap();
    engine.refresh_ahead().await.unwrap();
    gate.add_permits(64);
    refreshed(&engine).await;
    let newest = tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(newest.cells.iter().find(|c| c.skill == "3.4").unwrap().openings, before + 7);
    trigger.trigger();
}

//! A refresh after events of one year decides that year's publication
//! again and keeps the other years' (a publication is a function of its
//! year's counters alone): a new event costs one year's suppression, not
//! one per year being read.

use skills_domain::indicators::IndicatorSettings;
use skills_query::IndicatorEngine;
use skills_store::fixtures::{demand, story};
use skills_store::{Batch, EmbeddedStore, MetricsStore};
use std::sync::Arc;

#[tokio::test]
async fn a_refresh_keeps_the_publication_of_a_year_nobody_wrote_to() {
    let store = Arc::new(EmbeddedStore::in_memory().unwrap());
    store.apply(Batch { events: story(), ..Default::default() }).await.unwrap();
    let engine = IndicatorEngine::new(store.clone(), IndicatorSettings::default()).await.unwrap();
    let (before_2024, before_2025) = (engine.year(2024).await.unwrap(), engine.year(2025).await.unwrap());

    store.apply(Batch { events: vec![demand(900, 3, 0, "2025-06-15")], ..Default::default() }).await.unwrap();
    engine.refresh().await.unwrap();
    let (after_2024, after_2025) = (engine.year(2024).await.unwrap(), engine.year(2025).await.unwrap());
    assert!(
        Arc::ptr_eq(before_2024.publication.as_ref().unwrap(), after_2024.publication.as_ref().unwrap()),
        "2024's counters did not change"
    );
    assert!(
        !Arc::ptr_eq(before_2025.publication.as_ref().unwrap(), after_2025.publication.as_ref().unwrap()),
        "2025's did"
    );
    // The kept publication serves the new version's status.
    let cells = engine.cells("2024".parse().unwrap(), &skills_query::engine::Lane::unbounded(), 11).await.unwrap();
    assert_eq!(cells.status.version, engine.status().version);
}

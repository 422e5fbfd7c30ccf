//! A request without a period gets the latest complete year that has data
//! (METHODOLOGY.md §1, "Default period"), not a year just begun.

use chrono::Datelike;
use skills_proto::v1 as pb;
use skills_store::fixtures::demand;
use skills_store::{Batch, MetricsStore};

mod support;

use support::{TOKEN, serve};

fn region(period: &str) -> tonic::Request<pb::GetRegionIndicatorsRequest> {
    let mut request =
        tonic::Request::new(pb::GetRegionIndicatorsRequest { region: "11".into(), period: period.into() });
    request.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    request
}

#[tokio::test]
async fn a_request_without_a_period_gets_the_latest_complete_year_with_data() {
    let mut running = serve(16).await;
    let answer = running.client.get_region_indicators(region("")).await.unwrap().into_inner();
    let meta = answer.meta.unwrap();
    assert_eq!(meta.period, "2025", "the story's year, complete now");
    assert!(meta.complete);

    // A posting today makes this year the newest with data; it is not
    // complete, so a request without a period still gets 2025.
    let now = chrono::Utc::now();
    let today = now.format("%Y-%m-%d").to_string();
    running.store.apply(Batch { events: vec![demand(900, 4, 0, &today)], ..Default::default() }).await.unwrap();
    running.engine.refresh().await.unwrap();
    let answer = running.client.get_region_indicators(region("")).await.unwrap().into_inner();
    assert_eq!(answer.meta.unwrap().period, "2025");

    // This year's figures are served when asked for by name.
    let this_year = now.year().to_string();
    let answer = running.client.get_region_indicators(region(&this_year)).await.unwrap().into_inner();
    let meta = answer.meta.unwrap();
    assert_eq!(meta.period, this_year);
    assert!(!meta.complete);
    let openings: u64 = answer.cells.iter().map(|c| c.openings).sum();
    assert_eq!(openings, 4, "today's posting");
}

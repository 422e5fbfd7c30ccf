//! `skills disclosure-audit` on random histories, through the service's own
//! calls, and the audit's power to see a disclosure when there is one.

use skills::audit::intervals::{Observed, audit};
use skills::audit::{audit_store, figure_name};
use skills_domain::Period;
use skills_domain::indicators::{Audience, IndicatorSettings};
use skills_query::IndicatorEngine;
use skills_store::fixtures::random_history;
use skills_store::{Batch, EmbeddedStore, MetricsStore};
use std::sync::Arc;

async fn store_with(seed: u64, learners: u32) -> (Arc<dyn MetricsStore>, std::path::PathBuf) {
    let directory = std::env::temp_dir().join(format!("disclosure-audit-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let store = EmbeddedStore::open(&directory.join("store.db")).unwrap();
    store.apply(Batch { events: random_history(seed, learners), ..Default::default() }).await.unwrap();
    (Arc::new(store), directory)
}

/// Random histories of a few dozen learners of three partners: most cells
/// are small, so most of the publication is suppression. Every withheld
/// value must stay protected, for the public and for each partner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_years_pass_the_audit_for_the_public_and_a_partner() {
    let years = [3, 17, 41, 59, 73, 97].map(|seed| (seed, 60)).into_iter().chain([(79, 100), (11, 100)]);
    for (seed, learners) in years {
        let (store, directory) = store_with(seed, learners).await;
        let partners = ["p0", "p1", "p2"].map(|p| Audience::Partner(p.into()));
        for audience in std::iter::once(Audience::Public).chain(partners) {
            let settings = IndicatorSettings { suppression_k: 5, ..IndicatorSettings::default() };
            let report = audit_store(store.clone(), settings, audience.clone(), 2025, 10.0, 5).await.unwrap();
            assert!(report.primary_figures > 0 && report.withheld_figures >= report.primary_figures, "{report:?}");
            assert!(report.primary_values > 0, "intervals were computed: {report:?}");
            assert!(report.passed(), "seed {seed}, {audience:?}: {:#?}", report.failures);
        }
        std::fs::remove_dir_all(&directory).unwrap();
    }
}

/// Showing everything but one small month cell gives it away (its quarter
/// minus its other months): the audit must say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_finds_a_small_cell_left_to_its_quarter_minus_its_months() {
    let (store, directory) = store_with(5, 60).await;
    let settings = IndicatorSettings { suppression_k: 5, ..IndicatorSettings::default() };
    let engine = IndicatorEngine::new(store, settings).await.unwrap();
    let year = engine.year(2025).await.unwrap();
    let hierarchy = &year.publication.as_ref().unwrap().hierarchy;
    let small = hierarchy
        .figures
        .iter()
        .position(|f| {
            f.primary && f.key.group.is_none() && matches!(f.key.period, Period::Month(..)) && f.key.skill != "*"
        })
        .expect("a small month cell");
    let observed: Vec<Observed> = hierarchy
        .figures
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut values = [None; 9];
            for (v, value) in values.iter_mut().enumerate() {
                if f.has(v) && i != small {
                    *value = Some(f.value(v) as i64);
                }
            }
            Observed { withheld: i == small, values, own: [None; 9] }
        })
        .collect();
    let findings = audit(hierarchy, &observed, 10.0);
    let learners = findings.iter().find(|f| f.figure == small && f.variable == "learners").expect("checked");
    assert!(learners.exact && !learners.protected, "{} {learners:?}", figure_name(&hierarchy.figures[small].key));
    std::fs::remove_dir_all(&directory).unwrap();
}

/// An audit of a year the store publishes nothing for is an error, not a
/// PASS: the configured store may not be the one the service reads.
#[tokio::test]
async fn an_audit_of_nothing_is_an_error() {
    let directory = std::env::temp_dir().join(format!("disclosure-audit-empty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let config = skills::SkillsConfig { data_dir: directory.clone(), ..Default::default() };
    let args = skills::cli::DisclosureAuditArgs {
        audience: "public".into(),
        year: Some(2025),
        protection_percent: 10.0,
        narrowest: 10,
        json: false,
    };
    let error = skills::audit::run(config, args).await.expect_err("nothing to audit");
    assert!(error.contains("no figure for 2025") && error.contains("embedded"), "{error}");
    let _ = std::fs::remove_dir_all(&directory);
}

//! `skills rekey`: after a rotation key is added to the ring, moves every
//! stored pseudonym to the new version, so that events pseudonymised under
//! it land on the same learners. Needs no raw id: each stored pseudonym is
//! keyed again with the rotation keys (skills_domain::pseudonym). Run it
//! with the aggregator stopped and the normalized topic drained, before
//! the ingest switches versions (RELIABILITY.md, "Rotating pseudonymisation keys").

use crate::cli::RekeyArgs;
use crate::config::SkillsConfig;
use skills_domain::pseudonym::{PseudonymError, Pseudonymiser, version_of};
use skills_ingest::keys::{KeyError, load_existing_pseudonymiser};
use skills_store::{MetricsStore, StoreError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RekeyError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored pseudonym cannot move to version {to}: {error}")]
    Pseudonym { to: u32, error: PseudonymError },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RekeyOutcome {
    pub to_version: u32,
    /// Learners moved to the new version.
    pub renamed: u64,
    /// Learners already under it.
    pub current: u64,
    /// Stored values that are not pseudonyms of this system (left as they are).
    pub other: u64,
}

pub async fn rekey_store(store: &dyn MetricsStore, ring: &Pseudonymiser, to: u32) -> Result<RekeyOutcome, RekeyError> {
    let mut outcome = RekeyOutcome { to_version: to, ..Default::default() };
    let mut renames = Vec::new();
    let learners = store.learners().await?;
    let progress = crate::progress::bar("rekeying learners", Some(learners.len() as u64));
    for learner in learners {
        progress.inc(1);
        match version_of(&learner) {
            Some(version) if version == to => outcome.current += 1,
            Some(_) => {
                let new = ring.rekey(&learner, to).map_err(|error| RekeyError::Pseudonym { to, error })?;
                renames.push((learner, new));
            }
            None => outcome.other += 1,
        }
    }
    outcome.renamed = renames.len() as u64;
    progress.set_message("writing the new pseudonyms");
    store.rename_learners(&renames).await?;
    progress.finish_and_clear();
    Ok(outcome)
}

pub async fn run(config: SkillsConfig, args: RekeyArgs) -> Result<(), RekeyError> {
    let ring = load_existing_pseudonymiser(&config.pseudonymisation)?;
    let to = args.to.unwrap_or(ring.current_version());
    let store = skills_store::open(&config.store, &config.data_dir).await?;
    let outcome = rekey_store(&*store, &ring, to).await?;
    tracing::info!(to, renamed = outcome.renamed, current = outcome.current, other = outcome.other, "store rekeyed");
    if args.json {
        println!("{}", serde_json::to_string(&outcome).expect("outcomes serialize"));
    } else {
        println!(
            "pseudonyms now under version {to}: {} learners moved, {} already there, {} other values left as they were",
            outcome.renamed, outcome.current, outcome.other
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use skills_bus::headers;
    use skills_domain::events::{ContentType, IngestPolicy, normalize};
    use skills_domain::facts::facts_of;
    use skills_domain::pseudonym::SecretKey;
    use skills_store::{Batch, EmbeddedStore};
    use std::collections::BTreeMap;

    async fn store_of(pseudonymiser: &Pseudonymiser) -> EmbeddedStore {
        let store = EmbeddedStore::in_memory().unwrap();
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let events = skills_synthetic::synthetic(60, 3)
            .messages
            .iter()
            .filter_map(|(_, m)| {
                let content_type = m
                    .header(headers::CONTENT_TYPE)
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(ContentType::from_header);
                normalize(&m.payload, content_type, &IngestPolicy::default(), pseudonymiser, now).ok()
            })
            .map(|event| facts_of(&event).unwrap())
            .collect();
        store.apply(Batch { events, ..Default::default() }).await.unwrap();
        store
    }

    #[tokio::test]
    async fn a_rekeyed_store_holds_the_learners_the_new_version_would_give() {
        let key = |b: u8| SecretKey::from_bytes(vec![b; 32]).unwrap();
        let old = Pseudonymiser::single(key(1), 1);
        let ring = Pseudonymiser::new(BTreeMap::from([(1, key(1)), (2, key(2))]), 2).unwrap();
        let stored = store_of(&old).await;
        let counters = stored.counters(&skills_store::fixtures::year_2025(true)).await.unwrap();

        let outcome = rekey_store(&stored, &ring, 2).await.unwrap();
        assert!(outcome.renamed > 50, "{outcome:?}");
        assert_eq!((outcome.current, outcome.other), (0, 0));
        let fresh = store_of(&ring).await;
        let mut moved = stored.learners().await.unwrap();
        let mut expected = fresh.learners().await.unwrap();
        moved.sort();
        expected.sort();
        assert_eq!(moved, expected, "new events under version 2 land on the stored learners");
        assert_eq!(stored.counters(&skills_store::fixtures::year_2025(true)).await.unwrap(), counters);
        let again = rekey_store(&stored, &ring, 2).await.unwrap();
        assert_eq!((again.renamed, again.current), (0, outcome.renamed), "a second run changes nothing");
    }
}

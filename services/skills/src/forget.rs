//! `skills forget`: the right to erasure. A learner is known to the store
//! only by pseudonyms, so the request is turned into those (one per key
//! version held) with the same key the ingest uses; the raw id itself is
//! used only to redact dead letters that quote it, and is never logged.

use crate::cli::ForgetArgs;
use crate::config::SkillsConfig;
use skills_domain::pseudonym::Pseudonymiser;
use skills_ingest::keys::{KeyError, load_existing_pseudonymiser};
use skills_store::{Erasure, ErasureOutcome, StoreError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ForgetError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The erasure of these learners of `partner`, under every key version.
pub fn erasure_for(pseudonymiser: &Pseudonymiser, partner: &str, learners: &[String]) -> Erasure {
    let pseudonyms = learners
        .iter()
        .flat_map(|learner| {
            pseudonymiser
                .versions()
                .filter_map(move |version| pseudonymiser.pseudonymise_with(version, partner, learner).ok())
        })
        .collect();
    Erasure { pseudonyms, raw_ids: learners.to_vec() }
}

pub async fn run(config: SkillsConfig, args: ForgetArgs) -> Result<(), ForgetError> {
    let pseudonymiser = load_existing_pseudonymiser(&config.pseudonymisation)?;
    let erasure = erasure_for(&pseudonymiser, &args.partner, &args.learners);
    let store = skills_store::open(&config.store, &config.data_dir).await?;
    let progress = crate::progress::bar("forgetting learners and recomputing their cells", None);
    let outcome = store.forget(&erasure).await?;
    progress.finish_and_clear();
    tracing::info!(
        learners = args.learners.len(),
        enrolment_events = outcome.enrolment_facts,
        assessment_events = outcome.assessment_facts,
        dead_letters_redacted = outcome.dead_letters_redacted,
        "learners forgotten"
    );
    println!("{}", render(args.learners.len(), &outcome, args.json));
    Ok(())
}

fn render(learners: usize, outcome: &ErasureOutcome, json: bool) -> String {
    if json {
        serde_json::json!({
            "learners": learners,
            "enrolment_events": outcome.enrolment_facts,
            "assessment_events": outcome.assessment_facts,
            "dead_letters_redacted": outcome.dead_letters_redacted,
        })
        .to_string()
    } else {
        format!(
            "forgot {learners} learner(s): facts of {} enrolment and {} assessment events deleted, \
             {} dead letters redacted; the cells they were in are recomputed on the next read",
            outcome.enrolment_facts, outcome.assessment_facts, outcome.dead_letters_redacted
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skills_domain::pseudonym::SecretKey;
    use std::collections::BTreeMap;

    #[test]
    fn every_key_version_gives_a_pseudonym_to_forget() {
        let key = |b: u8| SecretKey::from_bytes(vec![b; 32]).unwrap();
        let ring = Pseudonymiser::new(BTreeMap::from([(1, key(1)), (2, key(2))]), 2).unwrap();
        let erasure = erasure_for(&ring, "p", &["a".into(), "b".into()]);
        assert_eq!(erasure.pseudonyms.len(), 4);
        assert!(erasure.pseudonyms.contains(&ring.pseudonymise("p", "a")));
        assert!(erasure.pseudonyms.contains(&ring.pseudonymise_with(1, "p", "b").unwrap()));
        assert_eq!(erasure.raw_ids, ["a", "b"]);
    }
}

//! `[model]` configuration (skills-model).

use serde::{Deserialize, Serialize};
use skills_bus::topics;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// One member only: the state holds every learner.
    pub group_id: String,
    pub normalized_topic: String,
    /// The local state (an embedded store file); default
    /// `<data_dir>/model-state.db`.
    pub state_path: Option<PathBuf>,
    pub batch_max_events: usize,
    /// How long a poll waits for the first event, in milliseconds.
    pub batch_max_wait_ms: u64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            group_id: "skills-model".into(),
            normalized_topic: topics::NORMALIZED.into(),
            state_path: None,
            batch_max_events: 20_000,
            batch_max_wait_ms: 200,
        }
    }
}

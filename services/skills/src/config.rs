//! The configuration of the all-in-one process: one section per service.
//! Every key is documented in the README; `config/skills.example.toml`
//! shows them all with their defaults.

use serde::Deserialize;
use skills_aggregator::AggregatorConfig;
use skills_aggregator::model::ModelConfig;
use skills_bus::BusConfig;
use skills_domain::indicators::IndicatorSettings;
use skills_ingest::IngestConfig;
use skills_ingest::config::PseudonymisationConfig;
use skills_query::QueryConfig;
use skills_runtime::metrics::MetricsConfig;
use skills_runtime::telemetry::LogFormat;
use skills_store::StoreConfig;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SkillsConfig {
    /// Where the embedded store and the generated key live.
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub bus: BusConfig,
    pub ingest: IngestConfig,
    pub aggregator: AggregatorConfig,
    /// skills-model (the read model of a ClickHouse deployment).
    pub model: ModelConfig,
    pub query: QueryConfig,
    /// The store of the service binaries and `skills reconcile`; the demo
    /// always uses the embedded store in `data_dir`.
    pub store: StoreConfig,
    /// Where the service binaries serve their counters.
    pub metrics: MetricsConfig,
    pub indicators: IndicatorSettings,
    pub pseudonymisation: PseudonymisationConfig,
}

impl Default for SkillsConfig {
    fn default() -> Self {
        let data_dir = PathBuf::from("data");
        SkillsConfig {
            pseudonymisation: PseudonymisationConfig {
                key_file: Some(data_dir.join("pseudonym.key")),
                generate_if_missing: true,
                ..PseudonymisationConfig::default()
            },
            data_dir,
            log_format: LogFormat::default(),
            bus: BusConfig::default(),
            ingest: IngestConfig::default(),
            aggregator: AggregatorConfig::default(),
            model: ModelConfig::default(),
            query: QueryConfig::default(),
            store: StoreConfig::default(),
            metrics: MetricsConfig::default(),
            indicators: IndicatorSettings::default(),
        }
    }
}

impl SkillsConfig {
    /// A configuration rooted in `data_dir` (tests, and `--data-dir`).
    pub fn in_dir(mut self, data_dir: PathBuf) -> Self {
        if self.pseudonymisation.key_file == Some(self.data_dir.join("pseudonym.key")) {
            self.pseudonymisation.key_file = Some(data_dir.join("pseudonym.key"));
        }
        self.data_dir = data_dir;
        self
    }

    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("skills.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_lists_exactly_the_defaults() {
        let example = include_str!("../../../config/skills.example.toml");
        let parsed: SkillsConfig = toml::from_str(example).expect("example parses with deny_unknown_fields");
        assert_eq!(parsed, SkillsConfig::default());
    }

    #[test]
    fn moving_the_data_dir_moves_the_default_key() {
        let moved = SkillsConfig::default().in_dir(PathBuf::from("/tmp/x"));
        assert_eq!(moved.pseudonymisation.key_file, Some(PathBuf::from("/tmp/x/pseudonym.key")));
        assert_eq!(moved.store_path(), PathBuf::from("/tmp/x/skills.db"));
    }
}

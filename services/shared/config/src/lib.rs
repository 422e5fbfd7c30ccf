//! The configuration file every binary reads — the all-in-one process and
//! each service — one section per service. Defined in one place, so that
//! one file serves every process and each of them refuses the same unknown
//! keys. Every key is documented in the README; `config/skills.example.toml`
//! shows them all with their defaults.

pub mod aggregator;
pub mod gateway;
pub mod ingest;
pub mod model;
pub mod query;

pub use aggregator::AggregatorConfig;
pub use gateway::GatewayConfig;
pub use ingest::{IngestConfig, PseudonymisationConfig};
pub use model::ModelConfig;
pub use query::{AudienceLimits, AudienceTable, QueryConfig};

use serde::{Deserialize, Serialize};
use skills_bus::BusConfig;
use skills_domain::indicators::IndicatorSettings;
use skills_runtime::metrics::MetricsConfig;
use skills_runtime::telemetry::LogFormat;
use skills_store::StoreConfig;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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
    /// skills-gateway: partners publish over gRPC or xAPI.
    pub gateway: GatewayConfig,
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
                ..PseudonymisationConfig::default()
            },
            data_dir,
            log_format: LogFormat::default(),
            bus: BusConfig::default(),
            ingest: IngestConfig::default(),
            aggregator: AggregatorConfig::default(),
            model: ModelConfig::default(),
            query: QueryConfig::default(),
            gateway: GatewayConfig::default(),
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

    /// The configuration as TOML with every secret masked: what a binary's
    /// `--check-config` prints.
    pub fn to_masked_toml(&self) -> String {
        let mut value = toml::Value::try_from(self).expect("the configuration serializes to TOML");
        mask_secrets(&mut value);
        toml::to_string_pretty(&value).expect("a TOML value prints")
    }
}

impl skills_runtime::ServiceConfig for SkillsConfig {
    fn log_format(&self) -> LogFormat {
        self.log_format
    }
    fn to_masked_toml(&self) -> String {
        SkillsConfig::to_masked_toml(self)
    }
}

/// Masked in place of a secret's value.
pub const MASK: &str = "********";

/// Replaces every secret string (a password, a librdkafka secret setting)
/// with `MASK`. Keys naming where a secret lives (`*_env`, `*_file`) are
/// not secrets and stay.
fn mask_secrets(value: &mut toml::Value) {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table.iter_mut() {
                if value.is_str() && is_secret(key) {
                    *value = toml::Value::String(MASK.into());
                } else {
                    mask_secrets(value);
                }
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let names_a_place = key.ends_with("_env") || key.ends_with("_file") || key.ends_with("_files");
    let secret = ["password", "secret", "passphrase", "credential", "key.pem", "oauthbearer.config"]
        .iter()
        .any(|word| key.contains(word));
    secret && !names_a_place
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_lists_exactly_the_defaults() {
        let example = include_str!("../../../../config/skills.example.toml");
        let parsed: SkillsConfig = toml::from_str(example).expect("example parses with deny_unknown_fields");
        assert_eq!(parsed, SkillsConfig::default());
        // And it names every key that has a default: a missing one would
        // still parse to the defaults.
        let defaults: toml::Table = toml::from_str(&toml::to_string(&SkillsConfig::default()).unwrap()).unwrap();
        let listed: toml::Table = toml::from_str(example).unwrap();
        let listed = key_paths(&listed, "");
        let missing: Vec<String> = key_paths(&defaults, "").into_iter().filter(|key| !listed.contains(key)).collect();
        assert!(missing.is_empty(), "config/skills.example.toml does not list {missing:?}");
    }

    /// Every leaf key of a table, as `section.key`.
    fn key_paths(table: &toml::Table, prefix: &str) -> Vec<String> {
        let mut paths = Vec::new();
        for (key, value) in table {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            match value {
                toml::Value::Table(inner) => paths.extend(key_paths(inner, &path)),
                _ => paths.push(path),
            }
        }
        paths
    }

    #[test]
    fn check_config_masks_secrets_and_keeps_where_they_live() {
        let mut config = SkillsConfig::default();
        config.bus.kafka.client.insert("sasl.password".into(), "123456".into());
        config.bus.kafka.client.insert("ssl.key.pem".into(), "-----BEGIN PRIVATE KEY-----".into());
        config.bus.kafka.client.insert("security.protocol".into(), "SASL_SSL".into());
        let printed = config.to_masked_toml();
        assert!(!printed.contains("123456") && !printed.contains("BEGIN PRIVATE"), "{printed}");
        assert!(printed.contains("SASL_SSL"), "{printed}");
        assert!(printed.contains("SKILLS_CLICKHOUSE_PASSWORD"), "a variable's name is not a secret: {printed}");
        let reread: SkillsConfig = toml::from_str(&SkillsConfig::default().to_masked_toml()).unwrap();
        assert_eq!(reread, SkillsConfig::default(), "what --check-config prints is a valid configuration file");
    }

    #[test]
    fn moving_the_data_dir_moves_the_default_key() {
        let moved = SkillsConfig::default().in_dir(PathBuf::from("/tmp/x"));
        assert_eq!(moved.pseudonymisation.key_file, Some(PathBuf::from("/tmp/x/pseudonym.key")));
        assert_eq!(moved.store_path(), PathBuf::from("/tmp/x/skills.db"));
    }
}

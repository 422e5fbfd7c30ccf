//! Layered configuration: built-in defaults, then a TOML file, then
//! environment variables. `SKILLS__QUERY__LISTEN=127.0.0.1:6000` sets
//! `[query] listen`: the prefix, then section and key joined by `__`.
//! A variable's value is typed by the field it sets: text for a string
//! field (`…SASL.PASSWORD=123456` stays the text "123456"), read as TOML
//! for a number, a boolean or an array.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const ENV_PREFIX: &str = "SKILLS__";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("configuration file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads `T` from defaults, the optional file, and `SKILLS__*` variables.
pub fn load_config<T: DeserializeOwned>(file: Option<&Path>) -> Result<T, ConfigError> {
    load_with_env(file, std::env::vars())
}

/// As `load_config`, with the environment given (tests).
pub fn load_with_env<T: DeserializeOwned>(
    file: Option<&Path>,
    environment: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let mut table = match file {
        None => toml::Table::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
            text.parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })?
        }
    };
    // Every variable goes in as text first; a field that is not a string
    // refuses text, and that variable is then read as TOML.
    let mut as_text = Vec::new();
    for (name, value) in environment {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else { continue };
        let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(ConfigError::Invalid(format!("malformed variable name {name}")));
        }
        set_path(&mut table, &keys, toml::Value::String(value.clone()))
            .map_err(|conflict| ConfigError::Invalid(format!("{name}: {conflict}")))?;
        as_text.push((name, keys, value));
    }
    loop {
        let error = match serde_path_to_error::deserialize(toml::Value::Table(table.clone())) {
            Ok(config) => return Ok(config),
            Err(error) => error,
        };
        let field = error.path().to_string();
        let message = error.inner().message().to_string();
        let Some(at) = as_text.iter().position(|(_, keys, _)| keys.join(".") == field) else {
            let place = if field == "." || field.is_empty() { String::new() } else { format!("{field}: ") };
            return Err(ConfigError::Invalid(format!("{place}{message}")));
        };
        let (name, keys, text) = as_text.swap_remove(at);
        let typed =
            parse_value(&text).ok_or_else(|| ConfigError::Invalid(format!("{name}={text:?}: {field}: {message}")))?;
        set_path(&mut table, &keys, typed).map_err(|conflict| ConfigError::Invalid(format!("{name}: {conflict}")))?;
    }
}

/// `text` as a TOML value (a number, a boolean, an array, a table), if it is one.
fn parse_value(text: &str) -> Option<toml::Value> {
    format!("v = {text}").parse::<toml::Table>().ok().and_then(|mut t| t.remove("v"))
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = keys.split_last().expect("at least one key");
    let mut current = table;
    for key in parents {
        let entry = current.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry.as_table_mut().ok_or_else(|| format!("{key} is not a section"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Query {
        listen: String,
        max_concurrent: u32,
        enabled: bool,
    }

    impl Default for Query {
        fn default() -> Self {
            Query { listen: "127.0.0.1:50051".into(), max_concurrent: 64, enabled: true }
        }
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Root {
        query: Query,
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let defaults: Root = load_with_env(None, env(&[])).unwrap();
        assert_eq!(defaults, Root::default());

        let dir = std::env::temp_dir().join(format!("skills-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("skills.toml");
        std::fs::write(&file, "[query]\nlisten = \"0.0.0.0:1\"\nmax_concurrent = 8\n").unwrap();
        let layered: Root = load_with_env(
            Some(&file),
            env(&[("SKILLS__QUERY__MAX_CONCURRENT", "16"), ("SKILLS__QUERY__ENABLED", "false"), ("OTHER", "x")]),
        )
        .unwrap();
        assert_eq!(layered.query, Query { listen: "0.0.0.0:1".into(), max_concurrent: 16, enabled: false });
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Kafka {
        client: std::collections::BTreeMap<String, String>,
        topics: Vec<String>,
        partitions: Option<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(default, deny_unknown_fields)]
    struct WithKafka {
        kafka: Kafka,
        query: Query,
    }

    #[test]
    fn a_variable_is_typed_by_the_field_it_sets() {
        let config: WithKafka = load_with_env(
            None,
            env(&[
                ("SKILLS__KAFKA__CLIENT__SASL.PASSWORD", "123456"),
                ("SKILLS__KAFKA__CLIENT__ENABLE.IDEMPOTENCE", "true"),
                ("SKILLS__KAFKA__TOPICS", r#"["a", "b"]"#),
                ("SKILLS__KAFKA__PARTITIONS", "12"),
                ("SKILLS__QUERY__LISTEN", "7"),
                ("SKILLS__QUERY__MAX_CONCURRENT", "16"),
            ]),
        )
        .unwrap();
        assert_eq!(config.kafka.client["sasl.password"], "123456", "text stays text");
        assert_eq!(config.kafka.client["enable.idempotence"], "true");
        assert_eq!(config.kafka.topics, ["a", "b"]);
        assert_eq!(config.kafka.partitions, Some(12));
        assert_eq!(config.query.listen, "7");
        assert_eq!(config.query.max_concurrent, 16);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let missing = load_with_env::<Root>(Some(Path::new("/nonexistent/skills.toml")), env(&[])).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/skills.toml"));
        let unknown = load_with_env::<Root>(None, env(&[("SKILLS__QUERY__LISTN", "x")])).unwrap_err();
        assert!(unknown.to_string().contains("listn"), "{unknown}");
        let wrong_type = load_with_env::<Root>(None, env(&[("SKILLS__QUERY__MAX_CONCURRENT", "many")])).unwrap_err();
        let wrong_type = wrong_type.to_string();
        assert!(wrong_type.contains("SKILLS__QUERY__MAX_CONCURRENT") && wrong_type.contains("many"), "{wrong_type}");
        let unknown_section = load_with_env::<Root>(None, env(&[("SKILLS__QUERRY__LISTEN", "x")])).unwrap_err();
        assert!(unknown_section.to_string().contains("querry"), "{unknown_section}");
    }
}

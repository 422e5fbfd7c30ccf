//! Layered configuration: built-in defaults, then a TOML file, then
//! environment variables. `SKILLS__QUERY__LISTEN=127.0.0.1:6000` sets
//! `[query] listen`: the prefix, then section and key joined by `__`.
//! A value that parses as TOML (numbers, booleans, arrays) is taken as such,
//! anything else as a string.

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
    for (name, value) in environment {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else { continue };
        let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(ConfigError::Invalid(format!("malformed variable name {name}")));
        }
        set_path(&mut table, &keys, parse_value(&value))
            .map_err(|conflict| ConfigError::Invalid(format!("{name}: {conflict}")))?;
    }
    toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))
}

fn parse_value(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
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

/// The configuration file of a service binary: `--config FILE` on the
/// command line, else the SKILLS_CONFIG variable, else none (defaults and
/// SKILLS__* variables only).
pub fn config_file_from_args() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
    }
    std::env::var_os("SKILLS_CONFIG").map(PathBuf::from)
}

/// Loads a service's configuration or explains, on stderr, why not.
pub fn load_or_explain<T: DeserializeOwned>(service: &str) -> Result<T, std::process::ExitCode> {
    load_config(config_file_from_args().as_deref()).map_err(|error| {
        eprintln!("{service}: {error}");
        std::process::ExitCode::from(2)
    })
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
    #[serde(default)]
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

    #[test]
    fn errors_say_what_is_wrong() {
        let missing = load_with_env::<Root>(Some(Path::new("/nonexistent/skills.toml")), env(&[])).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/skills.toml"));
        let unknown = load_with_env::<Root>(None, env(&[("SKILLS__QUERY__LISTN", "x")])).unwrap_err();
        assert!(unknown.to_string().contains("listn"), "{unknown}");
        let wrong_type = load_with_env::<Root>(None, env(&[("SKILLS__QUERY__MAX_CONCURRENT", "many")])).unwrap_err();
        assert!(
            wrong_type.to_string().contains("max_concurrent") || wrong_type.to_string().contains("string"),
            "{wrong_type}"
        );
    }
}

//! Loading the pseudonymisation key from the environment or a file.

use crate::config::PseudonymisationConfig;
use skills_domain::pseudonym::{PseudonymError, Pseudonymiser, SecretKey};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("no pseudonymisation key: set {env} (hex, 64+ digits), or pseudonymisation.key_file{file}")]
    Missing { env: String, file: String },
    #[error("pseudonymisation key from {source_name}: {error}")]
    Invalid { source_name: String, error: PseudonymError },
    #[error("cannot read or write key file {path}: {error}")]
    File { path: String, error: std::io::Error },
    #[error("pseudonymisation.rotation_key_files: bad version {0}")]
    Version(String),
}

/// `generate_by_default`: whether a missing key file is created when
/// `generate_if_missing` is unset.
pub fn load_pseudonymiser(
    config: &PseudonymisationConfig,
    generate_by_default: bool,
) -> Result<Pseudonymiser, KeyError> {
    let generate = config.generate_if_missing.unwrap_or(generate_by_default);
    let key = if let Ok(hex) = std::env::var(&config.key_env) {
        SecretKey::from_hex(&hex).map_err(|error| KeyError::Invalid { source_name: config.key_env.clone(), error })?
    } else if let Some(path) = &config.key_file {
        if !path.exists() {
            if !generate {
                let file = format!(" ({} does not exist)", path.display());
                return Err(KeyError::Missing { env: config.key_env.clone(), file });
            }
            generate_key_file(path)?;
        }
        read_key_file(path)?
    } else {
        return Err(KeyError::Missing { env: config.key_env.clone(), file: String::new() });
    };
    let mut ring = BTreeMap::from([(config.key_version, key)]);
    for (version, path) in &config.rotation_key_files {
        let version: u32 = version.parse().map_err(|_| KeyError::Version(version.clone()))?;
        if version <= config.key_version {
            return Err(KeyError::Version(format!(
                "{version} (rotation keys come after master key {})",
                config.key_version
            )));
        }
        ring.insert(version, read_key_file(path)?);
    }
    let current = match config.current_version {
        0 => *ring.keys().next_back().expect("the master key is in the ring"),
        version => version,
    };
    Pseudonymiser::new(ring, current)
        .map_err(|error| KeyError::Invalid { source_name: "current_version".into(), error })
}

/// The keys as they are, never generated: for operator commands (erasure,
/// rekeying), where a new key would give pseudonyms that match nothing
/// and the request would seem done.
pub fn load_existing_pseudonymiser(config: &PseudonymisationConfig) -> Result<Pseudonymiser, KeyError> {
    load_pseudonymiser(&PseudonymisationConfig { generate_if_missing: Some(false), ..config.clone() }, false)
}

fn read_key_file(path: &Path) -> Result<SecretKey, KeyError> {
    let text =
        std::fs::read_to_string(path).map_err(|error| KeyError::File { path: path.display().to_string(), error })?;
    SecretKey::from_hex(&text).map_err(|error| KeyError::Invalid { source_name: path.display().to_string(), error })
}

/// 32 random bytes from the OS generator, written with owner-only access.
fn generate_key_file(path: &Path) -> Result<(), KeyError> {
    let file_error = |error| KeyError::File { path: path.display().to_string(), error };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(file_error)?;
    }
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let key = SecretKey::from_bytes(bytes).expect("32 bytes is long enough");
    std::fs::write(path, key.to_hex()).map_err(file_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(file_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_reused_and_private() {
        let dir = std::env::temp_dir().join(format!("skills-keys-{}", std::process::id()));
        let config = PseudonymisationConfig {
            key_env: "SKILLS_TEST_KEY_THAT_IS_NOT_SET".into(),
            key_file: Some(dir.join("pseudonym.key")),
            generate_if_missing: Some(true),
            ..Default::default()
        };
        let first = load_pseudonymiser(&config, false).unwrap().pseudonymise("p", "l");
        let second = load_pseudonymiser(&config, false).unwrap().pseudonymise("p", "l");
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("pseudonym.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rotation_keys_extend_the_ring_and_the_newest_is_current() {
        let dir = std::env::temp_dir().join(format!("skills-ring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("master.key"), "11".repeat(32)).unwrap();
        std::fs::write(dir.join("r2.key"), "22".repeat(32)).unwrap();
        let mut config = PseudonymisationConfig {
            key_env: "SKILLS_TEST_KEY_THAT_IS_NOT_SET".into(),
            key_file: Some(dir.join("master.key")),
            ..Default::default()
        };
        let before = load_pseudonymiser(&config, false).unwrap().pseudonymise("p", "l");
        config.rotation_key_files.insert("2".into(), dir.join("r2.key"));
        let ring = load_pseudonymiser(&config, false).unwrap();
        assert_eq!(ring.current_version(), 2);
        assert_eq!(ring.rekey(&before, 2).unwrap(), ring.pseudonymise("p", "l"));
        config.current_version = 1;
        assert_eq!(load_pseudonymiser(&config, false).unwrap().pseudonymise("p", "l"), before, "pinned to version 1");
        config.rotation_key_files.insert("1".into(), dir.join("r2.key"));
        assert!(matches!(load_pseudonymiser(&config, false), Err(KeyError::Version(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_key_is_a_clear_error() {
        let config = PseudonymisationConfig { key_env: "SKILLS_TEST_KEY_THAT_IS_NOT_SET".into(), ..Default::default() };
        let error = load_pseudonymiser(&config, false).unwrap_err();
        assert!(error.to_string().contains("SKILLS_TEST_KEY_THAT_IS_NOT_SET"));
    }

    #[test]
    fn an_unset_generate_if_missing_is_the_callers_default() {
        let dir = std::env::temp_dir().join(format!("skills-keys-default-{}", std::process::id()));
        let config = PseudonymisationConfig {
            key_env: "SKILLS_TEST_KEY_THAT_IS_NOT_SET".into(),
            key_file: Some(dir.join("pseudonym.key")),
            ..Default::default()
        };
        let refused = load_pseudonymiser(&config, false).unwrap_err().to_string();
        assert!(refused.contains("does not exist"), "a service replica makes up no key: {refused}");
        assert!(!dir.join("pseudonym.key").exists());
        load_pseudonymiser(&config, true).unwrap();
        assert!(dir.join("pseudonym.key").exists(), "the all-in-one process makes its own");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

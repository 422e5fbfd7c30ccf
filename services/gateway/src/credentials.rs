//! Partner credentials: which partner a bearer token, an xAPI Basic-auth
//! password or a client certificate stands for. Read from a file of lines
//! "partner:<id> <token>" or "partner:<id> cert-sha256:<hex>", and read
//! again whenever the file changes, so credentials rotate without a
//! restart: add the new one, move the partner over, remove the old one.

use sha2::{Digest, Sha256};
use skills_runtime::Shutdown;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

const CERT_PREFIX: &str = "cert-sha256:";

/// One version of the credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    tokens: HashMap<String, String>,
    certificates: HashMap<[u8; 32], String>,
}

impl Credentials {
    /// Parses the file's text; an error names the line.
    pub fn parse(text: &str) -> Result<Credentials, String> {
        let mut credentials = Credentials::default();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |message: &str| format!("line {}: {message}", number + 1);
            let (scope, secret) =
                line.split_once(char::is_whitespace).ok_or_else(|| at("expected \"partner:<id> <token>\""))?;
            let partner = scope
                .strip_prefix("partner:")
                .filter(|id| !id.is_empty())
                .ok_or_else(|| at("the gateway takes partner credentials only (\"partner:<id>\")"))?;
            credentials.add(partner, secret.trim()).map_err(|error| at(&error))?;
        }
        Ok(credentials)
    }

    /// Adds a token, or a certificate fingerprint written `cert-sha256:<hex>`.
    pub fn add(&mut self, partner: &str, secret: &str) -> Result<(), String> {
        match secret.strip_prefix(CERT_PREFIX) {
            Some(hex_digest) => {
                let digest: [u8; 32] = hex::decode(hex_digest.replace(':', ""))
                    .ok()
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or("a certificate fingerprint is 64 hex digits (SHA-256)")?;
                self.certificates.insert(digest, partner.to_string());
            }
            None if secret.len() < 16 => return Err("a token has at least 16 characters".into()),
            None => {
                self.tokens.insert(secret.to_string(), partner.to_string());
            }
        }
        Ok(())
    }

    pub fn partner_of_token(&self, token: &str) -> Option<&str> {
        self.tokens.get(token).map(String::as_str)
    }

    /// The partner of a client certificate, by its DER encoding.
    pub fn partner_of_certificate(&self, der: &[u8]) -> Option<&str> {
        self.certificates.get(&fingerprint(der)).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.certificates.is_empty()
    }
}

/// SHA-256 of a certificate's DER encoding: what `openssl x509 -fingerprint
/// -sha256` prints.
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The credentials in force, reloaded from their file when it changes.
/// A file that no longer parses is reported and the previous credentials
/// stay: a typo must not lock every partner out.
pub struct CredentialStore {
    current: RwLock<Arc<Credentials>>,
    file: Option<PathBuf>,
    /// Credentials given in code (the all-in-one process's own).
    extra: Vec<(String, String)>,
    stamp: RwLock<Option<(SystemTime, u64)>>,
}

impl CredentialStore {
    pub fn load(file: Option<&Path>, extra: Vec<(String, String)>) -> Result<Arc<CredentialStore>, String> {
        let store = CredentialStore {
            current: RwLock::default(),
            file: file.map(Path::to_path_buf),
            extra,
            stamp: RwLock::default(),
        };
        store.reload()?;
        Ok(Arc::new(store))
    }

    pub fn current(&self) -> Arc<Credentials> {
        self.current.read().expect("credentials lock").clone()
    }

    /// Reads the file again if it changed since the last read; true when
    /// the credentials changed.
    pub fn reload(&self) -> Result<bool, String> {
        let stamp = match &self.file {
            Some(file) => {
                let metadata =
                    std::fs::metadata(file).map_err(|error| format!("cannot read {}: {error}", file.display()))?;
                Some((metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH), metadata.len()))
            }
            None => None,
        };
        let first = self.stamp.read().expect("credentials lock").is_none() && self.current().is_empty();
        if !first && stamp == *self.stamp.read().expect("credentials lock") {
            return Ok(false);
        }
        let mut credentials = match &self.file {
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
                Credentials::parse(&text).map_err(|error| format!("{}: {error}", file.display()))?
            }
            None => Credentials::default(),
        };
        for (partner, secret) in &self.extra {
            credentials.add(partner, secret)?;
        }
        *self.stamp.write().expect("credentials lock") = stamp;
        let changed = **self.current.read().expect("credentials lock") != credentials;
        *self.current.write().expect("credentials lock") = Arc::new(credentials);
        Ok(changed)
    }

    /// Checks the file every `interval` until shutdown.
    pub async fn watch(self: Arc<Self>, interval: Duration, mut shutdown: Shutdown) {
        if self.file.is_none() {
            return;
        }
        loop {
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            match self.reload() {
                Ok(true) => tracing::info!(file = ?self.file, "partner credentials reloaded"),
                Ok(false) => {}
                Err(error) => tracing::error!(%error, "partner credentials not reloaded; the previous ones stay"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-0123456789abcdef";

    #[test]
    fn tokens_and_certificates_map_to_partners() {
        let der = b"not really DER, but hashed the same way";
        let text = format!(
            "# partners\npartner:gen-lyon {TOKEN}\n\npartner:fun-mooc cert-sha256:{}\n",
            hex::encode(fingerprint(der))
        );
        let credentials = Credentials::parse(&text).unwrap();
        assert_eq!(credentials.partner_of_token(TOKEN), Some("gen-lyon"));
        assert_eq!(credentials.partner_of_token("tok-0123456789abcdeX"), None);
        assert_eq!(credentials.partner_of_certificate(der), Some("fun-mooc"));
        assert_eq!(credentials.partner_of_certificate(b"another"), None);
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, expected) in [
            ("policy tok-0123456789abcdef", "partner credentials only"),
            ("partner:x short", "at least 16"),
            ("partner:x cert-sha256:abcd", "64 hex digits"),
            ("partner:x", "expected"),
        ] {
            let error = Credentials::parse(&format!("# first\n{text}")).unwrap_err();
            assert!(error.starts_with("line 2:") && error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn a_changed_file_is_read_again_and_a_broken_one_keeps_the_previous() {
        let dir = std::env::temp_dir().join(format!("skills-credentials-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("partners");
        std::fs::write(&file, format!("partner:a {TOKEN}\n")).unwrap();
        let store = CredentialStore::load(Some(&file), vec![]).unwrap();
        assert_eq!(store.current().partner_of_token(TOKEN), Some("a"));
        assert!(!store.reload().unwrap(), "unchanged");

        // Rotation: a new token, the old one gone (a longer file, so the
        // change shows even within the file system's time resolution).
        std::fs::write(&file, "partner:a tok-rotated-0123456789\n# rotated\n").unwrap();
        assert!(store.reload().unwrap());
        assert_eq!(store.current().partner_of_token(TOKEN), None);
        assert_eq!(store.current().partner_of_token("tok-rotated-0123456789"), Some("a"));

        std::fs::write(&file, "partner:a short\n").unwrap();
        assert!(store.reload().is_err());
        assert_eq!(store.current().partner_of_token("tok-rotated-0123456789"), Some("a"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Pseudonymisation of partner-scoped learner identifiers: keyed
//! HMAC-SHA-256, a key per partner derived from a versioned master key, so
//! keys can be rotated. Irreversible without the key; keys never print.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// Hex characters kept from the MAC: 128 bits, ample against collisions
/// among millions of learners.
const PSEUDONYM_HEX_LEN: usize = 32;
const MIN_KEY_BYTES: usize = 32;

/// Key material that never appears in Debug or Display output.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// Parses a key written as hex (at least 32 bytes, i.e. 64 hex digits).
    pub fn from_hex(text: &str) -> Result<Self, PseudonymError> {
        let bytes = hex::decode(text.trim()).map_err(|_| PseudonymError::MalformedKey)?;
        Self::from_bytes(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, PseudonymError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(PseudonymError::KeyTooShort { bytes: bytes.len() });
        }
        Ok(SecretKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PseudonymError {
    #[error("pseudonymisation key is not valid hex")]
    MalformedKey,
    #[error("pseudonymisation key too short: {bytes} bytes, need at least 32")]
    KeyTooShort { bytes: usize },
    #[error("no pseudonymisation key for version {0}")]
    UnknownVersion(u32),
}

/// Turns partner-scoped learner ids into pseudonyms "k<version>:<hex>".
#[derive(Clone)]
pub struct Pseudonymiser {
    master_keys: BTreeMap<u32, SecretKey>,
    current_version: u32,
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonymiser")
            .field("versions", &self.master_keys.keys().collect::<Vec<_>>())
            .field("current_version", &self.current_version)
            .finish()
    }
}

impl Pseudonymiser {
    pub fn new(master_keys: BTreeMap<u32, SecretKey>, current_version: u32) -> Result<Self, PseudonymError> {
        if !master_keys.contains_key(&current_version) {
            return Err(PseudonymError::UnknownVersion(current_version));
        }
        Ok(Pseudonymiser { master_keys, current_version })
    }

    pub fn single(key: SecretKey, version: u32) -> Self {
        Pseudonymiser { master_keys: BTreeMap::from([(version, key)]), current_version: version }
    }

    /// Every key version held, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.master_keys.keys().copied()
    }

    pub fn current_version(&self) -> u32 {
        self.current_version
    }

    /// The pseudonym of a learner under the current key version.
    pub fn pseudonymise(&self, partner_id: &str, learner_id: &str) -> String {
        self.pseudonymise_with(self.current_version, partner_id, learner_id)
            .expect("the current version always has a key")
    }

    /// The pseudonym under a given key version (used when rotating keys).
    pub fn pseudonymise_with(
        &self,
        version: u32,
        partner_id: &str,
        learner_id: &str,
    ) -> Result<String, PseudonymError> {
        let master = self.master_keys.get(&version).ok_or(PseudonymError::UnknownVersion(version))?;
        let partner_key = mac(&master.0, &[b"partner\0", partner_id.as_bytes()]);
        let digest = mac(&partner_key, &[learner_id.as_bytes()]);
        let mut text = hex::encode(digest);
        text.truncate(PSEUDONYM_HEX_LEN);
        Ok(format!("k{version}:{text}"))
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_bytes(vec![byte; 32]).unwrap()
    }

    #[test]
    fn same_input_same_pseudonym_and_no_trace_of_the_id() {
        let p = Pseudonymiser::single(key(7), 1);
        let a = p.pseudonymise("partner-a", "learner-42");
        assert_eq!(a, p.pseudonymise("partner-a", "learner-42"));
        assert!(a.starts_with("k1:"));
        assert_eq!(a.len(), 3 + PSEUDONYM_HEX_LEN);
        assert!(!a.contains("learner"));
        assert!(!a.contains("42"));
    }

    #[test]
    fn partners_keys_and_versions_all_separate_pseudonyms() {
        let p = Pseudonymiser::new(BTreeMap::from([(1, key(1)), (2, key(2))]), 2).unwrap();
        let current = p.pseudonymise("a", "x");
        assert_ne!(current, p.pseudonymise("b", "x"));
        assert_ne!(current, p.pseudonymise_with(1, "a", "x").unwrap());
        assert!(current.starts_with("k2:"));
        assert_ne!(Pseudonymiser::single(key(9), 2).pseudonymise("a", "x"), current);
        assert_eq!(p.pseudonymise_with(3, "a", "x"), Err(PseudonymError::UnknownVersion(3)));
    }

    #[test]
    fn keys_are_checked_and_never_printed() {
        assert_eq!(SecretKey::from_hex("zz"), Err(PseudonymError::MalformedKey));
        assert_eq!(SecretKey::from_hex("abcd"), Err(PseudonymError::KeyTooShort { bytes: 2 }));
        let k = key(0xab);
        assert!(!format!("{k:?}").contains("ab"));
        let p = Pseudonymiser::single(k, 1);
        assert!(!format!("{p:?}").contains("abab"));
        assert!(Pseudonymiser::new(BTreeMap::new(), 1).is_err());
    }
}

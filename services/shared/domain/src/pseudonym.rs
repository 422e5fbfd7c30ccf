//! Pseudonymisation of partner-scoped learner identifiers: keyed
//! HMAC-SHA-256, a key per partner derived from the master key.
//! Irreversible without the key; keys never print.
//!
//! Keys rotate without losing a learner's history. The lowest version of
//! the ring is the master key; each later version holds a rotation key,
//! and a pseudonym under version v is the one under the version before,
//! keyed again with v's rotation key ("k<v>:" + its HMAC). Stored
//! pseudonyms can therefore move to a new version from the store alone
//! (`rekey`, no raw id needed), after which events pseudonymised under the
//! new version land on the same learners. Knowing one key, even the
//! master key, no longer links a raw id to the stored pseudonyms.

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
    #[error("not a pseudonym of the form k<version>:<hex>")]
    NotAPseudonym,
    #[error("cannot rekey from version {from} down to version {to}")]
    Backwards { from: u32, to: u32 },
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

    /// The pseudonym under a given key version: the master key's, keyed
    /// again with every rotation key up to `version`.
    pub fn pseudonymise_with(
        &self,
        version: u32,
        partner_id: &str,
        learner_id: &str,
    ) -> Result<String, PseudonymError> {
        if !self.master_keys.contains_key(&version) {
            return Err(PseudonymError::UnknownVersion(version));
        }
        let (&base, master) = self.master_keys.iter().next().expect("a ring holds a key");
        let partner_key = mac(&master.0, &[b"partner\0", partner_id.as_bytes()]);
        let first = stamp(base, &mac(&partner_key, &[learner_id.as_bytes()]));
        self.rekey(&first, version)
    }

    /// A stored pseudonym moved to a later version with the rotation keys
    /// in between; the same as pseudonymising the raw id under `version`.
    pub fn rekey(&self, pseudonym: &str, version: u32) -> Result<String, PseudonymError> {
        let from = version_of(pseudonym).ok_or(PseudonymError::NotAPseudonym)?;
        if from > version {
            return Err(PseudonymError::Backwards { from, to: version });
        }
        let mut current = pseudonym.to_string();
        if from < version {
            for (&step, key) in self.master_keys.range(from + 1..=version) {
                current = stamp(step, &mac(&key.0, &[current.as_bytes()]));
            }
        }
        Ok(current)
    }
}

/// The key version a pseudonym was made under.
pub fn version_of(pseudonym: &str) -> Option<u32> {
    let (version, hex) = pseudonym.strip_prefix('k')?.split_once(':')?;
    (hex.len() == PSEUDONYM_HEX_LEN).then_some(())?;
    version.parse().ok()
}

fn stamp(version: u32, digest: &[u8]) -> String {
    let mut text = hex::encode(digest);
    text.truncate(PSEUDONYM_HEX_LEN);
    format!("k{version}:{text}")
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
    fn rekeying_a_stored_pseudonym_equals_pseudonymising_under_the_new_version() {
        let v1 = Pseudonymiser::single(key(1), 1);
        let ring = Pseudonymiser::new(BTreeMap::from([(1, key(1)), (2, key(2)), (3, key(3))]), 3).unwrap();
        let stored = v1.pseudonymise("a", "x");
        assert_eq!(ring.pseudonymise_with(1, "a", "x").unwrap(), stored, "version 1 is unchanged by the ring");
        let moved = ring.rekey(&stored, 3).unwrap();
        assert_eq!(moved, ring.pseudonymise("a", "x"), "old and new events land on one learner");
        assert!(moved.starts_with("k3:"));
        assert_eq!(ring.rekey(&ring.rekey(&stored, 2).unwrap(), 3).unwrap(), moved, "one step at a time too");
        assert_ne!(ring.rekey(&v1.pseudonymise("a", "y"), 3).unwrap(), moved);
        // Without the rotation keys the master key no longer finds the learner.
        let other = Pseudonymiser::new(BTreeMap::from([(1, key(1)), (2, key(9)), (3, key(3))]), 3).unwrap();
        assert_ne!(other.pseudonymise("a", "x"), moved);
        assert_eq!(ring.rekey(&moved, 1), Err(PseudonymError::Backwards { from: 3, to: 1 }));
        assert_eq!(ring.rekey("learner-1", 2), Err(PseudonymError::NotAPseudonym));
        assert_eq!(version_of(&moved), Some(3));
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

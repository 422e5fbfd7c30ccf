//! Store errors: a kind that decides what the caller does (wait and retry,
//! give up, or isolate the batch), and the source error for the log.
//! Stores classify their own errors once, here or in their own module
//! (ClickHouse by the server's error code: `clickhouse::errors`).

use std::error::Error as StdError;
use std::fmt;

/// What the caller can do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The store cannot answer now (network, timeout, a full disk, too many
    /// parts, memory): wait and retry. Never the data's fault.
    Unavailable,
    /// The schema or the settings are wrong: waiting does not help.
    Schema,
    /// The store refused what was asked or sent.
    Query,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Unavailable => "store unavailable",
            ErrorKind::Schema => "store schema mismatch",
            ErrorKind::Query => "store query failed",
        }
    }
}

type Source = Box<dyn StdError + Send + Sync + 'static>;

#[derive(Debug)]
pub struct StoreError {
    kind: ErrorKind,
    /// The server's own error code, when it gave one (ClickHouse).
    code: Option<u32>,
    source: Source,
}

impl StoreError {
    pub fn new(kind: ErrorKind, source: impl Into<Source>) -> StoreError {
        StoreError { kind, code: None, source: source.into() }
    }

    pub fn unavailable(source: impl Into<Source>) -> StoreError {
        StoreError::new(ErrorKind::Unavailable, source)
    }

    pub fn schema(source: impl Into<Source>) -> StoreError {
        StoreError::new(ErrorKind::Schema, source)
    }

    pub fn query(source: impl Into<Source>) -> StoreError {
        StoreError::new(ErrorKind::Query, source)
    }

    pub fn with_code(mut self, code: u32) -> StoreError {
        self.code = Some(code);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> Option<u32> {
        self.code
    }

    /// Waiting may fix it: hold the work and retry.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Unavailable
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.describe(), self.source)
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

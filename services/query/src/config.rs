//! `[query]` configuration.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryConfig {
    /// Address the gRPC server listens on.
    pub listen: String,
    /// File of bearer tokens, one "<scope> <token>" per line; scopes are
    /// `policy`, `partner:<id>` and `public`.
    pub tokens_file: Option<PathBuf>,
    /// Scope of callers without a token; none means they are refused.
    pub anonymous_scope: Option<String>,
    /// How often the store's data version is checked, in milliseconds:
    /// caches are dropped and watchers notified when it changes.
    pub refresh_interval_ms: u64,
    /// Requests served at once; more wait briefly, then get RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            listen: "127.0.0.1:50051".into(),
            tokens_file: None,
            anonymous_scope: Some("public".into()),
            refresh_interval_ms: 500,
            max_concurrent_requests: 256,
        }
    }
}

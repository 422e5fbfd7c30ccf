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
    /// Cache indicators per period until new data lands (off: every call
    /// reads the store; for measurements and debugging).
    pub cache: bool,
    /// Requests served at once; more wait briefly, then get RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
    /// Browser origins allowed to call through gRPC-web ("*": any). Empty:
    /// gRPC-web still works for same-origin pages and non-browser clients.
    pub cors_allowed_origins: Vec<String>,
    /// Longest a call may run, in milliseconds; a client's shorter deadline
    /// (grpc-timeout) wins. Work past it is dropped, not finished.
    pub request_timeout_ms: u64,
    /// PEM certificate chain and key: the server speaks TLS when both are set.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
}

impl QueryConfig {
    pub fn serve_options(&self) -> crate::server::ServeOptions {
        crate::server::ServeOptions {
            cors_allowed_origins: self.cors_allowed_origins.clone(),
            request_timeout: (self.request_timeout_ms > 0)
                .then(|| std::time::Duration::from_millis(self.request_timeout_ms)),
            tls_cert_file: self.tls_cert_file.clone(),
            tls_key_file: self.tls_key_file.clone(),
        }
    }
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            listen: "127.0.0.1:50051".into(),
            tokens_file: None,
            anonymous_scope: Some("public".into()),
            refresh_interval_ms: 500,
            max_concurrent_requests: 256,
            cache: true,
            cors_allowed_origins: Vec::new(),
            request_timeout_ms: 10_000,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

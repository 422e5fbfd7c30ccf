//! `[query]` configuration.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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
    /// Calls served at once by the whole service; more wait 100 ms, then
    /// get RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
    /// Watch streams open at once, all callers together.
    pub max_watch_streams: usize,
    /// A watch stream ends after this many seconds with UNAVAILABLE
    /// ("reconnect"); the client opens a new one.
    pub watch_max_age_s: u64,
    /// A watch stream with no change for this many seconds sends the
    /// current state again: proxies and load balancers that close idle
    /// HTTP/1.1 streams (gRPC-web) keep it open, and a client that went
    /// away is noticed and its stream freed. 0: never.
    pub watch_keepalive_s: u64,
    /// Rate and concurrency limits per audience (`[query.limits.policy]`,
    /// `partner`, `public`: token holders; `anonymous`: per address).
    pub limits: AudienceTable,
    /// Connections open at once, and from one client address.
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    /// HTTP/2 streams (calls) at once on one connection.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2 PING every this many seconds on an idle connection; no
    /// answer within `http2_keepalive_timeout_s` closes it.
    pub http2_keepalive_interval_s: u64,
    pub http2_keepalive_timeout_s: u64,
    /// A connection is asked to close (GOAWAY, or "Connection: close" on
    /// HTTP/1.1) after this many seconds, and closed `grace` later.
    pub max_connection_age_s: u64,
    pub max_connection_age_grace_s: u64,
    /// Largest request and response message, in bytes.
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
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

/// Limits of one audience class.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudienceLimits {
    /// Calls a second per caller on average (0: no rate limit), and how
    /// many may come at once after a quiet spell.
    pub rate_per_s: f64,
    pub burst: u32,
    /// Calls in flight per caller, and for the whole audience.
    pub concurrent_per_caller: usize,
    pub concurrent: usize,
    /// Watch streams open per caller.
    pub watch_streams_per_caller: usize,
    /// Indicator computations (cache misses that read the store) at once
    /// for the whole audience; other misses wait 500 ms for a turn.
    pub store_computations: usize,
}

impl Default for AudienceLimits {
    fn default() -> Self {
        AudienceLimits {
            rate_per_s: 100.0,
            burst: 200,
            concurrent_per_caller: 32,
            concurrent: 128,
            watch_streams_per_caller: 8,
            store_computations: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudienceTable {
    pub policy: AudienceLimits,
    pub partner: AudienceLimits,
    pub public: AudienceLimits,
    pub anonymous: AudienceLimits,
}

impl Default for AudienceTable {
    fn default() -> Self {
        let base = AudienceLimits::default();
        AudienceTable {
            policy: AudienceLimits {
                rate_per_s: 500.0,
                burst: 1000,
                concurrent_per_caller: 64,
                watch_streams_per_caller: 16,
                store_computations: 2,
                ..base.clone()
            },
            partner: base.clone(),
            public: base.clone(),
            anonymous: AudienceLimits {
                rate_per_s: 50.0,
                burst: 200,
                concurrent_per_caller: 16,
                watch_streams_per_caller: 4,
                ..base
            },
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
            max_watch_streams: 512,
            watch_max_age_s: 600,
            watch_keepalive_s: 15,
            limits: AudienceTable::default(),
            max_connections: 1024,
            max_connections_per_address: 256,
            http2_max_concurrent_streams: 128,
            http2_keepalive_interval_s: 20,
            http2_keepalive_timeout_s: 10,
            max_connection_age_s: 3600,
            max_connection_age_grace_s: 60,
            max_request_bytes: 64 * 1024,
            max_response_bytes: 4 * 1024 * 1024,
            cache: true,
            cors_allowed_origins: Vec::new(),
            request_timeout_ms: 10_000,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_is_turned_off_with_zero() {
        let query: QueryConfig = toml::from_str("[limits.anonymous]\nrate_per_s = 0\nburst = 5").unwrap();
        assert_eq!(query.limits.anonymous.rate_per_s, 0.0);
        assert_eq!(query.limits.anonymous.burst, 5);
        assert_eq!(query.limits.anonymous.concurrent, AudienceLimits::default().concurrent, "the rest default");
        assert!(toml::from_str::<QueryConfig>("[limits.anonymous]\nrate = 1").is_err(), "unknown keys refused");
    }
}

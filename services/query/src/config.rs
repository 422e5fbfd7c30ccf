//! `[query]` is defined with every other section in skills-config; here,
//! what the service makes of it: admission limits and server options.

pub use skills_config::query::{AudienceLimits, AudienceTable, QueryConfig};

/// What admission control needs (`crate::admission`).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub max_concurrent_requests: usize,
    pub max_watch_streams: usize,
    pub audiences: AudienceTable,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_config(&QueryConfig::default())
    }
}

impl Limits {
    /// No rate limit, and room for `concurrent` calls of any caller (an
    /// in-process client such as the disclosure audit, tests).
    pub fn unlimited(concurrent: usize) -> Limits {
        let open = AudienceLimits {
            rate_per_s: 0.0,
            burst: 1,
            concurrent_per_caller: concurrent,
            concurrent,
            watch_streams_per_caller: concurrent,
            store_computations: 2,
        };
        Limits {
            max_concurrent_requests: concurrent,
            max_watch_streams: concurrent,
            audiences: AudienceTable {
                policy: open.clone(),
                partner: open.clone(),
                public: open.clone(),
                anonymous: open,
            },
        }
    }

    /// The limits `[query]` sets.
    pub fn from_config(config: &QueryConfig) -> Limits {
        Limits {
            max_concurrent_requests: config.max_concurrent_requests,
            max_watch_streams: config.max_watch_streams,
            audiences: config.limits.clone(),
        }
    }
}

impl crate::server::ServeOptions {
    /// The server limits `[query]` sets, each at least its floor.
    pub fn from_config(config: &QueryConfig) -> Self {
        let seconds = std::time::Duration::from_secs;
        crate::server::ServeOptions {
            cors_allowed_origins: config.cors_allowed_origins.clone(),
            request_timeout: (config.request_timeout_ms > 0)
                .then(|| std::time::Duration::from_millis(config.request_timeout_ms)),
            tls_cert_file: config.tls_cert_file.clone(),
            tls_key_file: config.tls_key_file.clone(),
            max_connections: config.max_connections.max(1),
            max_connections_per_address: config.max_connections_per_address.max(1),
            http2_max_concurrent_streams: config.http2_max_concurrent_streams.max(1),
            http2_keepalive_interval: seconds(config.http2_keepalive_interval_s.max(1)),
            http2_keepalive_timeout: seconds(config.http2_keepalive_timeout_s.max(1)),
            max_connection_age: seconds(config.max_connection_age_s.max(1)),
            max_connection_age_grace: seconds(config.max_connection_age_grace_s),
            max_request_bytes: config.max_request_bytes.max(1024),
            max_response_bytes: config.max_response_bytes.max(1024),
            metrics: crate::server::grpc_metrics(),
        }
    }
}

//! `[gateway]` configuration: skills-gateway, where partners publish
//! events over gRPC (skills.v1.EventGateway) or as xAPI statements.

use serde::{Deserialize, Serialize};
use skills_bus::topics;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address of the gateway: gRPC EventGateway, and the xAPI statements
    /// resource at /xAPI/statements (HTTP/1.1 or HTTP/2), on one port.
    pub listen: String,
    /// Partner credentials, one per line: "partner:<id> <token>" (a bearer
    /// token, or the password of xAPI Basic auth with the partner id as
    /// user) or "partner:<id> cert-sha256:<hex>" (a client certificate's
    /// SHA-256 fingerprint, over mutual TLS). Several lines may name one
    /// partner. Re-read when it changes: credentials rotate without a
    /// restart.
    pub credentials_file: Option<PathBuf>,
    /// How often the credentials file is checked for changes, in ms.
    pub credentials_reload_ms: u64,
    /// PEM certificate chain and key: the gateway speaks TLS when both are set.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// PEM CA certificates for client certificates (mutual TLS); clients
    /// without one may still use a token.
    pub tls_client_ca_file: Option<PathBuf>,
    /// Events a second per partner on average, and how many may come at
    /// once after a quiet spell; past them, RESOURCE_EXHAUSTED (HTTP 429).
    pub partner_rate_per_s: f64,
    pub partner_burst: u32,
    /// Events being written to Kafka at once, all partners together; past
    /// it, RESOURCE_EXHAUSTED (HTTP 429).
    pub max_in_flight_events: usize,
    /// Micro-batches of one Publish stream being written at once; the
    /// stream is not read further until one is acknowledged.
    pub stream_window_batches: usize,
    /// Events per PublishBatch call or xAPI request, at most.
    pub max_batch_events: usize,
    /// Largest request, in bytes (a gRPC message, an xAPI body).
    pub max_request_bytes: usize,
    /// A write not acknowledged by Kafka within this many milliseconds
    /// fails the call with UNAVAILABLE (HTTP 503); its events were perhaps
    /// written: the client sends them again with the same ids.
    pub write_timeout_ms: u64,
    /// Event ids remembered to answer DUPLICATE, or to refuse an id reused
    /// with other content (per gateway process; downstream deduplicates
    /// anyway).
    pub recent_ids: usize,
    /// Where each kind of event is written: the raw topics ingest reads.
    pub enrolments_topic: String,
    pub assessments_topic: String,
    pub demand_topic: String,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: "127.0.0.1:50052".into(),
            credentials_file: None,
            credentials_reload_ms: 2_000,
            tls_cert_file: None,
            tls_key_file: None,
            tls_client_ca_file: None,
            partner_rate_per_s: 20_000.0,
            partner_burst: 40_000,
            max_in_flight_events: 100_000,
            stream_window_batches: 4,
            max_batch_events: 5_000,
            max_request_bytes: 8 * 1024 * 1024,
            write_timeout_ms: 10_000,
            recent_ids: 500_000,
            enrolments_topic: topics::ENROLMENTS.into(),
            assessments_topic: topics::ASSESSMENTS.into(),
            demand_topic: topics::DEMAND.into(),
        }
    }
}

impl GatewayConfig {
    /// The raw topic of a payload kind ("enrolment", "assessment",
    /// "labour_demand"); anything else goes with the enrolments, where
    /// ingest dead-letters what it cannot map.
    pub fn topic_for_kind(&self, kind: &str) -> &str {
        match kind {
            "assessment" => &self.assessments_topic,
            "labour_demand" => &self.demand_topic,
            _ => &self.enrolments_topic,
        }
    }

    pub fn topics(&self) -> Vec<String> {
        vec![self.enrolments_topic.clone(), self.assessments_topic.clone(), self.demand_topic.clone()]
    }
}

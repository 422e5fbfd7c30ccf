//! Process plumbing shared by every binary: the service command line,
//! layered configuration, tracing set-up and a shutdown signal. Nothing
//! domain-specific lives here.

pub mod config;
pub mod grpc_metrics;
pub mod metrics;
pub mod service;
pub mod shutdown;
pub mod telemetry;

pub use config::{ConfigError, load_config, load_with_env};
pub use service::{BoxError, ServiceConfig};
pub use shutdown::{Shutdown, ShutdownTrigger, shutdown_pair};

/// Binds a service's address, with an error that names it when it is taken.
pub async fn bind(address: &str) -> Result<tokio::net::TcpListener, BoxError> {
    tokio::net::TcpListener::bind(address).await.map_err(|error| format!("cannot listen on {address}: {error}").into())
}

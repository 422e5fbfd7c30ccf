//! Process plumbing shared by every binary: layered configuration, tracing
//! set-up and a shutdown signal. Nothing domain-specific lives here.

pub mod config;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;

pub use config::{ConfigError, load_config};
pub use shutdown::{Shutdown, ShutdownTrigger, shutdown_pair};

//! Process plumbing shared by every binary: layered configuration, tracing
//! set-up and a shutdown signal. Nothing domain-specific lives here.

pub mod config;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;

pub use config::{ConfigError, load_config, load_with_env};
pub use shutdown::{Shutdown, ShutdownTrigger, shutdown_pair};

/// The exit of a service binary: 0, or 1 with the error on stderr.
pub fn exit_code(service: &str, result: Result<(), Box<dyn std::error::Error>>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{service}: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

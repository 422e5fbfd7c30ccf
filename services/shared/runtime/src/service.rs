//! What every service binary shares around its own work: the command line
//! (`--help`, `--version`, `--config`, `--check-config`), the layered
//! configuration, tracing, and a shutdown on SIGINT or SIGTERM. A
//! service's main is one call to [`main`].

use crate::shutdown::{Shutdown, shutdown_pair};
use crate::telemetry::{LogFormat, init_tracing};
use clap::{CommandFactory, FromArgMatches, Parser};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

/// The error a service ends with: anything, from any task.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A configuration a service binary can load and show.
pub trait ServiceConfig: DeserializeOwned {
    fn log_format(&self) -> LogFormat;
    /// The effective configuration as TOML, secrets masked.
    fn to_masked_toml(&self) -> String;
}

/// The command line of every service binary.
#[derive(Debug, Parser)]
struct ServiceArgs {
    /// Configuration file (TOML). Defaults, then this file, then
    /// SKILLS__SECTION__KEY environment variables; config/skills.example.toml
    /// lists every key.
    #[arg(long, env = "SKILLS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective configuration (secrets masked) and exit: 0 when
    /// it is valid, 2 with the reason when not.
    #[arg(long)]
    check_config: bool,
}

/// Runs a service binary named `name`: parses its command line, loads its
/// configuration (exit 2 when invalid), answers `--check-config`, then
/// runs `service` with a shutdown that SIGINT and SIGTERM trigger. Exit 0
/// when the service ends cleanly, 1 with the error on stderr.
pub fn main<C, F, Fut>(name: &'static str, about: &'static str, service: F) -> ExitCode
where
    C: ServiceConfig,
    F: FnOnce(C, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let command = ServiceArgs::command()
        .name(name)
        .bin_name(name)
        .about(about)
        .version(env!("CARGO_PKG_VERSION"))
        .after_help("Every key and its default: config/skills.example.toml and the README's Configuration table.");
    let args = match ServiceArgs::from_arg_matches(&command.get_matches()) {
        Ok(args) => args,
        Err(error) => error.exit(),
    };
    let config: C = match crate::config::load_config(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{name}: {error}");
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        print!("{}", config.to_masked_toml());
        return ExitCode::SUCCESS;
    }
    init_tracing(config.log_format());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name}: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        let (trigger, shutdown) = shutdown_pair();
        tokio::spawn(trigger.trigger_on_signals());
        service(config, shutdown).await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::FAILURE
        }
    }
}

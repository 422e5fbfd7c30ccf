//! skills-aggregator: normalized events → the metrics store, counted once.
//! `skills-aggregator --help` for the command line; configuration in the README.

/// mimalloc: the services allocate many small, short-lived buffers per
/// batch; glibc malloc took a fifth of ingest's CPU (deploy/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use skills_aggregator::app::{ABOUT, AggregatorService};
use skills_config::SkillsConfig;

fn main() -> std::process::ExitCode {
    skills_runtime::service::main("skills-aggregator", ABOUT, |config: SkillsConfig, shutdown| async move {
        AggregatorService::build(&config, &shutdown).await?.run(shutdown).await
    })
}

//! skills-model: keeps the read model of a ClickHouse deployment (see
//! `skills_aggregator::model`). `skills-model --help` for the command line.

/// mimalloc: the services allocate many small, short-lived buffers per
/// batch; glibc malloc took a fifth of ingest's CPU (deploy/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use skills_aggregator::model::app::{ABOUT, ModelService};
use skills_config::SkillsConfig;

fn main() -> std::process::ExitCode {
    skills_runtime::service::main("skills-model", ABOUT, |config: SkillsConfig, shutdown| async move {
        ModelService::build(&config, &shutdown).await?.run(shutdown).await
    })
}

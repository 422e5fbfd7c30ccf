//! skills-query: the gRPC TalentGapService over the configured store (the
//! embedded file, or ClickHouse at scale). `skills-query --help` for the
//! command line; configuration in the README.

/// mimalloc: the services allocate many small, short-lived buffers per
/// batch; glibc malloc took a fifth of ingest's CPU (deploy/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use skills_config::SkillsConfig;
use skills_query::app::{ABOUT, QueryService};

fn main() -> std::process::ExitCode {
    skills_runtime::service::main("skills-query", ABOUT, |config: SkillsConfig, shutdown| async move {
        QueryService::build(&config, &shutdown).await?.run(shutdown).await
    })
}

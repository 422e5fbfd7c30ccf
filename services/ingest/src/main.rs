//! skills-ingest: raw partner events → normalized events or dead letters.
//! `skills-ingest --help` for the command line; configuration in the README.

/// mimalloc: the services allocate many small, short-lived buffers per
/// batch; glibc malloc took a fifth of ingest's CPU (deploy/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use skills_config::SkillsConfig;
use skills_ingest::app::{ABOUT, IngestService};

fn main() -> std::process::ExitCode {
    skills_runtime::service::main("skills-ingest", ABOUT, |config: SkillsConfig, shutdown| async move {
        IngestService::build(&config)?.run(shutdown).await
    })
}

//! skills-gateway: partners publish events over gRPC or xAPI.
//! `skills-gateway --help` for the command line; configuration and the
//! three ways to send in the README.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use skills_config::SkillsConfig;
use skills_gateway::app::{ABOUT, GatewayService};

fn main() -> std::process::ExitCode {
    skills_runtime::service::main("skills-gateway", ABOUT, |config: SkillsConfig, shutdown| async move {
        GatewayService::build(&config).await?.run(shutdown).await
    })
}

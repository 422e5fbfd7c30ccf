//! `skills`: the all-in-one process (`cargo run --release`) and the
//! command-line client of the TalentGapService.

/// mimalloc: the services allocate many small, short-lived buffers per
/// batch; glibc malloc took a fifth of ingest's CPU (deploy/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use skills::cli::{Cli, ClientArgs, Command, DemoArgs, RankBy};
use skills::client::{Client, ClientError};
use skills::config::SkillsConfig;
use skills::render;
use skills_proto::v1 as pb;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config: SkillsConfig = match skills_runtime::load_config(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("skills: {error}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Demo(DemoArgs { learners: 20_000, ..DemoArgs::default() }));
    let outcome = match command {
        Command::Demo(args) => {
            skills_runtime::telemetry::init_tracing(config.log_format);
            skills::demo::run(config, args).await.map_err(|e| e.to_string())
        }
        Command::Send(args) => {
            skills_runtime::telemetry::init_tracing(config.log_format);
            skills::send::run(config, args).await.map_err(|e| e.to_string())
        }
        Command::Reconcile(args) => {
            skills_runtime::telemetry::init_tracing(config.log_format);
            skills::reconcile::run(config, args).await.map_err(|e| e.to_string())
        }
        Command::Forget(args) => {
            skills_runtime::telemetry::init_tracing(config.log_format);
            skills::forget::run(config, args).await.map_err(|e| e.to_string())
        }
        Command::Rekey(args) => {
            skills_runtime::telemetry::init_tracing(config.log_format);
            skills::rekey::run(config, args).await.map_err(|e| e.to_string())
        }
        Command::DisclosureAudit(args) => {
            skills_runtime::telemetry::init_tracing(config.log_format);
            match skills::audit::run(config, args).await {
                Ok(true) => Ok(()),
                Ok(false) => Err("the disclosure audit failed (see above)".to_string()),
                Err(error) => Err(error),
            }
        }
        Command::VerifyModel(args) => {
            skills_runtime::telemetry::init_tracing(config.log_format);
            match skills::verify_model::run(config, args).await {
                Ok(true) => Ok(()),
                Ok(false) => Err("the read model differs from the facts (see above)".to_string()),
                Err(error) => Err(error.to_string()),
            }
        }
        client_command => run_client(client_command).await.map_err(|e| e.to_string()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("skills: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!("{}", serde_json::to_string_pretty(value).expect("responses serialize"));
}

async fn connect(args: &ClientArgs) -> Result<Client, ClientError> {
    Client::connect(&args.addr, args.token.clone()).await
}

async fn run_client(command: Command) -> Result<(), ClientError> {
    match command {
        Command::Demo(_)
        | Command::Send(_)
        | Command::Reconcile(_)
        | Command::Forget(_)
        | Command::Rekey(_)
        | Command::VerifyModel(_)
        | Command::DisclosureAudit(_) => {
            unreachable!("handled by main")
        }
        Command::Gaps { region, period, client } => {
            let response = connect(&client).await?.region(&region, &period).await?;
            if client.json {
                print_json(&response);
            } else {
                println!("{} — {}", render::region_name(&response.region), render::meta_line(response.meta.as_ref()));
                print!("{}", render::cells_table(&response.cells, render::by_skill));
            }
        }
        Command::Rank { top, by, region, skill, period, page_size, page_token, client } => {
            let rank_by = match by {
                RankBy::Gap => pb::RankBy::TalentGap,
                RankBy::Ratio => pb::RankBy::ShortageRatio,
            };
            let request =
                pb::RankShortagesRequest { period, rank_by: rank_by as i32, top, region, skill, page_size, page_token };
            let response = connect(&client).await?.rank(request).await?;
            if client.json {
                print_json(&response);
            } else {
                println!("{}", render::meta_line(response.meta.as_ref()));
                print!("{}", render::cells_table(&response.cells, render::by_region_and_skill));
                if !response.next_page_token.is_empty() {
                    println!("next page: --page-token {}", response.next_page_token);
                }
            }
        }
        Command::Status { client } => {
            let response = connect(&client).await?.pipeline_status().await?;
            if client.json {
                print_json(&response);
            } else {
                let as_of = response.as_of.map(|t| t.to_string()).unwrap_or_else(|| "no data yet".into());
                println!(
                    "{} events counted, {} dead letters; newest data {as_of}",
                    response.events, response.dead_letters
                );
                let mut reasons = render::Table::new(&["dead-letter reason", "count"], 1);
                for r in &response.dead_letters_by_reason {
                    reasons.row(vec![r.reason.clone(), r.count.to_string()]);
                }
                print!("{}", reasons.render());
            }
        }
        Command::Skill { skill, period, client } => {
            let response = connect(&client).await?.skill(&skill, &period).await?;
            if client.json {
                print_json(&response);
            } else {
                println!("{} {} — {}", response.skill, response.skill_name, render::meta_line(response.meta.as_ref()));
                print!("{}", render::cells_table(&response.cells, render::by_region));
                println!("geographic mismatch (Duncan index): {}", render::number(response.mismatch_index, 3));
            }
        }
        Command::Inclusion { region, period, client } => {
            let response = connect(&client).await?.inclusion(&region, &period).await?;
            if client.json {
                print_json(&response);
            } else {
                println!("{} — {}", render::region_name(&response.region), render::meta_line(response.meta.as_ref()));
                print!("{}", render::inclusion_table(&response));
            }
        }
        Command::Trend { region, skill, from, to, client } => {
            let response = connect(&client).await?.trend(&region, &skill, &from, &to).await?;
            if client.json {
                print_json(&response);
            } else {
                println!(
                    "{} · {} — {}",
                    render::region_name(&region),
                    render::skill_name(&skill),
                    render::meta_line(response.meta.as_ref())
                );
                print!("{}", render::cells_table(&response.points, render::by_period));
            }
        }
        Command::Reference { client } => {
            let response = connect(&client).await?.reference().await?;
            if client.json {
                print_json(&response);
            } else {
                let mut regions = render::Table::new(&["region", "name"], 2);
                for r in &response.regions {
                    regions.row(vec![r.code.clone(), r.name.clone()]);
                }
                print!("{}", regions.render());
                let mut skills = render::Table::new(&["skill", "name", "area", "target level"], 3);
                for s in &response.skills {
                    skills.row(vec![s.code.clone(), s.name.clone(), s.area.clone(), s.target_level.to_string()]);
                }
                print!("\n{}", skills.render());
            }
        }
        Command::Watch { region, period, updates, client } => {
            let mut stream = connect(&client).await?.watch(&region, &period).await?;
            let mut seen = 0;
            while let Some(update) = stream.message().await? {
                seen += 1;
                if client.json {
                    print_json(&update);
                } else {
                    println!("{}", render::meta_line(update.meta.as_ref()));
                    print!("{}", render::cells_table(&update.cells, render::by_region_and_skill));
                }
                if updates > 0 && seen >= updates {
                    break;
                }
            }
        }
    }
    Ok(())
}

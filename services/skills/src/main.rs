//! `skills`: the all-in-one process (`cargo run --release`) and the
//! command-line client of the TalentGapService.

/// mimalloc: the services allocate many small, short-lived buffers per
/// batch; glibc malloc took a fifth of ingest's CPU (deploy/bench.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::CommandFactory;
use clap::Parser;
use skills::cli::{Cli, ClientArgs, Command, DemoArgs, Format, RankBy};
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
    if cli.check_config {
        print!("{}", config.to_masked_toml());
        return ExitCode::SUCCESS;
    }
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
        Command::Validate(args) => match skills::validate::run(&config, &args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(error) => Err(error.to_string()),
        },
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
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "skills", &mut std::io::stdout());
            Ok(())
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

/// Prints an answer in the chosen format: `table` renders it for people.
fn print_answer<M: skills_proto::Message + skills_proto::Name>(
    format: Format,
    answer: &M,
    table: impl FnOnce(&M) -> String,
    csv: impl FnOnce(&M) -> String,
) {
    match format {
        Format::Table => print!("{}", table(answer)),
        Format::Json => println!("{}", skills_proto::json::to_json(answer)),
        Format::Csv => print!("{}", csv(answer)),
    }
}

/// The client of `args`: its address, CA and token (given, or read from
/// its file).
async fn connect(args: &ClientArgs) -> Result<Client, ClientError> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).map_err(|error| ClientError::Address {
                endpoint: args.addr.clone(),
                message: format!("cannot read the token file {}: {error}", file.display()),
            })?;
            Some(text.trim().to_string())
        }
        (None, None) => None,
    };
    Client::connect_with(&args.addr, args.ca.as_deref(), token).await
}

/// A region given by code or name, as its code; empty stays empty.
fn region_code(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    skills_domain::reference::region_by_code_or_name(text).map(|r| r.code.to_string()).map_err(|e| e.to_string())
}

async fn run_client(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Gaps { region, period, client } => {
            let region = region_code(&region)?;
            let response = connect(&client).await?.region(&region, &period).await?;
            let table = |r: &pb::GetRegionIndicatorsResponse| {
                let header = format!("{} — {}", render::region_name(&r.region), render::meta_line(r.meta.as_ref()));
                format!("{header}\n{}", render::cells_table(&r.cells, render::by_skill))
            };
            print_answer(client.format(), &response, table, |r| skills::csv::cells(&r.cells));
        }
        Command::Rank { top, by, region, skill, period, page_size, page_token, client } => {
            let rank_by = match by {
                RankBy::Gap => pb::RankBy::TalentGap,
                RankBy::Ratio => pb::RankBy::ShortageRatio,
            };
            let region = region_code(&region)?;
            let request =
                pb::RankShortagesRequest { period, rank_by: rank_by as i32, top, region, skill, page_size, page_token };
            let response = connect(&client).await?.rank(request).await?;
            let table = |r: &pb::RankShortagesResponse| {
                let mut text = format!(
                    "{}\n{}",
                    render::meta_line(r.meta.as_ref()),
                    render::cells_table(&r.cells, render::by_region_and_skill)
                );
                if !r.next_page_token.is_empty() {
                    text.push_str(&format!("next page: --page-token {}\n", r.next_page_token));
                }
                text
            };
            print_answer(client.format(), &response, table, |r| skills::csv::cells(&r.cells));
        }
        Command::Status { client } => {
            let response = connect(&client).await?.pipeline_status().await?;
            let table = |r: &pb::GetPipelineStatusResponse| {
                let as_of = r.as_of.map(|t| t.to_string()).unwrap_or_else(|| "no data yet".into());
                let mut reasons = render::Table::new(&["dead-letter reason", "count"], 1);
                for reason in &r.dead_letters_by_reason {
                    reasons.row(vec![reason.reason.clone(), reason.count.to_string()]);
                }
                format!(
                    "{} events counted, {} dead letters; newest data {as_of}\n{}",
                    r.events,
                    r.dead_letters,
                    reasons.render()
                )
            };
            print_answer(client.format(), &response, table, skills::csv::status);
        }
        Command::PartnerStatus { partner, client } => {
            let response = connect(&client).await?.partner_status(&partner).await?;
            print_answer(client.format(), &response, render::partner_status, skills::csv::partner_status);
        }
        Command::Skill { skill, period, client } => {
            let response = connect(&client).await?.skill(&skill, &period).await?;
            let table = |r: &pb::GetSkillAcrossRegionsResponse| {
                format!(
                    "{} {} — {}\n{}geographic mismatch (Duncan index): {}\n",
                    r.skill,
                    r.skill_name,
                    render::meta_line(r.meta.as_ref()),
                    render::cells_table(&r.cells, render::by_region),
                    render::number(r.mismatch_index, 3)
                )
            };
            print_answer(client.format(), &response, table, |r| skills::csv::cells(&r.cells));
        }
        Command::Inclusion { region, period, client } => {
            let region = region_code(&region)?;
            let response = connect(&client).await?.inclusion(&region, &period).await?;
            let table = |r: &pb::GetInclusionResponse| {
                let header = format!("{} — {}", render::region_name(&r.region), render::meta_line(r.meta.as_ref()));
                format!("{header}\n{}", render::inclusion_table(r))
            };
            print_answer(client.format(), &response, table, skills::csv::inclusion);
        }
        Command::Trend { region, skill, from, to, client } => {
            let region = region_code(&region)?;
            let response = connect(&client).await?.trend(&region, &skill, &from, &to).await?;
            let table = |r: &pb::GetTrendResponse| {
                format!(
                    "{} · {} — {}\n{}",
                    render::region_name(&region),
                    render::skill_name(&skill),
                    render::meta_line(r.meta.as_ref()),
                    render::cells_table(&r.points, render::by_period)
                )
            };
            print_answer(client.format(), &response, table, |r| skills::csv::cells(&r.points));
        }
        Command::Reference { client } => {
            let response = connect(&client).await?.reference().await?;
            let table = |r: &pb::GetReferenceDataResponse| {
                let mut regions = render::Table::new(&["region", "name"], 2);
                for region in &r.regions {
                    regions.row(vec![region.code.clone(), region.name.clone()]);
                }
                let mut skills = render::Table::new(&["skill", "name", "area", "target level"], 3);
                for s in &r.skills {
                    skills.row(vec![s.code.clone(), s.name.clone(), s.area.clone(), s.target_level.to_string()]);
                }
                format!("{}\n{}", regions.render(), skills.render())
            };
            print_answer(client.format(), &response, table, skills::csv::reference);
        }
        Command::Watch { region, period, updates, client } => {
            let region = region_code(&region)?;
            let mut stream = connect(&client).await?.watch(&region, &period).await?;
            let mut seen = 0;
            while let Some(update) = stream.message().await? {
                seen += 1;
                let table = |u: &pb::WatchIndicatorsResponse| {
                    format!(
                        "{}\n{}",
                        render::meta_line(u.meta.as_ref()),
                        render::cells_table(&u.cells, render::by_region_and_skill)
                    )
                };
                print_answer(client.format(), &update, table, |u| skills::csv::cells(&u.cells));
                if updates > 0 && seen >= updates {
                    break;
                }
            }
        }
        other => unreachable!("not a client command: {other:?}"),
    }
    Ok(())
}

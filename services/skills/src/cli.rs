//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "skills",
    version,
    about = "Regional digital-skills monitor: talent-gap indicators.",
    long_about = "Regional digital-skills monitor: talent-gap indicators.\n\n\
        Without a command, runs the demo: everything in one process on the embedded default, a \
        synthetic data set, a report, and gRPC on 127.0.0.1:50051 until Ctrl-C. The other commands \
        query a running service or operate a Kafka and ClickHouse deployment.",
    after_help = "Examples:\n  \
        skills                                   run the demo (same as `skills demo`)\n  \
        skills rank --top 10 --by ratio          the biggest shortages, from another terminal\n  \
        skills gaps --region \"Auvergne-Rhône-Alpes\" --format csv\n  \
        skills status --token-file data/policy.token\n  \
        skills completions bash > ~/.local/share/bash-completion/completions/skills"
)]
pub struct Cli {
    /// Configuration file (TOML); SKILLS__SECTION__KEY variables override it.
    #[arg(long, global = true, env = "SKILLS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration (defaults, file, SKILLS__*
    /// variables; secrets masked) and exit: 0 when valid, 2 when not.
    #[arg(long)]
    pub check_config: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A period: a year (`2025`), a quarter (`2025-Q2`) or a month (`2025-04`).
const PERIOD_HELP: &str = "Period: 2025, 2025-Q2 or 2025-04 [default: the latest complete year with data, \
                           named in the header]";
/// A region, by INSEE code or by name.
const REGION_HELP: &str = "Region, by INSEE code (84) or by name (\"Auvergne-Rhône-Alpes\", accents and case \
                           optional); `skills reference` lists them";
const SKILL_HELP: &str = "Skill, by DigComp code (3.4); `skills reference` lists them";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process on the embedded default, seed the demo
    /// data set if the store is empty, print the talent-gap report, and
    /// serve gRPC until Ctrl-C (the default command).
    #[command(after_help = "Examples:\n  skills demo\n  skills demo --once --learners 5000 --data-dir /tmp/demo")]
    Demo(DemoArgs),
    /// Indicators of every skill of one region.
    #[command(
        after_help = "Examples:\n  skills gaps --region 84\n  skills gaps --region bretagne --period 2025-Q2 --format csv"
    )]
    Gaps {
        #[arg(long, help = REGION_HELP)]
        region: String,
        #[arg(long, default_value = "", hide_default_value = true, help = PERIOD_HELP)]
        period: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The biggest shortages across regions and skills.
    #[command(after_help = "Examples:\n  skills rank --top 10 --by ratio\n  skills rank --skill 3.4 --period 2025\n  \
                            skills rank --page-size 20 --page-token <next page token>")]
    Rank {
        /// How many cells (at most 100).
        #[arg(long, default_value_t = 10)]
        top: u32,
        /// Rank by talent gap (openings − supply) or by shortage ratio (openings ÷ supply).
        #[arg(long, value_enum, default_value_t = RankBy::Gap)]
        by: RankBy,
        /// Only this region (code or name).
        #[arg(long, default_value = "", hide_default_value = true)]
        region: String,
        /// Only this skill (DigComp code).
        #[arg(long, default_value = "", hide_default_value = true)]
        skill: String,
        #[arg(long, default_value = "", hide_default_value = true, help = PERIOD_HELP)]
        period: String,
        /// Cells per page (1..100; default: the whole ranking up to --top).
        #[arg(long, default_value_t = 0, hide_default_value = true)]
        page_size: u32,
        /// The next_page_token of the previous page.
        #[arg(long, default_value = "", hide_default_value = true)]
        page_token: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// One skill across all regions, with its geographic mismatch index.
    #[command(
        after_help = "Examples:\n  skills skill --skill 3.4\n  skills skill --skill 4.1 --period 2025-Q4 --format json"
    )]
    Skill {
        #[arg(long, help = SKILL_HELP)]
        skill: String,
        #[arg(long, default_value = "", hide_default_value = true, help = PERIOD_HELP)]
        period: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Who is reached in a region: inclusion shares against targets.
    #[command(
        after_help = "Examples:\n  skills inclusion --region 11\n  skills inclusion --region \"Île-de-France\" --period 2025"
    )]
    Inclusion {
        #[arg(long, help = REGION_HELP)]
        region: String,
        #[arg(long, default_value = "", hide_default_value = true, help = PERIOD_HELP)]
        period: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A region × skill over time, one row per period from --from to --to.
    #[command(after_help = "Examples:\n  skills trend --region 84 --skill 3.4 --from 2024-01 --to 2025-12\n  \
                            skills trend --region occitanie --skill 5.1 --from 2024-Q1 --to 2025-Q4 --format csv")]
    Trend {
        #[arg(long, help = REGION_HELP)]
        region: String,
        #[arg(long, help = SKILL_HELP)]
        skill: String,
        /// First period (2024-01, 2024-Q1 or 2024); --to must have the same granularity.
        #[arg(long)]
        from: String,
        /// Last period, included.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// What the pipeline has counted and dead-lettered, by reason, and how
    /// fresh it is (policy scope only).
    #[command(after_help = "Examples:\n  skills status --token-file data/policy.token      (the demo writes it)\n  \
                            SKILLS_TOKEN=<policy token> skills status --addr https://skills.example:50051 --ca ca.pem")]
    Status {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A partner's own view: its events counted, duplicates, dead letters
    /// by reason with examples, and how fresh its data is (a partner token
    /// reads its own; a policy token names the partner).
    #[command(
        after_help = "Examples:\n  skills partner-status --token-file data/partner.token   (the demo partner's)\n  \
                            skills partner-status --partner gen-lyon --token-file data/policy.token"
    )]
    PartnerStatus {
        /// The partner (policy callers); a partner token reads its own.
        #[arg(long, default_value = "")]
        partner: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Regions and skills known to the service.
    #[command(after_help = "Examples:\n  skills reference\n  skills reference --format csv")]
    Reference {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Produce events to the raw Kafka topics: a JSONL file of partner
    /// events, or the synthetic data set, optionally at a fixed rate.
    #[command(
        after_help = "Examples:\n  skills send --synthetic --learners 5000 --rate 2000\n  skills send --file events.jsonl"
    )]
    Send(SendArgs),
    /// Check a file of partner events offline, with the code ingest and the
    /// gateway run: one line per event that would be refused or
    /// dead-lettered (line number, reason, field, value, message). Exits 1
    /// when there is any.
    #[command(after_help = "Examples:\n  skills validate events.jsonl\n  skills validate events.jsonl --partner \
                            gen-lyon --json\n  skills validate statements.json --xapi --partner fun-mooc")]
    Validate(ValidateArgs),
    /// Account for every raw event of a time range, per partition: counted,
    /// duplicate of a counted event, dead-lettered, or missing. Reads the
    /// raw Kafka topics and the configured store; exits 1 when unbalanced.
    #[command(after_help = "Examples:\n  skills reconcile\n  skills reconcile --since 2026-11-28T00:00:00Z --json")]
    Reconcile(ReconcileArgs),
    /// The right to erasure: forget learners of a partner. Their facts are
    /// deleted from the configured store, the cells they were in are
    /// recomputed, and none of their events counts again.
    #[command(after_help = "Examples:\n  skills forget --partner mooc-1 --learner L-123 --learner L-456")]
    Forget(ForgetArgs),
    /// Key rotation: move every stored pseudonym to a newer key version
    /// (a rotation key added to the ring), with the aggregator stopped.
    #[command(after_help = "Examples:\n  skills rekey --to 2")]
    Rekey(RekeyArgs),
    /// Recount a sample of cells from the facts and compare them with the
    /// store's read model; exits 1 on any difference, naming the cell.
    #[command(after_help = "Examples:\n  skills verify-model --from-year 2024 --to-year 2026 --sample 60")]
    VerifyModel(VerifyModelArgs),
    /// Attack the published figures of a year as a statistical office's
    /// audit does: everything an audience can obtain through every call,
    /// and for each withheld value what it gives away (differencing, and
    /// the feasible interval of each small value). Reads the configured
    /// store; exits 1 on any exact disclosure or too narrow an interval.
    #[command(
        after_help = "Examples:\n  skills disclosure-audit\n  skills disclosure-audit --audience partner:mooc-1 --year 2025"
    )]
    DisclosureAudit(DisclosureAuditArgs),
    /// Print indicator updates as they happen.
    #[command(after_help = "Examples:\n  skills watch --region 84\n  skills watch --updates 1 --format json")]
    Watch {
        /// Only this region (code or name; default: every region).
        #[arg(long, default_value = "", hide_default_value = true)]
        region: String,
        #[arg(long, default_value = "", hide_default_value = true, help = PERIOD_HELP)]
        period: String,
        /// Stop after this many updates (0: never).
        #[arg(long, default_value_t = 0)]
        updates: u64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  skills completions bash > ~/.local/share/bash-completion/completions/skills\n  \
                            skills completions zsh > ~/.zfunc/_skills"
    )]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Default, Args)]
pub struct DemoArgs {
    /// Print the report and exit instead of serving.
    #[arg(long)]
    pub once: bool,
    /// Learners in the synthetic data set (seeded only into an empty store).
    #[arg(long, default_value_t = 20_000)]
    pub learners: usize,
    /// Where the store lives (overrides data_dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Seed this file of partner events (JSON, one per line, as `skills send
    /// --file` takes) instead of the synthetic data set, into an empty store;
    /// e.g. METHODOLOGY.md's worked example, docs/methodology/example-events.jsonl.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// gRPC address (overrides query.listen; --once uses a free port).
    #[arg(long)]
    pub listen: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Address of a running skills service: http://host:port, or
    /// https://host:port for TLS.
    #[arg(long, env = "SKILLS_ADDR", default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// CA certificate (PEM) that signed the server's, for https:// (default:
    /// the system's roots).
    #[arg(long, env = "SKILLS_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Bearer token (scopes: policy, partner:<id>, public; none: the
    /// anonymous scope, public by default).
    #[arg(long, env = "SKILLS_TOKEN", hide_env_values = true, conflicts_with = "token_file")]
    pub token: Option<String>,
    /// File holding the bearer token (the demo writes its policy token to
    /// data/policy.token).
    #[arg(long, env = "SKILLS_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Output: an aligned table, JSON (the canonical protobuf mapping, as
    /// grpcurl prints it) or CSV (one row per cell, raw numbers).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl ClientArgs {
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankBy {
    /// Talent gap: openings − (certified at target + pipeline).
    Gap,
    /// Shortage ratio: openings ÷ max(1, certified at target + pipeline).
    Ratio,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// The file: JSON events one per line (as `skills send --file` sends
    /// them), or with --xapi statements (a JSON array, or one per line);
    /// `-` reads standard input.
    pub file: PathBuf,
    /// The partner sending them: an event naming another is refused
    /// (`partner_mismatch`), as the gateway refuses it.
    #[arg(long)]
    pub partner: Option<String>,
    /// The file holds xAPI statements, mapped to events as the gateway
    /// maps them (docs/xapi.md).
    #[arg(long)]
    pub xapi: bool,
    /// One JSON object per problem instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    /// Kafka bootstrap servers (overrides bus.kafka.brokers).
    #[arg(long, env = "SKILLS_KAFKA_BROKERS")]
    pub brokers: Option<String>,
    /// A file of JSON events, one per line; each goes to the topic of its
    /// kind (lines that are not events go to the enrolments topic, where
    /// ingestion dead-letters them).
    #[arg(long, conflicts_with = "synthetic")]
    pub file: Option<PathBuf>,
    /// Send the synthetic data set instead.
    #[arg(long)]
    pub synthetic: bool,
    /// Learners in the synthetic data set.
    #[arg(long, default_value_t = 1_000)]
    pub learners: usize,
    /// Number of the first synthetic learner: a send from past the last
    /// one adds new learners and events instead of repeating them.
    #[arg(long, default_value_t = 0)]
    pub first_learner: usize,
    /// Seed of the synthetic data set.
    #[arg(long, default_value_t = 2016)]
    pub seed: u64,
    /// Events per second (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Prefix for the raw topic names (tests use unique prefixes).
    #[arg(long, default_value = "")]
    pub topic_prefix: String,
}

#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    /// Kafka bootstrap servers (overrides bus.kafka.brokers).
    #[arg(long, env = "SKILLS_KAFKA_BROKERS")]
    pub brokers: Option<String>,
    /// Raw events produced at or after this time (RFC 3339; default: all).
    #[arg(long)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Raw events produced before this time (RFC 3339; default: now).
    #[arg(long)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Prefix of the raw topic names (as given to `skills send`).
    #[arg(long, default_value = "")]
    pub topic_prefix: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ForgetArgs {
    /// The partner the learner ids belong to (ids are partner-scoped).
    #[arg(long)]
    pub partner: String,
    /// A learner id as the partner sends it; repeat for several.
    #[arg(long = "learner", required = true)]
    pub learners: Vec<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RekeyArgs {
    /// The key version to move to (default: the ring's current version).
    #[arg(long)]
    pub to: Option<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct VerifyModelArgs {
    /// Calendar periods to check (months, quarters, years), at random
    /// among those of the years given; the last year is always checked.
    #[arg(long, default_value_t = 12)]
    pub sample: usize,
    /// First year to sample from (default: four years before the last).
    #[arg(long)]
    pub from_year: Option<i32>,
    /// Last year to sample from (default: this year).
    #[arg(long)]
    pub to_year: Option<i32>,
    /// Seed of the sample (default: from the clock).
    #[arg(long, default_value_t = seed_from_clock())]
    pub seed: u64,
    /// Rebuild the read model from the facts when a cell differs.
    #[arg(long)]
    pub rebuild: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DisclosureAuditArgs {
    /// Whose view: `public` or `partner:<id>`.
    #[arg(long, default_value = "public")]
    pub audience: String,
    /// The year to audit (default: the year requests without a period get,
    /// the latest complete year with data).
    #[arg(long)]
    pub year: Option<i32>,
    /// Interval protection: a withheld small value's feasible interval must
    /// be at least 2 × this percent of the value wide (and one learner).
    #[arg(long, default_value_t = 10.0)]
    pub protection_percent: f64,
    /// How many of the narrowest intervals to print.
    #[arg(long, default_value_t = 10)]
    pub narrowest: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn seed_from_clock() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every flag and argument of every command explains itself, and every
    /// command shows examples.
    #[test]
    fn every_flag_has_help_and_every_command_examples() {
        fn check(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name());
                if !sub.get_after_help().is_some_and(|text| text.to_string().contains("Examples:")) {
                    missing.push(format!("{path}: no examples"));
                }
                check(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        check(&Cli::command(), "skills", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:?}");
        Cli::command().debug_assert();
    }
}

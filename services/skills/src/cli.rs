//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "skills", version, about = "Regional digital-skills monitor: talent-gap indicators.")]
pub struct Cli {
    /// Configuration file (TOML); SKILLS__SECTION__KEY variables override it.
    #[arg(long, global = true, env = "SKILLS_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process on the embedded default, seed the demo
    /// data set if the store is empty, print the talent-gap report, and
    /// serve gRPC until Ctrl-C (the default command).
    Demo(DemoArgs),
    /// Indicators of every skill of one region.
    Gaps {
        #[arg(long)]
        region: String,
        #[arg(long, default_value = "")]
        period: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The biggest shortages across regions and skills.
    Rank {
        #[arg(long, default_value_t = 10)]
        top: u32,
        #[arg(long, value_enum, default_value_t = RankBy::Gap)]
        by: RankBy,
        #[arg(long, default_value = "")]
        region: String,
        #[arg(long, default_value = "")]
        skill: String,
        #[arg(long, default_value = "")]
        period: String,
        /// Cells per page (1..100; default: the whole ranking up to 100).
        #[arg(long, default_value_t = 0)]
        page_size: u32,
        /// The next_page_token of the previous page.
        #[arg(long, default_value = "")]
        page_token: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// One skill across all regions, with its geographic mismatch index.
    Skill {
        #[arg(long)]
        skill: String,
        #[arg(long, default_value = "")]
        period: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Who is reached in a region: inclusion shares against targets.
    Inclusion {
        #[arg(long)]
        region: String,
        #[arg(long, default_value = "")]
        period: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A region × skill over time (e.g. --from 2024-01 --to 2025-12).
    Trend {
        #[arg(long)]
        region: String,
        #[arg(long)]
        skill: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// What the pipeline has counted and dead-lettered, by reason, and how
    /// fresh it is (policy scope only).
    Status {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Regions and skills known to the service.
    Reference {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Produce events to the raw Kafka topics: a JSONL file of partner
    /// events, or the synthetic data set, optionally at a fixed rate.
    Send(SendArgs),
    /// Account for every raw event of a time range, per partition: counted,
    /// duplicate of a counted event, dead-lettered, or missing. Reads the
    /// raw Kafka topics and the configured store; exits 1 when unbalanced.
    Reconcile(ReconcileArgs),
    /// The right to erasure: forget learners of a partner. Their facts are
    /// deleted from the configured store, the cells they were in are
    /// recomputed, and none of their events counts again.
    Forget(ForgetArgs),
    /// Key rotation: move every stored pseudonym to a newer key version
    /// (a rotation key added to the ring), with the aggregator stopped.
    Rekey(RekeyArgs),
    /// Recount a sample of cells from the facts and compare them with the
    /// store's read model; exits 1 on any difference, naming the cell.
    VerifyModel(VerifyModelArgs),
    /// Attack the published figures of a year as a statistical office's
    /// audit does: everything an audience can obtain through every call,
    /// and for each withheld value what it gives away (differencing, and
    /// the feasible interval of each small value). Reads the configured
    /// store; exits 1 on any exact disclosure or too narrow an interval.
    DisclosureAudit(DisclosureAuditArgs),
    /// Print indicator updates as they happen.
    Watch {
        #[arg(long, default_value = "")]
        region: String,
        #[arg(long, default_value = "")]
        period: String,
        /// Stop after this many updates (0: never).
        #[arg(long, default_value_t = 0)]
        updates: u64,
        #[command(flatten)]
        client: ClientArgs,
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
    /// Address of a running skills service.
    #[arg(long, env = "SKILLS_ADDR", default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// Bearer token (scopes: policy, partner:<id>, public).
    #[arg(long, env = "SKILLS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankBy {
    Gap,
    Ratio,
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
    /// The year to audit (default: the year of the newest event counted).
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

//! `cargo run --release`: the embedded stack, the demo data set, the
//! talent-gap report, then serving until Ctrl-C.

use crate::cli::DemoArgs;
use crate::client::{Client, ClientError};
use crate::config::SkillsConfig;
use crate::render::{self, Table};
use crate::stack::{DEMO_PARTNER, EmbeddedStack, StackError, bind};
use chrono::Datelike;
use skills_bus::Bus;
use skills_domain::reference::REGIONS;
use skills_ingest::IngestStats;
use skills_proto::v1 as pb;
use skills_store::MetricsStore;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use thiserror::Error;

const SEED_MARK: &str = "demo_seed_learners";
const SEED: u64 = 2016;
const IDLE_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Debug, Error)]
pub enum DemoError {
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] skills_store::StoreError),
    #[error(transparent)]
    Events(#[from] crate::send::SendError),
    #[error("cannot write the policy token file: {0}")]
    TokenFile(#[from] std::io::Error),
}

pub async fn run(config: SkillsConfig, args: DemoArgs) -> Result<(), DemoError> {
    let config = match &args.data_dir {
        Some(dir) => config.in_dir(dir.clone()),
        None => config,
    };
    let address = match (&args.listen, args.once) {
        (Some(address), _) => address.clone(),
        (None, true) => "127.0.0.1:0".to_string(),
        (None, false) => config.query.listen.clone(),
    };
    let listener = bind(&address).await.map_err(|error| StackError::Listen(error.to_string()))?;
    let gateway_address = if args.once { "127.0.0.1:0" } else { config.gateway.listen.as_str() };
    let gateway = bind(gateway_address).await.map_err(|error| StackError::Listen(error.to_string()))?;
    let stack = EmbeddedStack::start_with_gateway(config.clone(), listener, Some(gateway)).await?;
    eprintln!("store: {}", config.store_path().display());
    match &args.events {
        Some(path) => seed_file_if_empty(&stack, path).await?,
        None => seed_if_empty(&stack, args.learners).await?,
    }
    let mut client = Client::connect(&stack.endpoint(), Some(stack.policy_token().to_string())).await?;
    print_report(&stack, &mut client).await?;
    if args.once {
        stack.stop().await?;
        return Ok(());
    }
    warm_every_year(&stack, &mut client).await?;
    let token_file = config.data_dir.join("policy.token");
    write_private(&token_file, stack.policy_token())?;
    let partner_file = config.data_dir.join("partner.token");
    write_private(&partner_file, stack.partner_token())?;
    println!("\nDashboard: http://{}/  (the map, the ranking and each region's page, live)", stack.address);
    println!("Serving gRPC (skills.v1.TalentGapService) on {} — Ctrl-C to stop.", stack.address);
    println!(
        "Try, in another terminal:  cargo run --release -- rank --top 10   |   cargo run --release -- gaps --region 84"
    );
    println!(
        "A policy token for this run is in {}:  cargo run --release -- status --token-file {}",
        token_file.display(),
        token_file.display()
    );
    if let Some(gateway) = stack.gateway_address {
        println!(
            "Partners publish to {gateway}: gRPC skills.v1.EventGateway, xAPI at http://{gateway}/xAPI/statements; \
             partner {DEMO_PARTNER}'s token is in {} (README: \"Sending events\").",
            partner_file.display()
        );
    }
    stack.shutdown_trigger().trigger_on_signals().await;
    let _ = std::fs::remove_file(&token_file);
    let _ = std::fs::remove_file(&partner_file);
    stack.stop().await?;
    Ok(())
}

/// Computes the publication of every year with data before serving, as
/// policy (in the foreground), so that a first look at any period — a
/// trend over two years, another year's ranking — is answered from the
/// cache instead of waiting for an anonymous caller's background turn.
async fn warm_every_year(stack: &EmbeddedStack, client: &mut Client) -> Result<(), DemoError> {
    let status = stack.store.status().await?;
    let (Some(oldest), Some(newest)) = (status.oldest_event, status.newest_event) else {
        return Ok(());
    };
    for year in oldest.year()..=newest.year() {
        client.region("11", &year.to_string()).await?;
    }
    Ok(())
}

/// Writes `text` to a file only its owner may read (a token).
fn write_private(path: &std::path::Path, text: &str) -> Result<(), DemoError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

async fn seed_if_empty(stack: &EmbeddedStack, learners: usize) -> Result<(), DemoError> {
    if let Some(seeded) = stack.store.meta(SEED_MARK).await? {
        eprintln!("store already holds the demo data set ({seeded} learners); not seeding again");
        return Ok(());
    }
    let started = Instant::now();
    let set = skills_synthetic::synthetic(learners, SEED);
    let total = set.messages.len();
    eprintln!(
        "seeding {learners} synthetic learners: {total} raw events ({} duplicates, {} invalid)…",
        set.duplicates, set.invalid
    );
    send_all(stack, set.messages).await?;
    stack.store.set_meta(SEED_MARK, learners as i64).await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded in {seconds:.1} s ({:.0} events/s through ingest and aggregation); duplicates dropped: {}",
        total as f64 / seconds,
        IngestStats::get(&stack.ingest_stats.duplicates)
    );
    Ok(())
}

/// Seeds a file of partner events, unless the store already counted or
/// dead-lettered events.
async fn seed_file_if_empty(stack: &EmbeddedStack, path: &std::path::Path) -> Result<(), DemoError> {
    let status = stack.store.status().await?;
    if status.events + status.dead_letters > 0 {
        eprintln!("store already holds {} events; not seeding {} again", status.events, path.display());
        return Ok(());
    }
    let messages = crate::send::read_jsonl(path)?;
    eprintln!("seeding {} raw events from {}…", messages.len(), path.display());
    send_all(stack, messages).await
}

/// Sends raw events through ingestion and aggregation, and waits until
/// both are idle.
async fn send_all(stack: &EmbeddedStack, messages: Vec<(&'static str, skills_bus::Message)>) -> Result<(), DemoError> {
    let total = messages.len();
    let mut by_topic: BTreeMap<&str, Vec<skills_bus::Message>> = BTreeMap::new();
    for (topic, message) in messages {
        by_topic.entry(topic).or_default().push(message);
    }
    // Topics are fed concurrently, as partners would, so no topic waits
    // on another's back-pressure.
    let mut sends = tokio::task::JoinSet::new();
    for (topic, messages) in by_topic {
        let producer = stack.bus.producer();
        sends.spawn(async move { producer.send(topic, messages).await });
    }
    // The bar follows ingest's count of events taken in.
    let progress = crate::progress::bar("seeding through ingest and aggregation", Some(total as u64));
    let ticker = tokio::spawn({
        let (progress, stats) = (progress.clone(), stack.ingest_stats.clone());
        async move {
            loop {
                progress.set_position(stats.consumed.load(std::sync::atomic::Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    while let Some(sent) = sends.join_next().await {
        let sent = sent.map_err(|e| StackError::Task { task: "seed", message: e.to_string() })?;
        sent.map_err(StackError::from)?;
    }
    let idle = stack.wait_idle(IDLE_TIMEOUT).await;
    ticker.abort();
    progress.finish_and_clear();
    idle?;
    Ok(())
}

async fn print_report(stack: &EmbeddedStack, client: &mut Client) -> Result<(), DemoError> {
    let period = skills_synthetic::DEMO_PERIOD;
    let status = stack.store.status().await?;
    let reasons = stack.store.dead_letter_reasons().await?;
    let reasons: Vec<String> = reasons.iter().map(|(reason, n)| format!("{reason} {n}")).collect();
    println!("\nREGIONAL DIGITAL-SKILLS TALENT GAP — {period} (policy view: small cells are not withheld here)");
    println!(
        "events counted: {} · dead-lettered: {}{}",
        status.events,
        status.dead_letters,
        if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) },
    );

    let top = client
        .rank(pb::RankShortagesRequest {
            period: period.into(),
            rank_by: pb::RankBy::TalentGap as i32,
            top: 10,
            ..Default::default()
        })
        .await?;
    println!("\nTop 10 shortages (talent gap = openings − (certified at target + pipeline))");
    println!("{}", render::meta_line(top.meta.as_ref()));
    print!("{}", render::cells_table(&top.cells, render::by_region_and_skill));

    println!("\nRegions — inclusion among enrolled learners, and each region's biggest gap");
    let mut table = Table::new(
        &[
            "region",
            "enrolled",
            "certified",
            "women",
            "QPV",
            "rural",
            "<26",
            "jobseekers",
            "biggest gap",
            "openings",
            "gap",
            "score",
        ],
        1,
    );
    for region in REGIONS {
        let cells = client.region(region.code, period).await?;
        let inclusion = client.inclusion(region.code, period).await?;
        let share = |group: &str| {
            render::percent(inclusion.shares.iter().find(|s| s.group == group).and_then(|s| s.share_enrolled))
        };
        let biggest = cells
            .cells
            .iter()
            .filter(|c| c.openings > 0 && c.talent_gap.is_some())
            .max_by(|a, b| a.talent_gap.unwrap_or(f64::MIN).total_cmp(&b.talent_gap.unwrap_or(f64::MIN)));
        table.row(vec![
            render::region_name(region.code),
            render::count(inclusion.enrolled),
            render::count(inclusion.certified),
            share("women"),
            share("priority_neighbourhood"),
            share("rural"),
            share("under_26"),
            share("jobseekers"),
            biggest.map_or("–".into(), |c| render::skill_name(&c.skill)),
            biggest.map_or("–".into(), |c| c.openings.to_string()),
            biggest.map_or("–".into(), |c| render::number(c.talent_gap, 0)),
            biggest.and_then(|c| c.shortage_score).map_or("–".into(), |s| s.to_string()),
        ]);
    }
    print!("{}", table.render());
    let programming = client.skill("3.4", period).await?;
    println!(
        "\nGeographic mismatch of 3.4 Programming (Duncan index, 0 = supply where the openings are): {}",
        render::number(programming.mismatch_index, 3)
    );
    Ok(())
}

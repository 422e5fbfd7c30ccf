//! `skills verify-model`: recounts a sample of cells from the facts and
//! compares them with the store's read model, field by field. A mismatch
//! is logged naming the cell and the field, counted in the output
//! (`mismatched_cells`), and makes the command exit 1.

use crate::cli::VerifyModelArgs;
use crate::config::SkillsConfig;
use chrono::{Datelike, Utc};
use skills_domain::Period;
use skills_domain::indicators::CellCounters;
use skills_domain::read_model::ALL_SKILLS;
use skills_store::{CounterWindow, MetricsStore, StoreError};
use std::collections::BTreeMap;

/// One field of one cell that differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    pub period: String,
    pub region: String,
    /// A skill code, or "*" for the whole region.
    pub skill: String,
    pub field: &'static str,
    pub model: i64,
    pub facts: i64,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Verification {
    pub windows_checked: usize,
    pub cells_checked: usize,
    pub mismatched_cells: usize,
    pub mismatches: Vec<Mismatch>,
}

pub async fn run(config: SkillsConfig, args: VerifyModelArgs) -> Result<bool, StoreError> {
    let store = skills_store::open(&config.store, &config.data_dir).await?;
    let periods = sample_periods(args.from_year, args.to_year, args.sample, args.seed);
    let verification = verify(&*store, &periods, config.indicators.pipeline_horizon_months).await?;
    if args.rebuild && verification.mismatched_cells > 0 {
        store.rebuild_read_model().await?;
        tracing::warn!("read model rebuilt from the facts");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&verification).expect("serializes"));
    } else {
        let checked: Vec<String> = periods.iter().map(Period::to_string).collect();
        println!("periods checked: {}", checked.join(" "));
        println!(
            "windows {}, cells {}, mismatched cells {}",
            verification.windows_checked, verification.cells_checked, verification.mismatched_cells
        );
        for m in &verification.mismatches {
            println!("  {} {} {}: {} model {} facts {}", m.period, m.region, m.skill, m.field, m.model, m.facts);
        }
    }
    Ok(verification.mismatched_cells == 0)
}

/// `sample` calendar periods of the years `from..=to` (default: the last
/// five years), always with the last year itself, picked by `seed`.
pub fn sample_periods(from: Option<i32>, to: Option<i32>, sample: usize, seed: u64) -> Vec<Period> {
    let to = to.unwrap_or_else(|| Utc::now().year());
    let from = from.unwrap_or(to - 4).min(to);
    let mut all: Vec<Period> = Vec::new();
    for year in from..=to {
        all.extend(Period::all_of_year(year));
    }
    let mut picked = vec![Period::Year(to)];
    let mut state = seed | 1;
    all.retain(|p| *p != Period::Year(to));
    while picked.len() < sample.max(1) && !all.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        picked.push(all.swap_remove((state % all.len() as u64) as usize));
    }
    picked.sort();
    picked
}

/// Compares the model with the facts in every cell of these periods, per
/// skill and per whole region.
pub async fn verify(
    store: &dyn MetricsStore,
    periods: &[Period],
    horizon_months: u32,
) -> Result<Verification, StoreError> {
    let mut verification = Verification::default();
    for period in periods {
        for by_skill in [true, false] {
            let window = CounterWindow::of_period(*period, horizon_months, by_skill);
            let model = by_cell(store.counters(&window).await?);
            let facts = by_cell(store.recount(&window).await?);
            verification.windows_checked += 1;
            let mut keys: Vec<_> = model.keys().chain(facts.keys()).cloned().collect();
            keys.sort();
            keys.dedup();
            for (region, skill) in keys {
                verification.cells_checked += 1;
                let empty = CellCounters::default();
                let (left, right) =
                    (model.get(&(region.clone(), skill.clone())), facts.get(&(region.clone(), skill.clone())));
                let differences: Vec<Mismatch> = fields(left.unwrap_or(&empty))
                    .into_iter()
                    .zip(fields(right.unwrap_or(&empty)))
                    .filter(|((_, a), (_, b))| a != b)
                    .map(|((field, model), (_, facts))| Mismatch {
                        period: period.to_string(),
                        region: region.clone(),
                        skill: skill.clone(),
                        field,
                        model,
                        facts,
                    })
                    .collect();
                if !differences.is_empty() {
                    for m in &differences {
                        tracing::error!(
                            period = %m.period, region = %m.region, skill = %m.skill, field = m.field,
                            model = m.model, facts = m.facts, "read model differs from the facts"
                        );
                    }
                    verification.mismatched_cells += 1;
                    verification.mismatches.extend(differences);
                }
            }
        }
    }
    Ok(verification)
}

fn by_cell(cells: Vec<CellCounters>) -> BTreeMap<(String, String), CellCounters> {
    cells.into_iter().map(|c| ((c.region.clone(), c.skill.clone().unwrap_or_else(|| ALL_SKILLS.into())), c)).collect()
}

/// Every counter of a cell, named.
fn fields(cell: &CellCounters) -> Vec<(&'static str, i64)> {
    let s = &cell.supply;
    let n = |v: u64| v as i64;
    let groups = |prefix: bool, g: &skills_domain::indicators::GroupCounts| {
        let names: [&'static str; 5] = if prefix {
            ["enrolled_women", "enrolled_priority", "enrolled_rural", "enrolled_under_26", "enrolled_jobseekers"]
        } else {
            ["certified_women", "certified_priority", "certified_rural", "certified_under_26", "certified_jobseekers"]
        };
        names.into_iter().zip([g.women, g.priority_neighbourhood, g.rural, g.under_26, g.jobseekers].map(n))
    };
    let mut all = vec![
        ("learners", n(s.learners)),
        ("enrolled", n(s.enrolled)),
        ("active", n(s.active)),
        ("active_finishing", n(s.active_finishing)),
        ("completed", n(s.completed)),
        ("dropped_out", n(s.dropped_out)),
        ("certified", n(s.certified)),
        ("certified_at_target", n(s.certified_at_target)),
        ("gain_sum", s.gain_sum),
        ("gain_learners", n(s.gain_learners)),
        ("openings", n(cell.demand.openings)),
        ("hard_to_fill", n(cell.demand.hard_to_fill)),
    ];
    all.extend(groups(true, &s.enrolled_groups));
    all.extend(groups(false, &s.certified_groups));
    all
}

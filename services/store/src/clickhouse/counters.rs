//! Counters over facts for one window, merged per cell from four queries,
//! as the embedded store does; the SQL is in `sql/clickhouse/queries/`.

use super::store_error;
use crate::{CounterWindow, StoreError};
use clickhouse::{Client, Row};
use serde::Deserialize;
use skills_domain::indicators::{CellCounters, GroupCounts};
use std::collections::BTreeMap;

const FLOWS: &str = include_str!("../../sql/clickhouse/queries/flows.sql");
const BASE: &str = include_str!("../../sql/clickhouse/queries/base.sql");
const GAINS: &str = include_str!("../../sql/clickhouse/queries/gains.sql");
const DEMAND: &str = include_str!("../../sql/clickhouse/queries/demand.sql");

use skills_domain::read_model::ALL_SKILLS;

#[derive(Row, Deserialize)]
struct FlowRow {
    region: String,
    skill: String,
    enrolled: u64,
    completed: u64,
    dropped_out: u64,
    certified: u64,
    certified_at_target: u64,
    enrolled_women: u64,
    enrolled_priority: u64,
    enrolled_rural: u64,
    enrolled_under_26: u64,
    enrolled_jobseekers: u64,
    certified_women: u64,
    certified_priority: u64,
    certified_rural: u64,
    certified_under_26: u64,
    certified_jobseekers: u64,
}

#[derive(Row, Deserialize)]
struct BaseRow {
    region: String,
    skill: String,
    learners: u64,
    active: u64,
    active_finishing: u64,
}

#[derive(Row, Deserialize)]
struct GainRow {
    region: String,
    skill: String,
    gain_sum: i64,
    gain_learners: u64,
}

#[derive(Row, Deserialize)]
struct DemandRow {
    region: String,
    skill: String,
    openings: u64,
    hard_to_fill: u64,
}

/// Codes reach SQL only after validation against the reference data; this
/// quoting is a second line of defence.
pub(super) fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

pub(crate) fn render(template: &str, db: &str, window: &CounterWindow) -> String {
    let skill_column = if window.by_skill { "skill" } else { "'*'" };
    let region_filter = window.region.as_deref().map_or("1".to_string(), |r| format!("region = {}", quoted(r)));
    let skill_filter = window.skill.as_deref().map_or("1".to_string(), |s| format!("skill = {}", quoted(s)));
    template
        .replace("{learner_kept}", "learner NOT IN (SELECT learner FROM {db}.erased_learners)")
        .replace("{db}", db)
        .replace("{skill}", skill_column)
        .replace("{start}", &window.start.timestamp().max(0).to_string())
        .replace("{end}", &window.end.timestamp().max(0).to_string())
        .replace("{year_end}", &window.year_end().timestamp().max(0).to_string())
        .replace("{horizon}", &window.horizon_end.timestamp().max(0).to_string())
        .replace("{region_filter}", &region_filter)
        .replace("{skill_filter}", &skill_filter)
}

impl FlowRow {
    fn enrolled_groups(&self) -> GroupCounts {
        GroupCounts {
            women: self.enrolled_women,
            priority_neighbourhood: self.enrolled_priority,
            rural: self.enrolled_rural,
            under_26: self.enrolled_under_26,
            jobseekers: self.enrolled_jobseekers,
        }
    }

    fn certified_groups(&self) -> GroupCounts {
        GroupCounts {
            women: self.certified_women,
            priority_neighbourhood: self.certified_priority,
            rural: self.certified_rural,
            under_26: self.certified_under_26,
            jobseekers: self.certified_jobseekers,
        }
    }
}

type Cells = BTreeMap<(String, String), CellCounters>;

fn cell<'a>(cells: &'a mut Cells, region: &str, skill: &str) -> &'a mut CellCounters {
    cells.entry((region.to_string(), skill.to_string())).or_insert_with(|| CellCounters {
        region: region.to_string(),
        skill: (skill != ALL_SKILLS).then(|| skill.to_string()),
        ..Default::default()
    })
}

pub(super) async fn counters(
    client: &Client,
    db: &str,
    window: &CounterWindow,
) -> Result<Vec<CellCounters>, StoreError> {
    let mut cells = Cells::new();
    let flows: Vec<FlowRow> = client.query(&render(FLOWS, db, window)).fetch_all().await.map_err(store_error)?;
    for row in flows {
        let (enrolled_groups, certified_groups) = (row.enrolled_groups(), row.certified_groups());
        let supply = &mut cell(&mut cells, &row.region, &row.skill).supply;
        supply.enrolled = row.enrolled;
        supply.completed = row.completed;
        supply.dropped_out = row.dropped_out;
        supply.certified = row.certified;
        supply.certified_at_target = row.certified_at_target;
        supply.enrolled_groups = enrolled_groups;
        supply.certified_groups = certified_groups;
    }
    let base: Vec<BaseRow> = client.query(&render(BASE, db, window)).fetch_all().await.map_err(store_error)?;
    for row in base {
        let supply = &mut cell(&mut cells, &row.region, &row.skill).supply;
        supply.learners = row.learners;
        supply.active = row.active;
        supply.active_finishing = row.active_finishing;
    }
    let gains: Vec<GainRow> = client.query(&render(GAINS, db, window)).fetch_all().await.map_err(store_error)?;
    for row in gains {
        let supply = &mut cell(&mut cells, &row.region, &row.skill).supply;
        supply.gain_sum = row.gain_sum;
        supply.gain_learners = row.gain_learners;
    }
    if window.by_skill {
        let demand: Vec<DemandRow> =
            client.query(&render(DEMAND, db, window)).fetch_all().await.map_err(store_error)?;
        for row in demand {
            let counters = &mut cell(&mut cells, &row.region, &row.skill).demand;
            counters.openings = row.openings;
            counters.hard_to_fill = row.hard_to_fill;
        }
    }
    Ok(cells.into_values().collect())
}

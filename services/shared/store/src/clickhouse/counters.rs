//! Counters over facts for one window, merged per cell from four queries,
//! as the embedded store does; the SQL is in `sql/clickhouse/queries/`.

use super::store_error;
use crate::{CounterWindow, StoreError};
use clickhouse::{Client, Row};
use serde::Deserialize;
use skills_domain::indicators::{CellCounters, GroupCounts, PartnerCell};
use std::collections::BTreeMap;

const FLOWS: &str = include_str!("../../sql/clickhouse/queries/flows.sql");
const BASE: &str = include_str!("../../sql/clickhouse/queries/base.sql");
const GAINS: &str = include_str!("../../sql/clickhouse/queries/gains.sql");
const DEMAND: &str = include_str!("../../sql/clickhouse/queries/demand.sql");

use skills_domain::read_model::ALL_SKILLS;

#[derive(Row, Deserialize)]
struct FlowRow {
    part: String,
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
    part: String,
    region: String,
    skill: String,
    learners: u64,
    active: u64,
    active_finishing: u64,
}

#[derive(Row, Deserialize)]
struct GainRow {
    part: String,
    region: String,
    skill: String,
    gain_sum: i64,
    gain_learners: u64,
}

#[derive(Row, Deserialize)]
struct DemandRow {
    part: String,
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

/// Whose parts a count splits a cell into.
#[derive(Debug, Clone, Copy)]
pub(super) enum Parts<'a> {
    /// None: one part per cell, the cell.
    Whole,
    /// Each partner's (from the event's partner in applied_events), or one partner's.
    Partners(Option<&'a str>),
}

fn render(template: &str, db: &str, window: &CounterWindow, parts: Parts) -> String {
    let (part, join, partner_filter) = match parts {
        Parts::Whole => ("''".to_string(), String::new(), "1".to_string()),
        Parts::Partners(partner) => (
            "event_partner".to_string(),
            "INNER JOIN (SELECT event_id, any(partner_id) AS event_partner FROM {db}.applied_events \
             WHERE occurred_at < toDateTime({end}) GROUP BY event_id) AS source USING (event_id)"
                .to_string(),
            partner.map_or("1".to_string(), |p| format!("event_partner = {}", quoted(p))),
        ),
    };
    let template =
        template.replace("{partner_join}", &join).replace("{part}", &part).replace("{partner_filter}", &partner_filter);
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

/// Cells by (part, region, skill).
type Cells = BTreeMap<(String, String, String), CellCounters>;

fn cell<'a>(cells: &'a mut Cells, part: &str, region: &str, skill: &str) -> &'a mut CellCounters {
    cells.entry((part.to_string(), region.to_string(), skill.to_string())).or_insert_with(|| CellCounters {
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
    Ok(count(client, db, window, Parts::Whole).await?.into_values().collect())
}

/// Each partner's part of the cells (pseudonyms are partner-scoped, so
/// the parts of a cell add up to it).
pub(super) async fn partner_counters(
    client: &Client,
    db: &str,
    window: &CounterWindow,
    partner: Option<&str>,
) -> Result<Vec<PartnerCell>, StoreError> {
    let cells = count(client, db, window, Parts::Partners(partner)).await?;
    Ok(cells.into_iter().map(|((partner, _, _), counters)| PartnerCell { partner, counters }).collect())
}

async fn count(client: &Client, db: &str, window: &CounterWindow, parts: Parts<'_>) -> Result<Cells, StoreError> {
    let render = |template: &str| render(template, db, window, parts);
    let mut cells = Cells::new();
    let flows: Vec<FlowRow> = client.query(&render(FLOWS)).fetch_all().await.map_err(store_error)?;
    for row in flows {
        let (enrolled_groups, certified_groups) = (row.enrolled_groups(), row.certified_groups());
        let supply = &mut cell(&mut cells, &row.part, &row.region, &row.skill).supply;
        supply.enrolled = row.enrolled;
        supply.completed = row.completed;
        supply.dropped_out = row.dropped_out;
        supply.certified = row.certified;
        supply.certified_at_target = row.certified_at_target;
        supply.enrolled_groups = enrolled_groups;
        supply.certified_groups = certified_groups;
    }
    let base: Vec<BaseRow> = client.query(&render(BASE)).fetch_all().await.map_err(store_error)?;
    for row in base {
        let supply = &mut cell(&mut cells, &row.part, &row.region, &row.skill).supply;
        supply.learners = row.learners;
        supply.active = row.active;
        supply.active_finishing = row.active_finishing;
    }
    let gains: Vec<GainRow> = client.query(&render(GAINS)).fetch_all().await.map_err(store_error)?;
    for row in gains {
        let supply = &mut cell(&mut cells, &row.part, &row.region, &row.skill).supply;
        supply.gain_sum = row.gain_sum;
        supply.gain_learners = row.gain_learners;
    }
    if window.by_skill {
        let demand: Vec<DemandRow> = client.query(&render(DEMAND)).fetch_all().await.map_err(store_error)?;
        for row in demand {
            let counters = &mut cell(&mut cells, &row.part, &row.region, &row.skill).demand;
            counters.openings = row.openings;
            counters.hard_to_fill = row.hard_to_fill;
        }
    }
    Ok(cells)
}

//! Counters over facts for one window, merged per cell from four queries
//! (flows, learner base and active stock, proficiency gains, demand).

use crate::{CounterWindow, StoreError};
use rusqlite::{Connection, Row, ToSql};
use skills_domain::indicators::{CellCounters, GroupCounts};
use std::collections::BTreeMap;

const FLOWS: &str = include_str!("../../sql/sqlite/queries/flows.sql");
const BASE: &str = include_str!("../../sql/sqlite/queries/base.sql");
const GAINS: &str = include_str!("../../sql/sqlite/queries/gains.sql");
const DEMAND: &str = include_str!("../../sql/sqlite/queries/demand.sql");

/// Whole-region rows use this in place of a skill code.
use skills_domain::read_model::ALL_SKILLS;

type Cells = BTreeMap<(String, String), CellCounters>;

pub(super) fn counters(connection: &Connection, window: &CounterWindow) -> Result<Vec<CellCounters>, StoreError> {
    let (skill_column, skill_of_final) = if window.by_skill { ("skill", "f.skill") } else { ("'*'", "'*'") };
    let params: [&dyn ToSql; 5] = [
        &window.start.timestamp(),
        &window.end.timestamp(),
        &window.horizon_end.timestamp(),
        &window.region,
        &window.skill,
    ];
    let year_end = window.year_end().timestamp();
    let flow_params: [&dyn ToSql; 6] = [params[0], params[1], params[2], params[3], params[4], &year_end];
    let mut cells = Cells::new();
    let sql = |template: &str| template.replace("{skill}", skill_column).replace("{skill_of_f}", skill_of_final);

    each_row(connection, &sql(FLOWS), &flow_params, |row| {
        let cell = cell_for(&mut cells, row)?;
        let supply = &mut cell.supply;
        supply.enrolled = row.get(2)?;
        supply.completed = row.get(3)?;
        supply.dropped_out = row.get(4)?;
        supply.certified = row.get(5)?;
        supply.certified_at_target = row.get(6)?;
        supply.enrolled_groups = groups(row, 7)?;
        supply.certified_groups = groups(row, 12)?;
        Ok(())
    })?;
    each_row(connection, &sql(BASE), &params, |row| {
        let cell = cell_for(&mut cells, row)?;
        cell.supply.learners = row.get(2)?;
        cell.supply.active = row.get(3)?;
        cell.supply.active_finishing = row.get(4)?;
        Ok(())
    })?;
    each_row(connection, &sql(GAINS), &params, |row| {
        let cell = cell_for(&mut cells, row)?;
        cell.supply.gain_sum = row.get(2)?;
        cell.supply.gain_learners = row.get(3)?;
        Ok(())
    })?;
    if window.by_skill {
        each_row(connection, &sql(DEMAND), &params, |row| {
            let cell = cell_for(&mut cells, row)?;
            cell.demand.openings = row.get(2)?;
            cell.demand.hard_to_fill = row.get(3)?;
            Ok(())
        })?;
    }
    Ok(cells.into_values().collect())
}

fn each_row(
    connection: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    mut on_row: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
) -> Result<(), StoreError> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    while let Some(row) = rows.next()? {
        on_row(row)?;
    }
    Ok(())
}

fn cell_for<'a>(cells: &'a mut Cells, row: &Row<'_>) -> rusqlite::Result<&'a mut CellCounters> {
    let region: String = row.get(0)?;
    let skill: String = row.get(1)?;
    Ok(cells.entry((region.clone(), skill.clone())).or_insert_with(|| CellCounters {
        region,
        skill: (skill != ALL_SKILLS).then_some(skill),
        ..Default::default()
    }))
}

fn groups(row: &Row<'_>, first: usize) -> rusqlite::Result<GroupCounts> {
    Ok(GroupCounts {
        women: row.get(first)?,
        priority_neighbourhood: row.get(first + 1)?,
        rural: row.get(first + 2)?,
        under_26: row.get(first + 3)?,
        jobseekers: row.get(first + 4)?,
    })
}

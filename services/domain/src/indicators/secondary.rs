//! Secondary (complementary) suppression. Primary suppression withholds a
//! cell built on fewer than k learners; but a served total minus the
//! visible cells would give a lone withheld cell back. The query service
//! serves two kinds of totals:
//! - a region's figures over all skills (GetInclusion) against the region's
//!   cells of the same period (a *region row*);
//! - a year's cell against the same cell per quarter or month of that year
//!   (a *time row*: GetTrend next to a yearly call).
//!
//! So whenever a row holds exactly one withheld cell, the smallest other
//! non-empty cell of that row is withheld too, and this repeats over both
//! kinds of rows until nothing changes. Every row then hides nothing or at
//! least two cells, and a difference yields only their sum. Empty cells
//! reveal nothing and are never withheld. The choice is deterministic
//! (fewest learners, then region and skill, then period), so every call
//! withholds the same cells.

use super::suppression::is_suppressed;
use std::collections::{BTreeMap, HashSet};

/// One cell of a year's grid: which period of the year (0 for the year
/// itself, else the quarter or month index), region, skill, learners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridCell {
    pub period: usize,
    pub region: String,
    pub skill: String,
    pub learners: u64,
}

/// Indices of the cells to withhold under `k`: primary, then secondary.
pub fn withheld_cells(cells: &[GridCell], k: u32) -> HashSet<usize> {
    let mut withheld: HashSet<usize> = (0..cells.len()).filter(|&i| is_suppressed(cells[i].learners, k)).collect();
    if withheld.is_empty() {
        return withheld;
    }
    let mut region_rows: BTreeMap<(usize, &str), Vec<usize>> = BTreeMap::new();
    let mut time_rows: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (index, cell) in cells.iter().enumerate() {
        region_rows.entry((cell.period, &cell.region)).or_default().push(index);
        time_rows.entry((&cell.region, &cell.skill)).or_default().push(index);
    }
    let rows: Vec<&Vec<usize>> = region_rows.values().chain(time_rows.values()).collect();
    loop {
        let mut changed = false;
        for row in &rows {
            if row.iter().filter(|i| withheld.contains(i)).count() != 1 {
                continue;
            }
            let partner = row
                .iter()
                .copied()
                .filter(|i| !withheld.contains(i) && cells[*i].learners > 0)
                .min_by_key(|&i| (cells[i].learners, &cells[i].region, &cells[i].skill, cells[i].period));
            if let Some(partner) = partner {
                withheld.insert(partner);
                changed = true;
            }
        }
        if !changed {
            return withheld;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn grid(rows: &[(usize, &str, &str, u64)]) -> Vec<GridCell> {
        rows.iter()
            .map(|(period, region, skill, learners)| GridCell {
                period: *period,
                region: region.to_string(),
                skill: skill.to_string(),
                learners: *learners,
            })
            .collect()
    }

    #[test]
    fn a_lone_small_cell_takes_the_next_smallest_of_its_row_with_it() {
        let cells = grid(&[(0, "84", "3.4", 4), (0, "84", "5.1", 30), (0, "84", "1.1", 12), (0, "84", "2.1", 0)]);
        let withheld = withheld_cells(&cells, 11);
        assert_eq!(withheld, HashSet::from([0, 2]), "4 < k, then 12 (the empty cell reveals nothing)");
        assert!(withheld_cells(&cells[1..2], 11).is_empty(), "nothing small, nothing withheld");
    }

    #[test]
    fn time_rows_and_region_rows_are_completed_together() {
        // Quarter 1 of 84 × 3.4 is small. Its time row takes quarter 2 of
        // the same cell; that leaves quarter 2's region row with one
        // withheld cell, which takes 84 × 5.1 of quarter 2.
        let cells = grid(&[
            (1, "84", "3.4", 3),
            (2, "84", "3.4", 20),
            (3, "84", "3.4", 40),
            (1, "84", "5.1", 50),
            (2, "84", "5.1", 25),
            (3, "84", "5.1", 60),
        ]);
        let withheld = withheld_cells(&cells, 11);
        assert!(withheld.contains(&0) && withheld.contains(&1), "the small quarter and its time partner");
        assert!(withheld.contains(&3) && withheld.contains(&4), "each quarter row completed: {withheld:?}");
    }

    /// Whether two cells share a region row or a time row.
    type SameRow = fn(&GridCell, &GridCell) -> bool;

    fn arbitrary_grid() -> impl Strategy<Value = Vec<GridCell>> {
        proptest::collection::vec((0usize..4, 0usize..3, 0usize..4, 0u64..30), 1..40).prop_map(|cells| {
            let mut seen = HashSet::new();
            cells
                .into_iter()
                .filter(|(p, r, s, _)| seen.insert((*p, *r, *s)))
                .map(|(period, r, s, learners)| GridCell {
                    period,
                    region: format!("r{r}"),
                    skill: format!("s{s}"),
                    learners,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn no_row_gives_back_a_lone_withheld_cell(cells in arbitrary_grid(), k in 1u32..15) {
            let withheld = withheld_cells(&cells, k);
            for (i, cell) in cells.iter().enumerate() {
                if is_suppressed(cell.learners, k) {
                    prop_assert!(withheld.contains(&i), "primary suppression always applies");
                }
                if withheld.contains(&i) {
                    prop_assert!(cell.learners > 0, "empty cells are never withheld");
                }
            }
            let rows: [SameRow; 2] = [
                |a, b| a.period == b.period && a.region == b.region,
                |a, b| a.region == b.region && a.skill == b.skill,
            ];
            for same_row in rows {
                for (i, cell) in cells.iter().enumerate() {
                    let row: Vec<usize> = (0..cells.len()).filter(|j| same_row(cell, &cells[*j])).collect();
                    let hidden = row.iter().filter(|j| withheld.contains(j)).count();
                    let others_shown = row.iter().any(|j| !withheld.contains(j) && cells[*j].learners > 0);
                    prop_assert!(
                        hidden != 1 || !others_shown,
                        "row of cell {i} hides exactly one cell while others are shown"
                    );
                }
            }
        }
    }
}

//! Every figure one year's publication shows, as sums of leaves. A figure is
//! a region × skill cell, a region's total over its skills, the country's
//! figure per skill, or an inclusion group of a region's learners; each for
//! a month, a quarter or the year.
//!
//! Its values fall into three families, each with its own leaves:
//! - **flows** (learners, enrolled, completed, dropped out, certified,
//!   gains): leaves are region × skill × month, and a quarter or a year is
//!   the sum of its months, a region total the sum of its skills, the
//!   country the sum of its regions. Distinct learners are not exactly
//!   additive (a learner active in two months counts once in the quarter),
//!   so the sums are the relations an attacker would assume; reality only
//!   adds uncertainty to them.
//! - **stocks** (active, finishing within the horizon): measured at the end
//!   of the period, so a quarter's stock *is* its last month's, and the
//!   year's is December's. Leaves are region × skill × month end.
//! - **groups** (enrolled and certified members of an inclusion group, per
//!   region): leaves are region × group × month.
//!
//! A leaf whose month figure has no contributor is zero in every value and
//! is shown as such (an empty figure is never withheld), so it is left out
//! of every sum: anyone can subtract it.

use super::Figure;
use crate::Period;
use crate::indicators::{CellCounters, INCLUSION_GROUPS, PartnerCell, SupplyCounters};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The region or skill code of a figure over all of them.
pub const ALL: &str = "*";

/// Which figure: period, region (or `ALL`: the country), skill (or `ALL`:
/// every skill), and for a group figure the group's index in
/// `INCLUSION_GROUPS` (then the skill is `ALL`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FigureKey {
    pub period: Period,
    pub region: String,
    pub skill: String,
    pub group: Option<usize>,
}

impl FigureKey {
    pub fn cell(period: Period, region: &str, skill: &str) -> FigureKey {
        FigureKey { period, region: region.to_string(), skill: skill.to_string(), group: None }
    }

    pub fn group(period: Period, region: &str, group: usize) -> FigureKey {
        FigureKey { period, region: region.to_string(), skill: ALL.to_string(), group: Some(group) }
    }
}

/// What the store holds for one year: for each of its 17 periods, the
/// region × skill cells (skill set) and whole-region rows (skill None),
/// and each partner's part of them (empty when the store keeps none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YearCounters {
    pub cells: BTreeMap<Period, Vec<CellCounters>>,
    pub regions: BTreeMap<Period, Vec<CellCounters>>,
    pub partner_cells: BTreeMap<Period, Vec<PartnerCell>>,
    pub partner_regions: BTreeMap<Period, Vec<PartnerCell>>,
}

/// The largest single partner's part of each figure: its contributors
/// (cells, totals, the country) or its members among the enrolled and the
/// certified (groups).
fn largest_partner_parts(year: i32, counters: &YearCounters) -> HashMap<FigureKey, [u64; 2]> {
    let mut largest: HashMap<FigureKey, [u64; 2]> = HashMap::new();
    let mut keep = |key: FigureKey, parts: [u64; 2]| {
        let entry = largest.entry(key).or_default();
        for (best, part) in entry.iter_mut().zip(parts) {
            *best = (*best).max(part);
        }
    };
    for period in Period::all_of_year(year) {
        let mut national: BTreeMap<(&str, &str), SupplyCounters> = BTreeMap::new();
        for part in counters.partner_cells.get(&period).into_iter().flatten() {
            let skill = part.counters.skill.as_deref().unwrap_or(ALL);
            keep(FigureKey::cell(period, &part.counters.region, skill), [part.counters.supply.contributors(), 0]);
            *national.entry((skill, part.partner.as_str())).or_default() += &part.counters.supply;
        }
        for ((skill, _), supply) in national {
            keep(FigureKey::cell(period, ALL, skill), [supply.contributors(), 0]);
        }
        for part in counters.partner_regions.get(&period).into_iter().flatten() {
            let region = &part.counters.region;
            keep(FigureKey::cell(period, region, ALL), [part.counters.supply.contributors(), 0]);
            for group in 0..INCLUSION_GROUPS.len() {
                keep(FigureKey::group(period, region, group), group_counts(&part.counters.supply, group));
            }
        }
    }
    largest
}

pub const FAMILIES: [&str; 3] = ["flows", "stocks", "groups"];

/// The values of a figure that suppression protects and the audit
/// attacks, with the family each belongs to.
pub const VARIABLES: [(&str, usize); 9] = [
    ("learners", 0),
    ("enrolled", 0),
    ("completed", 0),
    ("dropped_out", 0),
    ("certified", 0),
    ("active", 1),
    ("finishing", 1),
    ("group_enrolled", 2),
    ("group_certified", 2),
];

/// One figure of the year, with its counters (group figures: the region's
/// row) and its leaves in each family.
#[derive(Debug, Clone)]
pub struct YearFigure {
    pub key: FigureKey,
    pub supply: SupplyCounters,
    pub contributors: u64,
    /// Small (0 < contributors < k, or so once its largest partner's part
    /// is taken out): withheld for itself.
    pub primary: bool,
    pub leaves: [Vec<u32>; 3],
}

/// The year's figures in a fixed order (periods, then regions, skills, groups).
#[derive(Debug, Clone, Default)]
pub struct Hierarchy {
    pub figures: Vec<YearFigure>,
    pub index: HashMap<FigureKey, usize>,
    /// Leaves per family.
    pub widths: [usize; 3],
    /// Per partner and variable, the leaves whose value is all that
    /// partner's own (no other partner's learner in it): the partner knows
    /// those values exactly.
    pub known_to: BTreeMap<String, Vec<HashSet<u32>>>,
}

/// The country's counters per skill: the sum of its regions' cells (a
/// learner in two regions counts in each, as in the region figures).
pub fn national(cells: &[CellCounters]) -> Vec<CellCounters> {
    let mut by_skill: BTreeMap<&str, SupplyCounters> = BTreeMap::new();
    let mut demand: BTreeMap<&str, crate::indicators::DemandCounters> = BTreeMap::new();
    for cell in cells {
        let Some(skill) = cell.skill.as_deref() else { continue };
        *by_skill.entry(skill).or_default() += &cell.supply;
        *demand.entry(skill).or_default() += &cell.demand;
    }
    by_skill
        .into_iter()
        .map(|(skill, supply)| CellCounters {
            region: ALL.to_string(),
            skill: Some(skill.to_string()),
            supply,
            demand: demand.get(skill).copied().unwrap_or_default(),
        })
        .collect()
}

/// A group figure's two counts, enrolled and certified at target.
pub fn group_counts(supply: &SupplyCounters, group: usize) -> [u64; 2] {
    [supply.enrolled_groups.in_order()[group], supply.certified_groups.in_order()[group]]
}

fn is_primary(count: u64, k: u32) -> bool {
    count > 0 && count < u64::from(k)
}

/// The k rule on a count and on what is left of it without its largest
/// partner's part: that partner, subtracting its own learners, must not
/// find between 1 and k − 1 learners of other partners.
fn is_small(count: u64, largest_part: u64, k: u32) -> bool {
    is_primary(count, k) || is_primary(count.saturating_sub(largest_part), k)
}

/// Leaf numbering of one family: a key per non-empty leaf.
#[derive(Default)]
struct Leaves<K: std::hash::Hash + Eq> {
    index: HashMap<K, u32>,
}

impl<K: std::hash::Hash + Eq> Leaves<K> {
    fn add(&mut self, key: K) {
        let next = self.index.len() as u32;
        self.index.entry(key).or_insert(next);
    }

    fn of(&self, keys: impl IntoIterator<Item = K>) -> Vec<u32> {
        let mut leaves: Vec<u32> = keys.into_iter().filter_map(|key| self.index.get(&key).copied()).collect();
        leaves.sort_unstable();
        leaves
    }
}

impl YearFigure {
    /// Whether `variable` is a value of this figure: group figures have
    /// the group variables, the others the rest.
    pub fn has(&self, variable: usize) -> bool {
        self.key.group.is_some() == (VARIABLES[variable].1 == 2)
    }

    /// The figure's true value of `variable` (0 when it has no such value).
    pub fn value(&self, variable: usize) -> u64 {
        if !self.has(variable) {
            return 0;
        }
        let s = &self.supply;
        match (variable, self.key.group) {
            (7, Some(g)) => s.enrolled_groups.in_order()[g],
            (8, Some(g)) => s.certified_groups.in_order()[g],
            (0, _) => self.contributors,
            (1, _) => s.enrolled,
            (2, _) => s.completed,
            (3, _) => s.dropped_out,
            (4, _) => s.certified_at_target,
            (5, _) => s.active,
            (6, _) => s.active_finishing,
            _ => 0,
        }
    }
}

impl Hierarchy {
    /// The year's figures under `k`; `year` names the year the counters are of.
    pub fn of_year(year: i32, counters: &YearCounters, k: u32) -> Hierarchy {
        let months: Vec<Period> = (1..=12).map(|m| Period::Month(year, m)).collect();
        let empty = Vec::new();
        let cells_of = |period: Period| counters.cells.get(&period).unwrap_or(&empty);
        let regions_of = |period: Period| counters.regions.get(&period).unwrap_or(&empty);

        // Leaves: the non-empty month cells, and the groups of non-empty
        // region months.
        let mut cell_leaves: Leaves<(&str, &str, usize)> = Leaves::default();
        let mut group_leaves: Leaves<(&str, usize, usize)> = Leaves::default();
        for (m, month) in months.iter().enumerate() {
            for cell in cells_of(*month).iter().filter(|c| c.supply.contributors() > 0) {
                cell_leaves.add((&cell.region, cell.skill.as_deref().unwrap_or(ALL), m));
            }
            for row in regions_of(*month) {
                for group in 0..INCLUSION_GROUPS.len() {
                    if group_counts(&row.supply, group).iter().any(|c| *c > 0) {
                        group_leaves.add((&row.region, group, m));
                    }
                }
            }
        }
        // Which cells each region and skill has in the year (any period).
        let mut skills_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut regions_with: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for &(region, skill, _) in cell_leaves.index.keys() {
            skills_of.entry(region).or_default().push(skill);
            regions_with.entry(skill).or_default().push(region);
        }
        for list in skills_of.values_mut().chain(regions_with.values_mut()) {
            list.sort_unstable();
            list.dedup();
        }

        let largest = largest_partner_parts(year, counters);
        let largest_of = |key: &FigureKey| largest.get(key).copied().unwrap_or_default();
        let mut figures = Vec::new();
        for period in Period::all_of_year(year) {
            let in_period: Vec<usize> = months
                .iter()
                .enumerate()
                .filter(|(_, m)| m.start() >= period.start() && m.end() <= period.end())
                .map(|(i, _)| i)
                .collect();
            let last = *in_period.last().expect("a period has months");
            let national = national(cells_of(period));
            let cells = cells_of(period).iter().chain(&national);
            for cell in cells {
                let skill = cell.skill.as_deref().unwrap_or(ALL);
                let regions: Vec<&str> = if cell.region == ALL {
                    regions_with.get(skill).cloned().unwrap_or_default()
                } else {
                    vec![&cell.region]
                };
                let flows = cell_leaves.of(regions.iter().flat_map(|r| in_period.iter().map(move |m| (*r, skill, *m))));
                let stocks = cell_leaves.of(regions.iter().map(|r| (*r, skill, last)));
                let key = FigureKey::cell(period, &cell.region, skill);
                let largest = largest_of(&key)[0];
                figures.push(Self::figure(key, cell.supply, k, largest, [flows, stocks, Vec::new()]));
            }
            for row in regions_of(period) {
                let skills = skills_of.get(row.region.as_str()).cloned().unwrap_or_default();
                let flows = cell_leaves
                    .of(skills.iter().flat_map(|s| in_period.iter().map(move |m| (row.region.as_str(), *s, *m))));
                let stocks = cell_leaves.of(skills.iter().map(|s| (row.region.as_str(), *s, last)));
                let key = FigureKey::cell(period, &row.region, ALL);
                let largest = largest_of(&key)[0];
                figures.push(Self::figure(key, row.supply, k, largest, [flows, stocks, Vec::new()]));
                for group in 0..INCLUSION_GROUPS.len() {
                    let counts = group_counts(&row.supply, group);
                    let leaves = group_leaves.of(in_period.iter().map(|m| (row.region.as_str(), group, *m)));
                    let key = FigureKey::group(period, &row.region, group);
                    let largest = largest_of(&key);
                    figures.push(YearFigure {
                        primary: counts.iter().zip(largest).any(|(c, l)| is_small(*c, l, k)),
                        key,
                        supply: row.supply,
                        contributors: counts.iter().sum(),
                        leaves: [Vec::new(), Vec::new(), leaves],
                    });
                }
            }
        }
        let index: HashMap<FigureKey, usize> = figures.iter().enumerate().map(|(i, f)| (f.key.clone(), i)).collect();
        let widths = [cell_leaves.index.len(), cell_leaves.index.len(), group_leaves.index.len()];
        // A partner's part of a leaf, valued as the month figure is.
        let mut known_to: BTreeMap<String, Vec<HashSet<u32>>> = BTreeMap::new();
        let mut know = |partner: &str, variable: usize, leaf: u32| {
            let sets = known_to.entry(partner.to_string()).or_insert_with(|| vec![HashSet::new(); VARIABLES.len()]);
            sets[variable].insert(leaf);
        };
        let month_value = |key: FigureKey, variable: usize| index.get(&key).map(|&i| figures[i].value(variable));
        for (m, month) in months.iter().enumerate() {
            for part in counters.partner_cells.get(month).into_iter().flatten() {
                let skill = part.counters.skill.as_deref().unwrap_or(ALL);
                let Some(&leaf) = cell_leaves.index.get(&(part.counters.region.as_str(), skill, m)) else { continue };
                let key = FigureKey::cell(*month, &part.counters.region, skill);
                let own = Self::figure(key.clone(), part.counters.supply, k, 0, Default::default());
                for variable in (0..VARIABLES.len()).filter(|&v| own.has(v) && own.value(v) > 0) {
                    if month_value(key.clone(), variable) == Some(own.value(variable)) {
                        know(&part.partner, variable, leaf);
                    }
                }
            }
            for part in counters.partner_regions.get(month).into_iter().flatten() {
                for group in 0..INCLUSION_GROUPS.len() {
                    let Some(&leaf) = group_leaves.index.get(&(part.counters.region.as_str(), group, m)) else {
                        continue;
                    };
                    let key = FigureKey::group(*month, &part.counters.region, group);
                    let own = group_counts(&part.counters.supply, group);
                    for (variable, own) in [7, 8].into_iter().zip(own) {
                        if own > 0 && month_value(key.clone(), variable) == Some(own) {
                            know(&part.partner, variable, leaf);
                        }
                    }
                }
            }
        }
        Hierarchy { figures, index, widths, known_to }
    }

    fn figure(key: FigureKey, supply: SupplyCounters, k: u32, largest_part: u64, leaves: [Vec<u32>; 3]) -> YearFigure {
        let contributors = supply.contributors();
        YearFigure { key, supply, contributors, primary: is_small(contributors, largest_part, k), leaves }
    }

    /// The figures of one family, for `withhold` and `determined`: a figure
    /// is primary in the family its values belong to.
    pub fn family(&self, family: usize) -> Vec<Figure> {
        self.figures
            .iter()
            .map(|f| Figure {
                leaves: f.leaves[family].clone(),
                primary: f.primary && (f.key.group.is_some() == (family == 2)),
                weight: f.contributors,
            })
            .collect()
    }

    /// Which figures to withhold: primary ones, and secondary ones so that
    /// no primary value is a linear combination of shown values, variable
    /// by variable (`super::Decider`). Counts are not negative, so a shown
    /// 0, or shown values that leave 0 for a set of withheld ones, tell
    /// that every leaf under them is 0: every leaf whose value of a
    /// variable is 0 is taken as known for that variable, as if every zero
    /// were shown, which can only withhold more. (So a small figure whose
    /// values of a family are all 0 is not protected from being found 0:
    /// zeros are not protected.) Group figures are decided last, and a
    /// withheld region total takes its groups with it (their shares would
    /// need its counts).
    pub fn withhold(&self) -> Vec<bool> {
        let mut order: Vec<usize> = (0..self.figures.len()).filter(|&i| !self.figures[i].primary).collect();
        order.sort_by_key(|&i| {
            (self.figures[i].key.group.is_some(), std::cmp::Reverse(self.figures[i].contributors), i)
        });
        let mut withheld: Vec<bool> = self.figures.iter().map(|f| f.primary).collect();
        self.publish_in_order(&mut self.decider(None), &order, &mut withheld);
        // A partner knows the values that are all its own: against each
        // partner, those count as known too (as zeros do). Each partner's
        // pass starts from the decision above, on its own, so the passes
        // run side by side and the result does not depend on their order;
        // a figure any pass refuses is withheld (showing less than a safe
        // set is safe).
        let partners: Vec<&String> = self.known_to.keys().collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(partners.len()).max(1);
        let (global, order) = (&withheld, &order);
        let refused: Vec<Vec<bool>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let mine: Vec<&String> = partners.iter().skip(t).step_by(threads).copied().collect();
                    scope.spawn(move || {
                        let mut refused = vec![false; global.len()];
                        for partner in mine {
                            let mut pass = global.clone();
                            self.publish_in_order(&mut self.decider(Some(partner)), order, &mut pass);
                            refused.iter_mut().zip(pass).for_each(|(r, w)| *r |= w);
                        }
                        refused
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a suppression pass panicked")).collect()
        });
        for pass in refused {
            withheld.iter_mut().zip(pass).for_each(|(w, r)| *w |= r);
        }
        withheld
    }

    /// Offers the figures not yet withheld, in `order`, to `decider`;
    /// those it refuses become withheld.
    fn publish_in_order(&self, decider: &mut super::Decider, order: &[usize], withheld: &mut [bool]) {
        for &index in order {
            if withheld[index] {
                continue;
            }
            let figure = &self.figures[index];
            if figure.key.group.is_some() {
                let total = FigureKey::cell(figure.key.period, &figure.key.region, ALL);
                if self.index.get(&total).is_some_and(|&t| withheld[t]) {
                    withheld[index] = true;
                    continue;
                }
            }
            withheld[index] = !decider.publish_if_safe(index);
        }
    }

    /// A decider over every variable, with the leaves known to the
    /// attacker taken out of every vector: the zeros of the variable, and
    /// for a partner the leaves whose value of the variable is all its own.
    fn decider(&self, partner: Option<&str>) -> super::Decider {
        let mut decider = super::Decider::default();
        for (variable, (_, family)) in VARIABLES.iter().enumerate() {
            let applicable: Vec<bool> = self.figures.iter().map(|f| f.has(variable)).collect();
            // A month figure is a single leaf (or none): its zero is the leaf's.
            let mut pinned = HashSet::new();
            for (figure, _) in self.figures.iter().zip(&applicable).filter(|(_, a)| **a) {
                let single = matches!(figure.key.period, crate::Period::Month(..)) && figure.key.region != ALL;
                let cell = single && (figure.key.group.is_some() || figure.key.skill != ALL);
                if cell && figure.value(variable) == 0 {
                    pinned.extend(figure.leaves[*family].iter().copied());
                }
            }
            if let Some(known) = partner.and_then(|p| self.known_to.get(p)) {
                pinned.extend(known[variable].iter().copied());
            }
            let vectors: Vec<Vec<u32>> = self
                .figures
                .iter()
                .zip(&applicable)
                .map(|(f, a)| {
                    if *a {
                        f.leaves[*family].iter().copied().filter(|l| !pinned.contains(l)).collect()
                    } else {
                        Vec::new()
                    }
                })
                .collect();
            let primary: Vec<bool> = self.figures.iter().zip(&applicable).map(|(f, a)| *a && f.primary).collect();
            decider.add_variable(vectors, primary);
        }
        decider
    }

    /// Which families of values of each withheld figure are hidden: those
    /// that the shown figures do not already give by differencing (values
    /// the shown figures give are shown too, as they add nothing). A group
    /// of a withheld total stays hidden.
    pub fn hidden(&self, withheld: &[bool]) -> Vec<[bool; 3]> {
        let mut spans: Vec<super::span::Span> = (0..FAMILIES.len()).map(|_| super::span::Span::new()).collect();
        for (figure, _) in self.figures.iter().zip(withheld).filter(|(_, w)| !**w) {
            for (family, span) in spans.iter_mut().enumerate() {
                if !figure.leaves[family].is_empty() {
                    span.add(super::span::indicator(&figure.leaves[family]));
                }
            }
        }
        self.figures
            .iter()
            .zip(withheld)
            .map(|(figure, &w)| {
                let mut hidden = [false; 3];
                if !w {
                    return hidden;
                }
                for (family, flag) in hidden.iter_mut().enumerate() {
                    let applies = (family == 2) == figure.key.group.is_some();
                    *flag = applies && !spans[family].contains(&super::span::indicator(&figure.leaves[family]));
                }
                if figure.key.group.is_some() {
                    hidden[2] = true;
                }
                hidden
            })
            .collect()
    }
}

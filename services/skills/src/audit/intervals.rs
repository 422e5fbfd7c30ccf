//! The attacker's view of one year, as τ-ARGUS's audit and sdcTable's
//! `attack()` compute it: for every withheld value, what the shown values
//! say about it, one variable at a time.
//!
//! - **Differencing** (every withheld value): is the figure's leaf vector in
//!   the span of the shown figures' vectors (`skills_domain::disclosure`)?
//!   That is the analyst's computation, taking a quarter as the sum of its
//!   months and a total as the sum of its cells; tested in exact modular
//!   arithmetic, never from floating-point widths.
//! - **Intervals** (withheld primary values): the minimum and maximum of the
//!   figure's value under what truly holds between figures (`relations`):
//!   distinct learners are not additive (a learner active in two months
//!   counts once in the quarter), so a parent lies between its largest
//!   child and the sum of its children (for learners over time, only below
//!   the sum: a month's learner may have left the region's quarter cell);
//!   a stock is its last month's; the country is the sum of its regions. Values are non-negative, and a
//!   withheld cell has at least one learner (empty cells are shown). Per
//!   part of the relations connected through unknown values, a few linear
//!   programmes push all its small values up together and down together;
//!   a value whose values found are not yet the required width apart gets
//!   its own two (its exact minimum and maximum). The interval must be at least
//!   `max(1, 2 × p % × value)` wide: the width of rtauargus's default
//!   interval protection (±p %, p = 10), and at least one whole learner.
//!
//! A partner knows its own part of every figure: each value is at least
//! that part, and what must stay protected is the rest, the other
//! partners' learners (a value that is all the partner's own is not).
//!
//! Relations between variables of a cell (completed ≤ learners) are not
//! used: an attacker combining them could narrow an interval further.

use skills_domain::disclosure::hierarchy::{ALL, Hierarchy, VARIABLES};
use skills_domain::disclosure::span::{Span, indicator};
use std::collections::HashMap;

/// What an audience obtains of one figure: marked withheld or not, the
/// value of each variable it could read (None: not shown), and for a
/// partner its own part of each (None: not given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub withheld: bool,
    pub values: [Option<i64>; 9],
    pub own: [Option<i64>; 9],
}

/// The variables a call serves for a figure of this kind: cells and the
/// country every count (active learners finishing within the horizon only
/// through the pipeline, so never on their own), a region total its
/// enrolled and certified, a group its two counts.
fn served(hierarchy: &Hierarchy, figure: usize, variable: usize) -> bool {
    let key = &hierarchy.figures[figure].key;
    match (key.group.is_some(), key.region != ALL && key.skill == ALL) {
        (true, _) => variable == 7 || variable == 8,
        (false, true) => variable == 1 || variable == 4,
        (false, false) => variable <= 5,
    }
}

/// Whether a withheld figure's value of `variable` is one the audit must
/// find protected: a value the audience is refused. A group of a withheld
/// total that is not small itself is refused only because its shares
/// would give the total's counts: the total's values are the ones checked.
fn refused(hierarchy: &Hierarchy, observed: &[Observed], figure: usize, variable: usize) -> bool {
    let f = &hierarchy.figures[figure];
    let seen = &observed[figure];
    if !seen.withheld || seen.values[variable].is_some() || !served(hierarchy, figure, variable) {
        return false;
    }
    if f.key.group.is_some() && !f.primary {
        let total = skills_domain::disclosure::hierarchy::FigureKey::cell(f.key.period, &f.key.region, ALL);
        let total_refused = hierarchy.index.get(&total).is_some_and(|&t| observed[t].withheld);
        return !total_refused;
    }
    true
}

/// One withheld value and what the shown values say about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub figure: usize,
    pub variable: &'static str,
    pub value: i64,
    pub primary: bool,
    /// Computable by differencing (the additive model).
    pub exact: bool,
    /// Feasible interval (primary values only).
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub required_width: f64,
    pub protected: bool,
}

impl Finding {
    /// A withheld 0 that the shown values give: a shown figure containing
    /// it is 0 (counts are not negative), or differences give 0. Reported,
    /// not a failure: zeros are not protected.
    pub fn zero(&self) -> bool {
        self.exact && self.value == 0
    }

    pub fn width(&self) -> f64 {
        match (self.low, self.high) {
            (Some(low), Some(high)) => high - low,
            _ => f64::INFINITY,
        }
    }
}

/// Every withheld value of the year, with its verdict.
pub fn audit(hierarchy: &Hierarchy, observed: &[Observed], protection_percent: f64) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (variable, (name, family)) in VARIABLES.iter().enumerate() {
        let differencing = shown_span(hierarchy, observed, variable);
        let system = System::of(hierarchy, observed, variable);
        let mut targets = Vec::new();
        for (index, figure) in hierarchy.figures.iter().enumerate() {
            if !figure.has(variable) || !refused(hierarchy, observed, index, variable) {
                continue;
            }
            let value = figure.value(variable) as i64;
            // Other partners' part: what a partner audience does not know.
            let others = value - observed[index].own[variable].unwrap_or(0);
            let leaves = &figure.leaves[*family];
            let exact = leaves.is_empty() || differencing.contains(&indicator(leaves));
            let required_width = (2.0 * protection_percent / 100.0 * others as f64).max(1.0);
            let finding = Finding {
                figure: index,
                variable: name,
                value,
                primary: figure.primary,
                exact,
                low: None,
                high: None,
                required_width,
                // A zero is not protected (see `Finding::zero`), nor the
                // audience's own learners.
                protected: !exact || others == 0,
            };
            if figure.primary && others > 0 {
                targets.push(Target { figure: index, finding: findings.len(), value: value as f64, required_width });
            }
            findings.push(finding);
        }
        for (target, (low, high)) in targets.iter().zip(system.widths(&targets)) {
            let finding = &mut findings[target.finding];
            finding.low = Some(low);
            finding.high = Some(high);
            finding.protected &= high - low >= target.required_width - 1e-6;
        }
    }
    findings
}

/// A primary value whose interval the audit needs.
struct Target {
    figure: usize,
    finding: usize,
    value: f64,
    required_width: f64,
}

/// A shown figure that gives a partner audience between 1 and k − 1 learners
/// of other partners: its shown count minus its own part.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FewOthers {
    pub figure: usize,
    pub variable: &'static str,
    pub others: i64,
}

/// The shown counts of learners (a figure's learners, a group's members)
/// whose other partners' part is small: the dominance rule, checked from
/// outside. Empty for an audience with no own parts.
pub fn few_others_shown(observed: &[Observed], k: u32) -> Vec<FewOthers> {
    let mut found = Vec::new();
    for (figure, seen) in observed.iter().enumerate() {
        for variable in [0, 7, 8] {
            if let (Some(value), Some(own)) = (seen.values[variable], seen.own[variable]) {
                let others = value - own;
                if others > 0 && others < i64::from(k) {
                    found.push(FewOthers { figure, variable: VARIABLES[variable].0, others });
                }
            }
        }
    }
    found
}

/// The span of the shown figures' leaf vectors for one variable.
fn shown_span(hierarchy: &Hierarchy, observed: &[Observed], variable: usize) -> Span {
    let mut span = Span::new();
    for (figure, seen) in hierarchy.figures.iter().zip(observed) {
        if seen.values[variable].is_some() {
            let leaves = &figure.leaves[VARIABLES[variable].1];
            if !leaves.is_empty() {
                span.add(indicator(leaves));
            }
        }
    }
    span
}

/// How a parent figure relates to its children, for one variable.
enum Relation {
    /// Distinct learners: max(children) ≤ parent ≤ Σ children.
    Distinct,
    /// parent ≤ Σ children.
    AtMostSum,
    /// parent = Σ children (the country, by definition).
    Sum,
    /// A stock: parent = its last month's (the one child given).
    Last,
}

/// The parent–children relations of the year's figures for one variable.
fn relations(hierarchy: &Hierarchy, variable: usize) -> Vec<(Relation, usize, Vec<usize>)> {
    use skills_domain::Period;
    use skills_domain::disclosure::hierarchy::FigureKey;
    let find = |key: &FigureKey| hierarchy.index.get(key).copied();
    let stock = VARIABLES[variable].1 == 1;
    let mut all = Vec::new();
    // Skills of each region and regions of each skill, per period.
    let mut cells_of_region: HashMap<(Period, &str), Vec<usize>> = HashMap::new();
    let mut cells_of_skill: HashMap<(Period, &str), Vec<usize>> = HashMap::new();
    for (index, figure) in hierarchy.figures.iter().enumerate() {
        let key = &figure.key;
        if key.group.is_none() && key.region != ALL && key.skill != ALL {
            cells_of_region.entry((key.period, key.region.as_str())).or_default().push(index);
            cells_of_skill.entry((key.period, key.skill.as_str())).or_default().push(index);
        }
    }
    for (index, figure) in hierarchy.figures.iter().enumerate() {
        let key = &figure.key;
        if !figure.has(variable) {
            continue;
        }
        let children_in_time: Vec<Period> = match key.period {
            Period::Year(y) => (1..=4).map(|q| Period::Quarter(y, q)).collect(),
            Period::Quarter(y, q) => (3 * q - 2..=3 * q).map(|m| Period::Month(y, m)).collect(),
            Period::Month(..) => Vec::new(),
        };
        if !children_in_time.is_empty() {
            let child = |period: Period| find(&FigureKey { period, ..key.clone() });
            if stock {
                let last = child(*children_in_time.last().expect("non-empty"));
                all.push((Relation::Last, index, last.into_iter().collect()));
            } else if variable == 0 {
                // A month's learner may be in no part of the quarter's cell
                // (active at the month's end, then moved region): only
                // parent ≤ Σ children holds.
                all.push((Relation::AtMostSum, index, children_in_time.into_iter().filter_map(child).collect()));
            } else {
                all.push((Relation::Distinct, index, children_in_time.into_iter().filter_map(child).collect()));
            }
        }
        if key.group.is_none() && key.region != ALL && key.skill == ALL {
            let cells = cells_of_region.get(&(key.period, key.region.as_str())).cloned().unwrap_or_default();
            all.push((Relation::Distinct, index, cells));
        }
        if key.group.is_none() && key.region == ALL {
            let cells = cells_of_skill.get(&(key.period, key.skill.as_str())).cloned().unwrap_or_default();
            all.push((Relation::Sum, index, cells));
        }
    }
    all
}

/// A linear row over unknown figures: Σ coefficient × x (≤ or =) rhs.
struct Row {
    terms: Vec<(usize, f64)>,
    equal: bool,
    rhs: f64,
}

/// The relations of one variable with the shown values substituted.
struct System {
    rows: Vec<Row>,
    /// Rows touching each unknown figure.
    by_figure: HashMap<usize, Vec<usize>>,
    /// Lower bound of each unknown figure.
    floor: HashMap<usize, f64>,
}

impl System {
    fn of(hierarchy: &Hierarchy, observed: &[Observed], variable: usize) -> System {
        // Shown values are constants; refused ones are the unknowns; a value
        // no call serves (a total's learners) is free, and a row holding
        // one is dropped: eliminating a free value leaves only what the
        // other rows already imply (a small loss of transitive bounds).
        let refused: Vec<bool> =
            (0..hierarchy.figures.len()).map(|f| refused(hierarchy, observed, f, variable)).collect();
        let mut rows = Vec::new();
        let mut add = |terms: Vec<(usize, f64)>, equal: bool| {
            let mut unknown = Vec::new();
            let mut rhs = 0.0;
            for (figure, coefficient) in terms {
                match observed[figure].values[variable] {
                    Some(value) => rhs -= coefficient * value as f64,
                    None if refused[figure] => unknown.push((figure, coefficient)),
                    None => return,
                }
            }
            if !unknown.is_empty() {
                rows.push(Row { terms: unknown, equal, rhs });
            }
        };
        for (relation, parent, children) in relations(hierarchy, variable) {
            let sum: Vec<(usize, f64)> =
                std::iter::once((parent, 1.0)).chain(children.iter().map(|c| (*c, -1.0))).collect();
            match relation {
                Relation::Sum | Relation::Last => add(sum, true),
                Relation::AtMostSum => add(sum, false),
                Relation::Distinct => {
                    add(sum, false);
                    for child in children {
                        add(vec![(child, 1.0), (parent, -1.0)], false);
                    }
                }
            }
        }
        let mut by_figure: HashMap<usize, Vec<usize>> = HashMap::new();
        for (index, row) in rows.iter().enumerate() {
            for (figure, _) in &row.terms {
                by_figure.entry(*figure).or_default().push(index);
            }
        }
        // A withheld cell has a learner (empty ones are shown), and a value
        // is at least the audience's own part of it.
        let floor = by_figure
            .keys()
            .map(|&f| {
                let has_learner = if variable == 0 && observed[f].withheld { 1.0 } else { 0.0 };
                let own = observed[f].own[variable].unwrap_or(0) as f64;
                (f, f64::max(has_learner, own))
            })
            .collect();
        System { rows, by_figure, floor }
    }

    /// The rows connected to `figure` through unknown figures.
    fn component(&self, figure: usize) -> (Vec<usize>, Vec<usize>) {
        let mut figures = std::collections::BTreeSet::from([figure]);
        let mut rows = std::collections::BTreeSet::new();
        let mut stack = vec![figure];
        while let Some(current) = stack.pop() {
            for &row in self.by_figure.get(&current).map(Vec::as_slice).unwrap_or_default() {
                if rows.insert(row) {
                    for (other, _) in &self.rows[row].terms {
                        if figures.insert(*other) {
                            stack.push(*other);
                        }
                    }
                }
            }
        }
        (rows.into_iter().collect(), figures.into_iter().collect())
    }

    /// For each target, an interval of values the relations allow: its
    /// exact minimum and maximum, or, where cheaper, two feasible values at
    /// least the required width apart (the true interval holds them, so it
    /// is at least as wide). Per component, a few programmes push all its
    /// targets up together and down together; only targets still short of
    /// their width get their own two programmes.
    fn widths(&self, targets: &[Target]) -> Vec<(f64, f64)> {
        let mut found: Vec<(f64, f64)> = targets.iter().map(|t| (t.value, t.value)).collect();
        let mut done = vec![false; targets.len()];
        let mut component_of: HashMap<usize, usize> = HashMap::new();
        let mut components: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
        for target in targets {
            if !component_of.contains_key(&target.figure) {
                let component = self.component(target.figure);
                for &figure in &component.1 {
                    component_of.insert(figure, components.len());
                }
                components.push(component);
            }
        }
        let short = |found: &(f64, f64), target: &Target| found.1 - found.0 < target.required_width - 1e-6;
        for (id, (rows, figures)) in components.iter().enumerate() {
            let mine: Vec<usize> = (0..targets.len()).filter(|&t| component_of[&targets[t].figure] == id).collect();
            for _round in 0..3 {
                let pending: Vec<usize> = mine.iter().copied().filter(|&t| !done[t]).collect();
                if pending.is_empty() {
                    break;
                }
                let objective: HashMap<usize, f64> = pending.iter().map(|&t| (targets[t].figure, 1.0)).collect();
                for direction in [microlp::OptimizationDirection::Maximize, microlp::OptimizationDirection::Minimize] {
                    let Some(point) = self.extreme(rows, figures, &objective, direction) else { continue };
                    for &t in &mine {
                        let value = point[&targets[t].figure];
                        found[t] = (found[t].0.min(value), found[t].1.max(value));
                    }
                }
                let progress = pending.iter().filter(|&&t| !short(&found[t], &targets[t])).count();
                for &t in &pending {
                    done[t] = !short(&found[t], &targets[t]);
                }
                if progress == 0 {
                    break;
                }
            }
        }
        for (t, target) in targets.iter().enumerate() {
            if !done[t] {
                found[t] = self.interval(target.figure);
            }
        }
        found
    }

    /// A point of the component maximising or minimising Σ objective × x,
    /// every value capped at `CAP` (a value the cap holds is as good as
    /// unbounded here); None when the solver gives no optimum.
    fn extreme(
        &self,
        rows: &[usize],
        figures: &[usize],
        objective: &HashMap<usize, f64>,
        direction: microlp::OptimizationDirection,
    ) -> Option<HashMap<usize, f64>> {
        const CAP: f64 = 1e7;
        let mut problem = microlp::Problem::new(direction);
        let vars: Vec<(usize, microlp::Variable)> = figures
            .iter()
            .map(|&f| {
                let floor = self.floor.get(&f).copied().unwrap_or(0.0);
                (f, problem.add_var(objective.get(&f).copied().unwrap_or(0.0), (floor, CAP)))
            })
            .collect();
        let index: HashMap<usize, microlp::Variable> = vars.iter().copied().collect();
        for &row in rows {
            let row = &self.rows[row];
            let terms: Vec<(microlp::Variable, f64)> = row.terms.iter().map(|(f, c)| (index[f], *c)).collect();
            let op = if row.equal { microlp::ComparisonOp::Eq } else { microlp::ComparisonOp::Le };
            problem.add_constraint(terms.as_slice(), op, row.rhs);
        }
        let outcome = problem.solve().ok().filter(|o| o.is_optimal())?;
        let solution = outcome.solution()?;
        Some(vars.iter().map(|&(f, var)| (f, solution.var_value(var))).collect())
    }

    /// Minimum and maximum of `figure`'s value.
    fn interval(&self, figure: usize) -> (f64, f64) {
        let (rows, figures) = self.component(figure);
        let bound = |direction| {
            let mut problem = microlp::Problem::new(direction);
            let vars: HashMap<usize, microlp::Variable> = figures
                .iter()
                .map(|&f| {
                    let objective = if f == figure { 1.0 } else { 0.0 };
                    let floor = self.floor.get(&f).copied().unwrap_or(0.0);
                    (f, problem.add_var(objective, (floor, f64::INFINITY)))
                })
                .collect();
            for &index in &rows {
                let row = &self.rows[index];
                let terms: Vec<(microlp::Variable, f64)> = row.terms.iter().map(|(f, c)| (vars[f], *c)).collect();
                let op = if row.equal { microlp::ComparisonOp::Eq } else { microlp::ComparisonOp::Le };
                problem.add_constraint(terms.as_slice(), op, row.rhs);
            }
            // A bound the solver could not prove is NaN: the value then
            // counts as unprotected, never as safe.
            let no_bound = f64::NAN;
            match problem.solve() {
                Ok(outcome) if outcome.is_optimal() => outcome.solution().map_or(no_bound, |s| s.objective()),
                Ok(_) => no_bound,
                Err(microlp::Error::Unbounded) => f64::INFINITY,
                // The shown values and the relations always admit the true
                // values, so this is a solver failure.
                Err(error) => {
                    tracing::warn!(%error, figure, "interval not computed");
                    no_bound
                }
            }
        };
        (bound(microlp::OptimizationDirection::Minimize), bound(microlp::OptimizationDirection::Maximize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_figure_with_few_learners_of_other_partners_is_found() {
        let shown = |value: i64, own: i64| {
            let mut observed = Observed::default();
            observed.values[0] = Some(value);
            observed.own[0] = Some(own);
            observed
        };
        let observed = [shown(14, 12), shown(14, 14), shown(20, 9), Observed::default()];
        let found = few_others_shown(&observed, 11);
        assert_eq!(found, vec![FewOthers { figure: 0, variable: "learners", others: 2 }]);
        assert!(few_others_shown(&observed, 2).is_empty(), "2 others are not fewer than k = 2");
    }
}

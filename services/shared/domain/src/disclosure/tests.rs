use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const P: u64 = 1_000_000_007;

fn power(mut base: u64, mut exponent: u64) -> u64 {
    let mut result = 1u64;
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = result * base % P;
        }
        base = base * base % P;
        exponent >>= 1;
    }
    result
}

fn dense(leaves: &[u32], width: usize) -> Vec<u64> {
    let mut row = vec![0u64; width];
    for &leaf in leaves {
        row[leaf as usize] = 1;
    }
    row
}

/// The reduced row echelon form of 0/1 rows, by dense elimination modulo
/// another prime: an oracle written independently of `span`.
fn echelon(rows: &[Vec<u32>], width: usize) -> Vec<(usize, Vec<u64>)> {
    let mut matrix: Vec<Vec<u64>> = rows.iter().map(|leaves| dense(leaves, width)).collect();
    let mut pivots = Vec::new();
    let mut rank = 0;
    for column in 0..width {
        let Some(found) = (rank..matrix.len()).find(|&r| matrix[r][column] != 0) else { continue };
        matrix.swap(rank, found);
        let inverse = power(matrix[rank][column], P - 2);
        let pivot_row: Vec<u64> = matrix[rank].iter().map(|v| v * inverse % P).collect();
        for (r, row) in matrix.iter_mut().enumerate() {
            if r != rank && row[column] != 0 {
                let factor = row[column];
                for (value, pivot) in row.iter_mut().zip(&pivot_row) {
                    *value = (*value + P - factor * pivot % P) % P;
                }
            }
        }
        matrix[rank] = pivot_row;
        pivots.push(column);
        rank += 1;
    }
    pivots.into_iter().zip(matrix).collect()
}

/// Whether `target` is a linear combination of the echelon's rows.
fn computable(echelon: &[(usize, Vec<u64>)], target: &[u32], width: usize) -> bool {
    let mut row = dense(target, width);
    for (column, pivot_row) in echelon {
        let factor = row[*column];
        if factor != 0 {
            for (value, pivot) in row.iter_mut().zip(pivot_row) {
                *value = (*value + P - factor * pivot % P) % P;
            }
        }
    }
    row.iter().all(|v| *v == 0)
}

fn published_echelon(figures: &[Figure], withheld: &[bool], width: usize) -> Vec<(usize, Vec<u64>)> {
    let rows: Vec<Vec<u32>> =
        figures.iter().zip(withheld).filter(|(_, w)| !**w).map(|(f, _)| f.leaves.clone()).collect();
    echelon(&rows, width)
}

/// A year's figures for `regions` × `skills`, leaves (region, skill, month):
/// months, quarters and the year of each cell, of each region's total over
/// its skills and of the country per skill. Primary: 0 < learners < k.
fn year_grid(learners: &[u64], regions: usize, skills: usize, k: u64) -> (Vec<Figure>, usize) {
    let leaf = |r: usize, s: usize, m: usize| ((r * skills + s) * 12 + m) as u32;
    let periods: Vec<Vec<usize>> = (0..12)
        .map(|m| vec![m])
        .chain((0..4).map(|q| (3 * q..3 * q + 3).collect()))
        .chain(std::iter::once((0..12).collect()))
        .collect();
    let mut figures = Vec::new();
    let mut push = |leaves: Vec<u32>| {
        let total: u64 = leaves.iter().map(|&l| learners[l as usize]).sum();
        figures.push(Figure { leaves, primary: total > 0 && total < k, weight: total });
    };
    for months in &periods {
        for r in 0..regions {
            for s in 0..skills {
                push(months.iter().map(|&m| leaf(r, s, m)).collect());
            }
            push((0..skills).flat_map(|s| months.iter().map(move |&m| leaf(r, s, m))).collect());
        }
        for s in 0..skills {
            push((0..regions).flat_map(|r| months.iter().map(move |&m| leaf(r, s, m))).collect());
        }
    }
    (figures, regions * skills * 12)
}

fn figure(leaves: &[u32], primary: bool, weight: u64) -> Figure {
    Figure { leaves: leaves.to_vec(), primary, weight }
}

#[test]
fn a_quarter_minus_its_months_is_closed() {
    // Months 0..3 and their quarter; month 1 is small.
    let figures =
        vec![figure(&[0], false, 20), figure(&[1], true, 3), figure(&[2], false, 15), figure(&[0, 1, 2], false, 38)];
    let withheld = withhold(&figures);
    assert!(withheld[1]);
    assert_eq!(withheld.iter().filter(|w| **w).count(), 2, "one more figure, the smallest that closes it");
    assert!(withheld[2], "the quarter is kept, the smaller month goes");
    assert_eq!(determined(&figures, &withheld), vec![false; 4]);
}

#[test]
fn a_year_minus_its_quarters_is_closed_through_the_months() {
    // The year, four quarters; one month of Q3 small, Q3's other months large.
    let mut figures = vec![figure(&(0..12).collect::<Vec<_>>(), false, 600)];
    for q in 0..4u32 {
        figures.push(figure(&[3 * q, 3 * q + 1, 3 * q + 2], false, 150));
    }
    for m in 0..12u32 {
        figures.push(figure(&[m], m == 7, if m == 7 { 2 } else { 50 }));
    }
    let withheld = withhold(&figures);
    assert!(!computable(&published_echelon(&figures, &withheld, 12), &[7], 12));
    assert!(withheld.iter().filter(|w| **w).count() >= 2);
}

#[test]
fn the_audit_finds_a_determined_figure() {
    let figures = vec![figure(&[0], true, 3), figure(&[1], false, 20), figure(&[0, 1], false, 23)];
    // Withholding only the primary leaves it computable: total - other.
    assert_eq!(determined(&figures, &[true, false, false]), vec![true, false, false]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// On random grids, no primary figure is a linear combination of the
    /// published ones (the oracle's rank test), and every primary is withheld.
    #[test]
    fn no_primary_figure_can_be_computed_from_what_is_published(
        regions in 1usize..4,
        skills in 1usize..4,
        seed in proptest::collection::vec(prop_oneof![3 => 0u64..4, 2 => 0u64..40], 108),
        k in 2u64..12,
    ) {
        let learners: Vec<u64> = seed.iter().copied().take(regions * skills * 12).collect();
        let (figures, width) = year_grid(&learners, regions, skills, k);
        let withheld = withhold(&figures);
        let published = published_echelon(&figures, &withheld, width);
        for (figure, w) in figures.iter().zip(&withheld) {
            if figure.primary {
                prop_assert!(*w);
                prop_assert!(!computable(&published, &figure.leaves, width), "{:?}", figure.leaves);
            }
        }
        prop_assert!(determined(&figures, &withheld).iter().zip(&figures).all(|(d, f)| !(*d && f.primary)));
    }

    /// The audit agrees with the oracle on any pattern, not only ours.
    #[test]
    fn the_audit_agrees_with_the_oracle(
        regions in 1usize..3,
        skills in 1usize..3,
        seed in proptest::collection::vec(0u64..30, 72),
        pattern in proptest::collection::vec(any::<bool>(), 150),
    ) {
        let learners: Vec<u64> = seed.iter().copied().take(regions * skills * 12).collect();
        let (figures, width) = year_grid(&learners, regions, skills, 5);
        let withheld: Vec<bool> = figures.iter().enumerate().map(|(i, _)| pattern[i % pattern.len()]).collect();
        let published = published_echelon(&figures, &withheld, width);
        for ((figure, w), d) in figures.iter().zip(&withheld).zip(determined(&figures, &withheld)) {
            prop_assert_eq!(d, *w && computable(&published, &figure.leaves, width));
        }
    }
}

mod year_publication {
    use super::super::hierarchy::{ALL, FAMILIES, FigureKey, Hierarchy, VARIABLES, YearCounters};
    use super::super::publication::Publication;
    use super::*;
    use crate::Period;
    use crate::indicators::{CellCounters, GroupCounts, PartnerCell, SupplyCounters};

    const YEAR: i32 = 2025;

    /// A month cell: `learners` learners who all enrolled, of whom `women`
    /// women, `active` still active at the month's end.
    #[derive(Debug, Clone, Copy)]
    struct Month {
        month: u32,
        region: &'static str,
        skill: &'static str,
        learners: u64,
        active: u64,
        women: u64,
    }

    fn month(month: u32, region: &'static str, skill: &'static str, learners: u64) -> Month {
        Month { month, region, skill, learners, active: learners / 2, women: learners / 2 }
    }

    fn supply(learners: u64, active: u64, women: u64) -> SupplyCounters {
        SupplyCounters {
            learners,
            enrolled: learners,
            active,
            enrolled_groups: GroupCounts { women, ..Default::default() },
            ..Default::default()
        }
    }

    fn plus(a: SupplyCounters, b: SupplyCounters, stock_from_b: bool) -> SupplyCounters {
        let mut sum =
            supply(a.learners + b.learners, a.active + b.active, a.enrolled_groups.women + b.enrolled_groups.women);
        if stock_from_b {
            sum.active = b.active;
        }
        sum
    }

    /// Counters of the year as a store would give them for these month
    /// cells, each learner in one month only: quarters and the year sum the
    /// flows and take the stock of their last month; region rows sum skills.
    fn counters(months: &[Month]) -> YearCounters {
        let mut year = YearCounters::default();
        for period in Period::all_of_year(YEAR) {
            let mut cells: BTreeMap<(&str, &str), SupplyCounters> = BTreeMap::new();
            let in_period: Vec<&Month> =
                months.iter().filter(|m| period.contains(Period::Month(YEAR, m.month).start())).collect();
            let last = (1..=12).rev().map(|m| Period::Month(YEAR, m)).find(|m| period.contains(m.start())).unwrap();
            for m in &in_period {
                let this = supply(m.learners, m.active, m.women);
                let is_last = Period::Month(YEAR, m.month) == last;
                let entry = cells.entry((m.region, m.skill)).or_default();
                *entry = plus(*entry, this, false);
                if !is_last {
                    entry.active -= m.active;
                }
            }
            let mut regions: BTreeMap<&str, SupplyCounters> = BTreeMap::new();
            for ((region, _), s) in &cells {
                let entry = regions.entry(region).or_default();
                *entry = plus(*entry, *s, false);
            }
            let row = |region: &str, skill: Option<&str>, supply: SupplyCounters| CellCounters {
                region: region.to_string(),
                skill: skill.map(str::to_string),
                supply,
                ..Default::default()
            };
            year.cells.insert(period, cells.iter().map(|((r, s), v)| row(r, Some(s), *v)).collect());
            year.regions.insert(period, regions.iter().map(|(r, v)| row(r, None, *v)).collect());
        }
        year
    }

    /// The oracle's verdict: no primary figure of any family is a linear
    /// combination of the shown figures of that family.
    fn assert_protected(hierarchy: &Hierarchy, withheld: &[bool]) {
        for (family, name) in FAMILIES.iter().enumerate() {
            let figures = hierarchy.family(family);
            let width = hierarchy.widths[family];
            let published = published_echelon(&figures, withheld, width);
            for (figure, (f, w)) in hierarchy.figures.iter().zip(figures.iter().zip(withheld)) {
                if f.primary {
                    assert!(*w, "{:?} is primary", figure.key);
                    // (A small figure whose values of the family are all 0
                    // may be found to be 0: zeros are not protected.)
                    let nonzero = (0..VARIABLES.len()).any(|v| VARIABLES[v].1 == family && figure.value(v) > 0);
                    if !f.leaves.is_empty() && nonzero {
                        assert!(!computable(&published, &f.leaves, width), "{name} of {:?} computable", figure.key);
                    }
                }
            }
        }
    }

    fn key(period: Period, region: &str, skill: &str) -> FigureKey {
        FigureKey::cell(period, region, skill)
    }

    #[test]
    fn a_quarter_minus_its_months_gives_no_small_month() {
        let months =
            [month(1, "84", "3.4", 30), month(2, "84", "3.4", 3), month(3, "84", "3.4", 25), month(4, "84", "3.4", 40)];
        let publication = Publication::of_year(YEAR, &counters(&months), 11);
        assert_protected(&publication.hierarchy, &publication.withheld);
        assert!(publication.withholds(&key(Period::Month(YEAR, 2), "84", "3.4")));
        let shown_months =
            [1, 3].iter().filter(|m| !publication.withholds(&key(Period::Month(YEAR, **m), "84", "3.4"))).count();
        let quarter_shown = !publication.withholds(&key(Period::Quarter(YEAR, 1), "84", "3.4"));
        assert!(!(quarter_shown && shown_months == 2), "Q1 − January − March would give February");
    }

    #[test]
    fn a_year_with_one_non_empty_quarter_and_a_small_one_is_closed() {
        // Q1 large, one month of Q2 small, Q3 and Q4 empty: the year minus
        // Q1 is Q2, and the empty quarters give nothing to hide it with.
        let months = [month(1, "84", "3.4", 40), month(2, "84", "3.4", 30), month(5, "84", "3.4", 4)];
        let publication = Publication::of_year(YEAR, &counters(&months), 11);
        assert_protected(&publication.hierarchy, &publication.withheld);
        let year_shown = !publication.withholds(&key(Period::Year(YEAR), "84", "3.4"));
        let q1_shown = !publication.withholds(&key(Period::Quarter(YEAR, 1), "84", "3.4"));
        assert!(!(year_shown && q1_shown), "the year minus Q1 is Q2's 4 learners");
    }

    #[test]
    fn a_region_total_minus_its_visible_cells_gives_no_small_cell() {
        let months = [month(1, "11", "1.1", 50), month(1, "11", "3.4", 4), month(1, "11", "5.1", 35)];
        let publication = Publication::of_year(YEAR, &counters(&months), 11);
        assert_protected(&publication.hierarchy, &publication.withheld);
        let january = Period::Month(YEAR, 1);
        assert!(publication.withholds(&key(january, "11", "3.4")));
        let shown = ["1.1", "5.1", ALL].iter().filter(|s| !publication.withholds(&key(january, "11", s))).count();
        assert!(shown < 3, "the region total minus 1.1 and 5.1 would give 3.4");
    }

    #[test]
    fn a_quarter_stock_is_its_last_month_stock() {
        // March is small; Q1 is large through January, but its active
        // learners are March's: showing Q1 would show March's stock.
        let months = [month(1, "84", "3.4", 60), month(3, "84", "3.4", 6)];
        let publication = Publication::of_year(YEAR, &counters(&months), 11);
        assert_protected(&publication.hierarchy, &publication.withheld);
        assert!(publication.withholds(&key(Period::Month(YEAR, 3), "84", "3.4")));
        assert!(publication.withholds(&key(Period::Quarter(YEAR, 1), "84", "3.4")), "same stock as March");
    }

    #[test]
    fn zero_cells_are_shown_and_hide_nothing() {
        // Only one region has data: every other figure is empty and shown,
        // and the small cell's protection does not rely on an empty cell.
        let months = [month(6, "84", "3.4", 5), month(6, "84", "1.1", 40), month(7, "84", "3.4", 40)];
        let publication = Publication::of_year(YEAR, &counters(&months), 11);
        assert_protected(&publication.hierarchy, &publication.withheld);
        assert!(!publication.withholds(&key(Period::Month(YEAR, 6), "11", "3.4")), "no such figure: empty, shown");
        for (figure, w) in publication.hierarchy.figures.iter().zip(&publication.withheld) {
            assert!(
                !(*w && figure.contributors == 0 && figure.key.group.is_none()),
                "{:?} is empty and withheld",
                figure.key
            );
        }
    }

    #[test]
    fn a_cell_of_assessments_only_counts_its_learners() {
        let mut year = counters(&[month(1, "84", "1.1", 40)]);
        let gains = SupplyCounters { gain_learners: 3, gain_sum: 6, ..Default::default() };
        for period in [Period::Month(YEAR, 1), Period::Quarter(YEAR, 1), Period::Year(YEAR)] {
            year.cells.get_mut(&period).unwrap().push(CellCounters {
                region: "84".into(),
                skill: Some("3.4".into()),
                supply: gains,
                ..Default::default()
            });
        }
        let publication = Publication::of_year(YEAR, &year, 11);
        assert!(publication.withholds(&key(Period::Month(YEAR, 1), "84", "3.4")), "3 learners, though learners = 0");
        assert_protected(&publication.hierarchy, &publication.withheld);
    }

    #[test]
    fn small_groups_are_withheld_and_closed_over_time() {
        // Women: 20 in January, 2 in February, 20 in March.
        let months = [
            Month { month: 1, region: "84", skill: "1.1", learners: 40, active: 0, women: 20 },
            Month { month: 2, region: "84", skill: "1.1", learners: 40, active: 0, women: 2 },
            Month { month: 3, region: "84", skill: "1.1", learners: 40, active: 0, women: 20 },
        ];
        let publication = Publication::of_year(YEAR, &counters(&months), 11);
        assert_protected(&publication.hierarchy, &publication.withheld);
        let women = |period| publication.withholds(&FigureKey::group(period, "84", 0));
        assert!(women(Period::Month(YEAR, 2)));
        let shown = [Period::Month(YEAR, 1), Period::Month(YEAR, 3), Period::Quarter(YEAR, 1)]
            .into_iter()
            .filter(|p| !women(*p))
            .count();
        assert!(shown < 3, "Q1 − January − March would give February's women");
        assert!(!publication.withholds_total(Period::Month(YEAR, 2), "84"), "the region's 40 learners are shown");
    }

    /// January only: 84/3.4 of `a + b` learners from partners a and b,
    /// 84/1.1 of 40 from a; each partner's parts as the store keeps them.
    fn two_partners(a: u64, b: u64) -> YearCounters {
        let mut year = counters(&[
            Month { month: 1, region: "84", skill: "3.4", learners: a + b, active: 0, women: 0 },
            Month { month: 1, region: "84", skill: "1.1", learners: 40, active: 0, women: 0 },
        ]);
        let part = |partner: &str, skill: Option<&str>, learners: u64| PartnerCell {
            partner: partner.into(),
            counters: CellCounters {
                region: "84".into(),
                skill: skill.map(str::to_string),
                supply: supply(learners, 0, 0),
                ..Default::default()
            },
        };
        for period in [Period::Month(YEAR, 1), Period::Quarter(YEAR, 1), Period::Year(YEAR)] {
            let mut cells = vec![part("a", Some("1.1"), 40), part("a", Some("3.4"), a)];
            let mut regions = vec![part("a", None, 40 + a)];
            if b > 0 {
                cells.push(part("b", Some("3.4"), b));
                regions.push(part("b", None, b));
            }
            year.partner_cells.insert(period, cells);
            year.partner_regions.insert(period, regions);
        }
        year
    }

    #[test]
    fn a_figure_is_small_when_its_largest_partner_would_see_few_others() {
        let january = |skill: &str| key(Period::Month(YEAR, 1), "84", skill);
        // 12 of a's and 2 of b's: a, subtracting its 12, would see b's 2.
        let publication = Publication::of_year(YEAR, &two_partners(12, 2), 5);
        assert!(publication.withholds(&january("3.4")));
        assert!(publication.withholds(&key(Period::Month(YEAR, 1), ALL, "3.4")), "the country's 3.4 too");
        assert!(publication.withholds(&january(ALL)), "54 learners, 52 of them a's");
        assert_protected(&publication.hierarchy, &publication.withheld);
        // 9 and 5: each sees at least k = 5 of the other's.
        let publication = Publication::of_year(YEAR, &two_partners(9, 5), 5);
        assert!(!publication.withholds(&january("3.4")));
        // One partner alone learns nothing of others.
        let publication = Publication::of_year(YEAR, &two_partners(14, 0), 5);
        assert!(!publication.withholds(&january("3.4")));
        assert!(!publication.withholds(&january(ALL)));
    }

    fn arbitrary_months() -> impl Strategy<Value = Vec<Month>> {
        const REGIONS: [&str; 3] = ["11", "84", "93"];
        const SKILLS: [&str; 3] = ["1.1", "3.4", "5.1"];
        proptest::collection::vec(
            (1u32..=12, 0usize..3, 0usize..3, prop_oneof![3 => 1u64..6, 2 => 6u64..60], 0u64..100),
            1..40,
        )
        .prop_map(|cells| {
            let mut seen = std::collections::HashSet::new();
            cells
                .into_iter()
                .filter(|(m, r, s, _, _)| seen.insert((*m, *r, *s)))
                .map(|(m, r, s, learners, share)| Month {
                    month: m,
                    region: REGIONS[r],
                    skill: SKILLS[s],
                    learners,
                    active: learners * share / 100,
                    women: learners * (100 - share) / 100,
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// On random years, no primary value of any family can be computed
        /// from the shown figures (quarters minus months, years minus
        /// quarters, totals minus cells, stocks, groups), and empty figures
        /// are always shown.
        #[test]
        fn no_primary_value_is_computable_on_random_years(months in arbitrary_months(), k in 2u32..12) {
            let publication = Publication::of_year(YEAR, &counters(&months), k);
            assert_protected(&publication.hierarchy, &publication.withheld);
            // (A group of a withheld region total goes with it, even empty.)
            for (figure, w) in publication.hierarchy.figures.iter().zip(&publication.withheld) {
                let total_withheld = publication.withholds_total(figure.key.period, &figure.key.region);
                prop_assert!(!(*w && figure.contributors == 0 && !total_withheld), "{:?}", figure.key);
            }
        }
    }
}

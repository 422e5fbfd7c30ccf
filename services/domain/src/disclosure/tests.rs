use super::*;
use proptest::prelude::*;

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

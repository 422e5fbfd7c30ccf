//! Which figures can be computed from which: every published figure is a
//! sum of finest cells (leaves), so a withheld figure is determined exactly
//! by what is published when its leaf vector lies in the span of the
//! published figures' leaf vectors. This holds whatever the values, so the
//! test is on the pattern alone.
//!
//! Vectors are sparse, with coefficients modulo the prime 2^61 - 1 (exact
//! arithmetic without overflow). Working modulo a prime can only err by
//! finding a dependency over the prime that does not hold over the
//! rationals, that is by calling a figure determined when it is not: the
//! safe side (one more cell withheld). With coefficients this small
//! (sums of 0/1 vectors) even that needs the prime to divide a
//! determinant, which does not happen at these sizes.

use std::collections::HashMap;

const PRIME: u64 = (1 << 61) - 1;

/// `a * b` modulo the Mersenne prime 2^61 - 1, by folding the high bits
/// onto the low ones (2^61 ≡ 1): no 128-bit division.
fn mul(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    let folded = (product as u64 & PRIME) + (product >> 61) as u64;
    let folded = (folded & PRIME) + (folded >> 61);
    if folded >= PRIME { folded - PRIME } else { folded }
}

fn sub(a: u64, b: u64) -> u64 {
    if a >= b { a - b } else { a + PRIME - b }
}

/// a^(p-2): the inverse modulo the prime (Fermat).
fn inverse(a: u64) -> u64 {
    let (mut base, mut exponent, mut result) = (a, PRIME - 2, 1u64);
    while exponent > 0 {
        if exponent & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        exponent >>= 1;
    }
    result
}

/// A sparse vector over the leaves: (leaf, non-zero coefficient) pairs in
/// increasing leaf order. A sorted list rather than a map: the
/// elimination merges whole vectors, which a list does in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vector {
    entries: Vec<(u32, u64)>,
}

impl Vector {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The leaves with a non-zero coefficient, in increasing order.
    pub fn keys(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries.iter().map(|&(leaf, _)| leaf)
    }

    pub fn get(&self, leaf: u32) -> Option<u64> {
        self.entries.binary_search_by_key(&leaf, |&(l, _)| l).ok().map(|i| self.entries[i].1)
    }

    pub fn contains_key(&self, leaf: u32) -> bool {
        self.get(leaf).is_some()
    }
}

/// The indicator vector of a set of leaves.
pub fn indicator(leaves: &[u32]) -> Vector {
    let mut entries: Vec<(u32, u64)> = leaves.iter().map(|&leaf| (leaf, 1)).collect();
    entries.sort_unstable_by_key(|&(leaf, _)| leaf);
    entries.dedup_by_key(|&mut (leaf, _)| leaf);
    Vector { entries }
}

/// `v -= factor * w`, dropping coefficients that become zero: one merge of
/// the two sorted lists.
fn subtract_multiple(v: &mut Vector, factor: u64, w: &Vector) {
    let mut out = Vec::with_capacity(v.entries.len() + w.entries.len());
    let (mut i, mut j) = (0, 0);
    let (a, b) = (&v.entries, &w.entries);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(&(la, ca)), Some(&(lb, cb))) if la == lb => {
                let value = sub(ca, mul(factor, cb));
                if value != 0 {
                    out.push((la, value));
                }
                i += 1;
                j += 1;
            }
            (Some(&(la, ca)), Some(&(lb, _))) if la < lb => {
                out.push((la, ca));
                i += 1;
            }
            (Some(&(la, ca)), None) => {
                out.push((la, ca));
                i += 1;
            }
            (_, Some(&(lb, cb))) => {
                let value = sub(0, mul(factor, cb));
                if value != 0 {
                    out.push((lb, value));
                }
                j += 1;
            }
            (None, None) => unreachable!("the loop runs while either list has entries"),
        }
    }
    v.entries = out;
}

/// The span of the vectors added so far, in echelon form: each basis
/// vector has coefficient 1 at its pivot (its smallest leaf), and pivots
/// are distinct.
#[derive(Debug, Default, Clone)]
pub struct Span {
    basis: HashMap<u32, Vector>,
}

impl Span {
    pub fn new() -> Span {
        Span::default()
    }

    pub fn rank(&self) -> usize {
        self.basis.len()
    }

    /// `v` less its component in the span: empty exactly when `v` is in it.
    pub fn reduce(&self, mut v: Vector) -> Vector {
        let mut cursor = 0u32;
        loop {
            // The smallest leaf at or after the cursor that is a pivot.
            let from = v.entries.partition_point(|&(leaf, _)| leaf < cursor);
            let next = v.entries[from..].iter().copied().find(|(leaf, _)| self.basis.contains_key(leaf));
            let Some((pivot, coefficient)) = next else { return v };
            // Basis vectors only hold leaves after their pivot, so the
            // leaves before it stay as they are.
            subtract_multiple(&mut v, coefficient, &self.basis[&pivot]);
            cursor = pivot + 1;
        }
    }

    pub fn contains(&self, v: &Vector) -> bool {
        self.reduce(v.clone()).is_empty()
    }

    /// Adds a vector already reduced by this span and normalised
    /// (`normalise`), with its pivot.
    pub fn add_normalised(&mut self, pivot: u32, reduced: Vector) {
        // Echelon form only: older basis vectors may still hold this
        // pivot, and `reduce`, going through leaves in increasing order,
        // meets it after theirs (back-substitution would cost more than it saves).
        self.basis.insert(pivot, reduced);
    }

    /// Adds `v`; false when it was already in the span.
    pub fn add(&mut self, v: Vector) -> bool {
        let reduced = self.reduce(v);
        if reduced.is_empty() {
            return false;
        }
        let (pivot, normalised) = normalise(reduced);
        self.add_normalised(pivot, normalised);
        true
    }
}

/// `v` scaled to coefficient 1 at its pivot (its smallest leaf), with the
/// pivot; `v` must be non-empty.
pub fn normalise(mut v: Vector) -> (u32, Vector) {
    let (pivot, coefficient) = *v.entries.first().expect("a vector outside the span is non-empty");
    let scale = inverse(coefficient);
    for (_, value) in &mut v.entries {
        *value = mul(*value, scale);
    }
    (pivot, v)
}

/// Whether `v` is a multiple of `w`, which has coefficient 1 at `pivot`.
pub fn is_multiple(v: &Vector, pivot: u32, w: &Vector) -> bool {
    if v.len() != w.len() {
        return false;
    }
    let Some(factor) = v.get(pivot) else { return false };
    v.entries.iter().zip(&w.entries).all(|(&(lv, cv), &(lw, cw))| lv == lw && cv == mul(factor, cw))
}

/// `v` reduced by one more basis vector (`pivot`, `w`, normalised).
pub fn reduce_by(v: &mut Vector, pivot: u32, w: &Vector) {
    if let Some(c) = v.get(pivot) {
        subtract_multiple(v, c, w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_determined_by_its_quarter_and_two_other_months() {
        let (january, february, march) = (indicator(&[0]), indicator(&[1]), indicator(&[2]));
        let quarter = indicator(&[0, 1, 2]);
        let mut span = Span::new();
        assert!(span.add(quarter.clone()));
        assert!(span.add(february));
        assert!(!span.contains(&january), "two unknowns, one equation");
        assert!(span.add(march));
        assert!(span.contains(&january), "quarter - february - march");
        assert!(!span.add(quarter), "already known");
        assert_eq!(span.rank(), 3);
    }

    #[test]
    fn differences_of_overlapping_totals_are_found() {
        // Year = q1 + q2; q1 = a + b; published: year, q2, b  =>  a = year - q2 - b.
        let mut span = Span::new();
        span.add(indicator(&[0, 1, 2, 3]));
        span.add(indicator(&[2, 3]));
        assert!(!span.contains(&indicator(&[0])));
        span.add(indicator(&[1]));
        assert!(span.contains(&indicator(&[0])));
        assert!(!span.contains(&indicator(&[2])), "q2's parts stay unknown");
    }

    #[test]
    fn multiplication_folds_to_the_remainder() {
        let slow = |a: u64, b: u64| ((u128::from(a) * u128::from(b)) % u128::from(PRIME)) as u64;
        let samples = [0, 1, 2, 3, 12345, PRIME / 2, PRIME - 2, PRIME - 1, (1 << 60) + 7, 0x0123_4567_89ab_cdef];
        for a in samples {
            for b in samples {
                assert_eq!(mul(a, b), slow(a, b), "{a} × {b}");
            }
        }
    }

    #[test]
    fn merging_subtraction_matches_the_definition() {
        let mut v = indicator(&[1, 3, 5]);
        subtract_multiple(&mut v, 1, &indicator(&[3, 4]));
        assert_eq!(v.entries, vec![(1, 1), (4, PRIME - 1), (5, 1)], "3 cancels, 4 appears negated");
        assert!(is_multiple(&indicator(&[2, 7]), 2, &indicator(&[2, 7])));
        assert!(!is_multiple(&indicator(&[2, 7]), 2, &indicator(&[2, 8])));
        assert_eq!(indicator(&[9, 2, 9]).keys().collect::<Vec<_>>(), [2, 9]);
    }

    #[test]
    fn inverse_is_an_inverse() {
        for a in [1u64, 2, 3, 12345, PRIME - 1] {
            assert_eq!(mul(a, inverse(a)), 1);
        }
    }
}

/// The first implementation (vectors as maps, `%` on 128 bits), kept as
/// the oracle of the faster one: the same spans, pivots and coefficients
/// for any sequence of vectors.
#[cfg(test)]
mod reference {
    use std::collections::{BTreeMap, HashMap};

    const PRIME: u64 = (1 << 61) - 1;
    pub type Vector = BTreeMap<u32, u64>;

    fn mul(a: u64, b: u64) -> u64 {
        ((u128::from(a) * u128::from(b)) % u128::from(PRIME)) as u64
    }

    fn sub(a: u64, b: u64) -> u64 {
        if a >= b { a - b } else { a + PRIME - b }
    }

    // The inverse is checked on its own (`inverse_is_an_inverse`).
    use super::inverse;

    pub fn indicator(leaves: &[u32]) -> Vector {
        leaves.iter().map(|&leaf| (leaf, 1)).collect()
    }

    fn subtract_multiple(v: &mut Vector, factor: u64, w: &Vector) {
        for (&leaf, &coefficient) in w {
            let product = mul(factor, coefficient);
            let entry = v.entry(leaf).or_insert(0);
            *entry = sub(*entry, product);
            if *entry == 0 {
                v.remove(&leaf);
            }
        }
    }

    #[derive(Default)]
    pub struct Span {
        basis: HashMap<u32, Vector>,
    }

    impl Span {
        pub fn reduce(&self, mut v: Vector) -> Vector {
            let mut cursor = 0u32;
            loop {
                let next =
                    v.range(cursor..).map(|(&leaf, &c)| (leaf, c)).find(|(leaf, _)| self.basis.contains_key(leaf));
                let Some((pivot, coefficient)) = next else { return v };
                subtract_multiple(&mut v, coefficient, &self.basis[&pivot]);
                cursor = pivot + 1;
            }
        }

        pub fn add(&mut self, v: Vector) -> bool {
            let reduced = self.reduce(v);
            let Some((&pivot, &coefficient)) = reduced.iter().next() else { return false };
            let scale = inverse(coefficient);
            let normalised = reduced.into_iter().map(|(leaf, c)| (leaf, mul(c, scale))).collect();
            self.basis.insert(pivot, normalised);
            true
        }
    }
}

#[cfg(test)]
mod against_the_reference {
    use super::*;
    use proptest::prelude::*;

    fn listed(v: &Vector) -> Vec<(u32, u64)> {
        v.entries.clone()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Adding the same vectors in the same order, both give the same
        /// rank at every step and reduce every probe to the same vector.
        #[test]
        fn the_list_vectors_compute_what_the_map_vectors_did(
            added in proptest::collection::vec(proptest::collection::vec(0u32..40, 1..12), 1..60),
            probes in proptest::collection::vec(proptest::collection::vec(0u32..40, 1..12), 1..20),
        ) {
            let (mut fast, mut slow) = (Span::new(), reference::Span::default());
            for leaves in &added {
                prop_assert_eq!(fast.add(indicator(leaves)), slow.add(reference::indicator(leaves)));
            }
            for leaves in probes.iter().chain(&added) {
                let a = fast.reduce(indicator(leaves));
                let b = slow.reduce(reference::indicator(leaves));
                prop_assert_eq!(listed(&a), b.into_iter().collect::<Vec<_>>());
            }
        }
    }
}

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

use std::collections::{BTreeMap, HashMap};

const PRIME: u64 = (1 << 61) - 1;

fn mul(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(PRIME)) as u64
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

/// A sparse vector over the leaves: leaf index → non-zero coefficient.
pub type Vector = BTreeMap<u32, u64>;

/// The indicator vector of a set of leaves.
pub fn indicator(leaves: &[u32]) -> Vector {
    leaves.iter().map(|&leaf| (leaf, 1)).collect()
}

/// `v -= factor * w`, dropping coefficients that become zero.
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
            let next = v.range(cursor..).map(|(&leaf, &c)| (leaf, c)).find(|(leaf, _)| self.basis.contains_key(leaf));
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
    let (&pivot, &coefficient) = v.iter().next().expect("a vector outside the span is non-empty");
    let scale = inverse(coefficient);
    for value in v.values_mut() {
        *value = mul(*value, scale);
    }
    (pivot, v)
}

/// Whether `v` is a multiple of `w`, which has coefficient 1 at `pivot`.
pub fn is_multiple(v: &Vector, pivot: u32, w: &Vector) -> bool {
    let Some(&factor) = v.get(&pivot) else { return false };
    v.len() == w.len() && w.iter().all(|(leaf, &c)| v.get(leaf) == Some(&mul(factor, c)))
}

/// `v` reduced by one more basis vector (`pivot`, `w`, normalised).
pub fn reduce_by(v: &mut Vector, pivot: u32, w: &Vector) {
    if let Some(&c) = v.get(&pivot) {
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
    fn inverse_is_an_inverse() {
        for a in [1u64, 2, 3, 12345, PRIME - 1] {
            assert_eq!(mul(a, inverse(a)), 1);
        }
    }
}

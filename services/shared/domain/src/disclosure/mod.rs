//! Disclosure control over every figure an audience can obtain for a year,
//! as a whole, rather than table by table: each figure is a sum of finest
//! cells (region × skill × month), so a month, its quarter and its year, a
//! region's total over its skills and the country's figure per skill are
//! all linear in the same leaves. Secondary suppression here follows the
//! Gaussian-elimination method of SSBtools' `GaussSuppression` (Langsrud,
//! 2024): figures are considered for publication in order of preference,
//! and one is withheld whenever publishing it would make a withheld
//! primary figure a linear combination of published ones. The audit
//! (`determined`) checks the result independently of how it was made.
//! See docs/research/disclosure_control.md for the methods compared.

pub mod hierarchy;
pub mod publication;
pub mod span;

use span::{Span, indicator, is_multiple, normalise, reduce_by};

/// A figure that can be published: the leaves it adds up, whether it is
/// sensitive itself (primary: built on fewer than k contributors), and a
/// preference to publish it (figures of more learners first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    pub leaves: Vec<u32>,
    pub primary: bool,
    pub weight: u64,
}

/// Which figures to withhold: every primary, plus the secondary figures
/// without which some primary could be computed from what is published.
/// Deterministic: candidates by weight, larger first, then by index.
/// (One family of values; `Decider` decides several at once.)
pub fn withhold(figures: &[Figure]) -> Vec<bool> {
    let mut withheld: Vec<bool> = figures.iter().map(|f| f.primary).collect();
    // Each non-empty primary vector, kept reduced by the published span.
    let mut primaries: Vec<span::Vector> =
        figures.iter().filter(|f| f.primary && !f.leaves.is_empty()).map(|f| indicator(&f.leaves)).collect();
    let mut order: Vec<usize> = (0..figures.len()).filter(|&i| !withheld[i]).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(figures[i].weight), i));
    let mut published = Span::new();
    for index in order {
        let reduced = published.reduce(indicator(&figures[index].leaves));
        if reduced.is_empty() {
            continue; // already computable from what is published: no news
        }
        let (pivot, normalised) = normalise(reduced);
        // Publishing it determines a primary whose reduced vector is a
        // multiple of it (that vector would reduce to nothing).
        let discloses = primaries.iter().any(|p| is_multiple(p, pivot, &normalised));
        if discloses {
            withheld[index] = true;
            continue;
        }
        for p in &mut primaries {
            reduce_by(p, pivot, &normalised);
        }
        published.add_normalised(pivot, normalised);
    }
    withheld
}

/// For each withheld figure, whether the published ones determine it
/// exactly (the audit's test of exact disclosure).
pub fn determined(figures: &[Figure], withheld: &[bool]) -> Vec<bool> {
    let mut published = Span::new();
    for (figure, _) in figures.iter().zip(withheld).filter(|(_, w)| !**w) {
        published.add(indicator(&figure.leaves));
    }
    figures.iter().zip(withheld).map(|(figure, &w)| w && published.contains(&indicator(&figure.leaves))).collect()
}

#[cfg(test)]
mod tests;

/// Gaussian-elimination suppression over several variables at once: one
/// span of shown vectors per variable, each with its own primaries. A
/// figure is published only if, for none of its variables, publishing it
/// makes a primary's vector of that variable a combination of shown ones.
/// Variables with the same vectors and primaries share one span.
#[derive(Default)]
pub struct Decider {
    tracks: Vec<Track>,
}

struct Track {
    vectors: Vec<span::Vector>,
    span: Span,
    /// Primary vectors, kept reduced by the span.
    primaries: Vec<span::Vector>,
    /// Which primaries may hold each leaf: a new pivot concerns those only.
    holders: Holders,
    key: Vec<(Vec<u32>, bool)>,
}

impl Decider {
    /// A variable: each figure's leaves (empty: no value, or known) and
    /// whether it is primary for this variable.
    pub fn add_variable(&mut self, vectors: Vec<Vec<u32>>, primary: Vec<bool>) {
        let key: Vec<(Vec<u32>, bool)> = vectors.iter().cloned().zip(primary.iter().copied()).collect();
        if self.tracks.iter().any(|t| t.key == key) {
            return;
        }
        let primaries: Vec<span::Vector> =
            vectors.iter().zip(&primary).filter(|(v, p)| **p && !v.is_empty()).map(|(v, _)| indicator(v)).collect();
        let mut holders = Holders::default();
        for (index, p) in primaries.iter().enumerate() {
            holders.note(index as u32, p.keys());
        }
        let vectors = vectors.iter().map(|v| indicator(v)).collect();
        self.tracks.push(Track { vectors, span: Span::new(), primaries, holders, key });
    }

    /// Publishes figure `index` unless that would make some primary
    /// computable; true when published.
    pub fn publish_if_safe(&mut self, index: usize) -> bool {
        let mut reductions = Vec::with_capacity(self.tracks.len());
        for track in &self.tracks {
            let reduced = track.span.reduce(track.vectors[index].clone());
            if reduced.is_empty() {
                reductions.push(None);
                continue;
            }
            let (pivot, normalised) = normalise(reduced);
            // Only a primary holding the pivot can be a multiple of it.
            if track.holders.get(pivot).iter().any(|&p| is_multiple(&track.primaries[p as usize], pivot, &normalised)) {
                return false;
            }
            reductions.push(Some((pivot, normalised)));
        }
        for (track, reduction) in self.tracks.iter_mut().zip(reductions) {
            if let Some((pivot, normalised)) = reduction {
                for p in track.holders.take(pivot) {
                    let primary = &mut track.primaries[p as usize];
                    if primary.contains_key(pivot) {
                        reduce_by(primary, pivot, &normalised);
                        track.holders.note(p, normalised.keys().filter(|&leaf| leaf != pivot));
                    }
                }
                track.span.add_normalised(pivot, normalised);
            }
        }
        true
    }
}

/// For each leaf, the primaries (by index) that may hold it: a new pivot
/// concerns those only, not every primary.
#[derive(Debug, Default, Clone)]
pub struct Holders {
    by_leaf: std::collections::HashMap<u32, Vec<u32>>,
}

impl Holders {
    /// Notes that vector `key` holds `leaves`.
    pub fn note(&mut self, key: u32, leaves: impl IntoIterator<Item = u32>) {
        for leaf in leaves {
            let list = self.by_leaf.entry(leaf).or_default();
            if list.last() != Some(&key) {
                list.push(key);
            }
        }
    }

    /// The keys noted for `leaf` (possibly repeated or stale).
    pub fn get(&self, leaf: u32) -> &[u32] {
        self.by_leaf.get(&leaf).map_or(&[], Vec::as_slice)
    }

    /// The keys noted for `leaf`, forgotten here (deduplicated; some may
    /// no longer hold it).
    pub fn take(&mut self, leaf: u32) -> Vec<u32> {
        let mut keys = self.by_leaf.remove(&leaf).unwrap_or_default();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

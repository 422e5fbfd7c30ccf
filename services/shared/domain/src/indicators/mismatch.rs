//! Geographic mismatch of one skill: the Duncan dissimilarity index of
//! openings against qualified supply across regions,
//! D = ½ Σ_r |O_r/O − S_r/S|. 0: supply sits where the openings are;
//! 1: they never meet.

/// `regions` holds (openings O_r, qualified supply S_r) per region. None when
/// either total is zero or a value is negative or not finite.
pub fn duncan_index(regions: &[(f64, f64)]) -> Option<f64> {
    if regions.iter().any(|(o, s)| !o.is_finite() || !s.is_finite() || *o < 0.0 || *s < 0.0) {
        return None;
    }
    let total_openings: f64 = regions.iter().map(|(o, _)| o).sum();
    let total_supply: f64 = regions.iter().map(|(_, s)| s).sum();
    if total_openings <= 0.0 || total_supply <= 0.0 {
        return None;
    }
    let sum: f64 = regions.iter().map(|(o, s)| (o / total_openings - s / total_supply).abs()).sum();
    Some((0.5 * sum).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_cases() {
        assert_eq!(duncan_index(&[(10.0, 5.0), (30.0, 15.0)]), Some(0.0));
        assert_eq!(duncan_index(&[(10.0, 0.0), (0.0, 10.0)]), Some(1.0));
        // O shares 0.5/0.5, S shares 0.8/0.2: D = ½(0.3 + 0.3) = 0.3.
        let d = duncan_index(&[(50.0, 80.0), (50.0, 20.0)]).unwrap();
        assert!((d - 0.3).abs() < 1e-12);
        assert_eq!(duncan_index(&[(0.0, 3.0)]), None);
        assert_eq!(duncan_index(&[(3.0, 0.0)]), None);
        assert_eq!(duncan_index(&[(3.0, -1.0), (1.0, 1.0)]), None);
        assert_eq!(duncan_index(&[]), None);
    }

    proptest! {
        #[test]
        fn stays_within_zero_and_one(regions in proptest::collection::vec((0.0f64..1e6, 0.0f64..1e6), 1..18)) {
            if let Some(d) = duncan_index(&regions) {
                prop_assert!((0.0..=1.0).contains(&d));
            }
        }

        #[test]
        fn is_symmetric_in_its_two_distributions(regions in proptest::collection::vec((0.1f64..1e4, 0.1f64..1e4), 1..18)) {
            let swapped: Vec<(f64, f64)> = regions.iter().map(|(o, s)| (*s, *o)).collect();
            let d1 = duncan_index(&regions).unwrap();
            let d2 = duncan_index(&swapped).unwrap();
            prop_assert!((d1 - d2).abs() < 1e-9);
        }
    }
}

//! The 1–5 shortage score: quintiles of the shortage ratio across the cells
//! of a period, the scale of the public employment service's tension
//! indicators. 1 is the least tense fifth, 5 the most.

/// For each value, 1 + ⌊5 × (values strictly below it) / n⌋ over the n
/// values present; equal values get equal scores; None stays None.
pub fn quintile_scores(values: &[Option<f64>]) -> Vec<Option<u8>> {
    let mut present: Vec<f64> = values.iter().flatten().copied().filter(|v| !v.is_nan()).collect();
    present.sort_by(f64::total_cmp);
    let n = present.len();
    values
        .iter()
        .map(|value| {
            let value = (*value).filter(|v| !v.is_nan())?;
            let below = present.partition_point(|other| *other < value);
            Some(1 + (5 * below / n) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ten_distinct_values_fill_each_quintile_twice() {
        let values: Vec<Option<f64>> = (1..=10).map(|v| Some(v as f64)).collect();
        let scores: Vec<u8> = quintile_scores(&values).into_iter().map(Option::unwrap).collect();
        assert_eq!(scores, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }

    #[test]
    fn ties_share_a_score_and_missing_values_stay_missing() {
        let scores = quintile_scores(&[Some(2.0), None, Some(2.0), Some(9.0)]);
        assert_eq!(scores, [Some(1), None, Some(1), Some(4)]);
        assert_eq!(quintile_scores(&[Some(3.0)]), [Some(1)]);
        assert!(quintile_scores(&[]).is_empty());
    }

    proptest! {
        #[test]
        fn scores_are_in_range_and_monotone(values in proptest::collection::vec(0.0f64..1000.0, 1..200)) {
            let wrapped: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
            let scores = quintile_scores(&wrapped);
            for (i, a) in values.iter().enumerate() {
                let score_a = scores[i].unwrap();
                prop_assert!((1..=5).contains(&score_a));
                for (j, b) in values.iter().enumerate() {
                    if a < b { prop_assert!(score_a <= scores[j].unwrap()); }
                }
            }
        }
    }
}

//! One year's publication: which of its figures are withheld from
//! audiences under the k rule, decided once over the whole hierarchy so
//! that every call, at every granularity, shows the same figures.

use super::hierarchy::{ALL, FigureKey, Hierarchy, YearCounters};

#[derive(Debug, Clone, Default)]
pub struct Publication {
    pub hierarchy: Hierarchy,
    pub withheld: Vec<bool>,
    /// Per withheld figure, which families of values stay hidden (flows,
    /// stocks, groups): those the shown figures do not already give.
    pub hidden: Vec<[bool; 3]>,
}

impl Publication {
    /// The year's decisions under `k` (0: nothing withheld).
    pub fn of_year(year: i32, counters: &YearCounters, k: u32) -> Publication {
        let hierarchy = Hierarchy::of_year(year, counters, k);
        let withheld = if k == 0 { vec![false; hierarchy.figures.len()] } else { hierarchy.withhold() };
        let hidden = hierarchy.hidden(&withheld);
        Publication { hierarchy, withheld, hidden }
    }

    /// Whether a figure is withheld; a figure the year does not hold has no
    /// contributor, is shown empty and withheld never.
    pub fn withholds(&self, key: &FigureKey) -> bool {
        self.hierarchy.index.get(key).is_some_and(|&i| self.withheld[i])
    }

    /// Which families of a figure's values are hidden (flows, stocks,
    /// groups); none for a figure the year does not hold.
    pub fn hidden(&self, key: &FigureKey) -> [bool; 3] {
        self.hierarchy.index.get(key).map_or([false; 3], |&i| self.hidden[i])
    }

    /// Whether a region's total over its skills is withheld for `period`.
    pub fn withholds_total(&self, period: crate::Period, region: &str) -> bool {
        self.withholds(&FigureKey::cell(period, region, ALL))
    }

    /// How many figures there are, are primary, and are withheld.
    pub fn counts(&self) -> (usize, usize, usize) {
        let primary = self.hierarchy.figures.iter().filter(|f| f.primary).count();
        (self.hierarchy.figures.len(), primary, self.withheld.iter().filter(|w| **w).count())
    }
}

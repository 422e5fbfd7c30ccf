//! A bounded memory of recent event ids and the raw records they were
//! produced from. A repeat from another raw record is a partner's duplicate:
//! ingestion sends a notice in its place rather than the event. The store
//! stays idempotent for anything older.

use skills_domain::facts::RawSource;
use std::collections::{HashMap, VecDeque};

pub struct DedupWindow {
    capacity: usize,
    order: VecDeque<String>,
    seen: HashMap<String, RawSource>,
}

impl DedupWindow {
    pub fn new(capacity: usize) -> Self {
        DedupWindow { capacity, order: VecDeque::new(), seen: HashMap::new() }
    }

    /// The raw record an id was produced from, if remembered.
    pub fn source_of(&self, event_id: &str) -> Option<&RawSource> {
        self.seen.get(event_id)
    }

    /// Remembers an id produced downstream, forgetting the oldest past
    /// capacity; the first record an id was produced from is kept.
    pub fn remember(&mut self, event_id: String, source: RawSource) {
        if self.capacity == 0 || self.seen.contains_key(&event_id) {
            return;
        }
        self.seen.insert(event_id.clone(), source);
        self.order.push_back(event_id);
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_up_to_capacity() {
        let at = |offset| RawSource { topic: "raw".into(), partition: 0, offset };
        let mut window = DedupWindow::new(2);
        window.remember("a".into(), at(1));
        window.remember("b".into(), at(2));
        window.remember("a".into(), at(3));
        assert_eq!(window.source_of("a"), Some(&at(1)), "the first record is kept");
        assert!(window.source_of("b").is_some());
        window.remember("c".into(), at(4));
        assert!(window.source_of("a").is_none(), "oldest forgotten");
        assert_eq!(window.len(), 2);
        let mut off = DedupWindow::new(0);
        off.remember("x".into(), at(5));
        assert!(off.is_empty());
    }
}

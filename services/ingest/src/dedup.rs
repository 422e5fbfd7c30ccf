//! A bounded memory of recent event ids. Ingestion drops an event whose id
//! it has already produced; the store stays idempotent for anything older.

use std::collections::{HashSet, VecDeque};

pub struct DedupWindow {
    capacity: usize,
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl DedupWindow {
    pub fn new(capacity: usize) -> Self {
        DedupWindow { capacity, order: VecDeque::new(), seen: HashSet::new() }
    }

    pub fn contains(&self, event_id: &str) -> bool {
        self.seen.contains(event_id)
    }

    /// Remembers an id produced downstream, forgetting the oldest past capacity.
    pub fn remember(&mut self, event_id: String) {
        if self.capacity == 0 || !self.seen.insert(event_id.clone()) {
            return;
        }
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
        let mut window = DedupWindow::new(2);
        window.remember("a".into());
        window.remember("b".into());
        window.remember("a".into());
        assert!(window.contains("a") && window.contains("b"));
        window.remember("c".into());
        assert!(!window.contains("a"), "oldest forgotten");
        assert_eq!(window.len(), 2);
        let mut off = DedupWindow::new(0);
        off.remember("x".into());
        assert!(off.is_empty());
    }
}

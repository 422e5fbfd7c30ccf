//! Event ids the gateway accepted lately, with a hash of their content:
//! the same event again is a DUPLICATE, the same id with other content a
//! conflict. Bounded: the oldest ids are forgotten first. Per process and
//! not durable; downstream deduplication counts an event once regardless.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    New,
    Same,
    Different,
}

pub struct RecentIds {
    inner: Mutex<Inner>,
    capacity: usize,
}

#[derive(Default)]
struct Inner {
    hashes: HashMap<String, u64>,
    order: VecDeque<String>,
}

impl RecentIds {
    pub fn new(capacity: usize) -> RecentIds {
        RecentIds { inner: Mutex::default(), capacity }
    }

    pub fn check(&self, event_id: &str, content: u64) -> Seen {
        match self.inner.lock().expect("recent ids lock").hashes.get(event_id) {
            None => Seen::New,
            Some(known) if *known == content => Seen::Same,
            Some(_) => Seen::Different,
        }
    }

    /// Remembers ids once they are durable.
    pub fn remember<'a>(&self, accepted: impl IntoIterator<Item = (&'a str, u64)>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock().expect("recent ids lock");
        for (event_id, content) in accepted {
            if inner.hashes.insert(event_id.to_string(), content).is_none() {
                inner.order.push_back(event_id.to_string());
            }
            while inner.order.len() > self.capacity {
                if let Some(oldest) = inner.order.pop_front() {
                    inner.hashes.remove(&oldest);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_is_a_duplicate_other_content_a_conflict() {
        let recent = RecentIds::new(10);
        assert_eq!(recent.check("a", 1), Seen::New);
        recent.remember([("a", 1)]);
        assert_eq!(recent.check("a", 1), Seen::Same);
        assert_eq!(recent.check("a", 2), Seen::Different);
    }

    #[test]
    fn the_oldest_ids_are_forgotten_first() {
        let recent = RecentIds::new(2);
        recent.remember([("a", 1), ("b", 1), ("c", 1)]);
        assert_eq!(recent.check("a", 1), Seen::New);
        assert_eq!(recent.check("b", 1), Seen::Same);
        assert_eq!(recent.check("c", 1), Seen::Same);
    }
}

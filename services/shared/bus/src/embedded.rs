//! The embedded bus: an in-process, bounded, single-partition log per topic.
//!
//! Each topic keeps the records no consumer group has committed yet, up to
//! `capacity`; a producer waits while a topic is full (back-pressure, never
//! loss). A consumer that did not commit sees the same records again when it
//! is re-created, as with Kafka. Nothing survives the process: the embedded
//! stack keeps its durable state in the store, which is idempotent.

use crate::{Bus, BusError, Consumer, Message, Position, Producer, Record};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

const PARTITION: i32 = 0;

#[derive(Default)]
struct TopicLog {
    /// Offset of `records[0]`.
    base_offset: i64,
    records: VecDeque<Arc<Message>>,
    /// Committed next-offset per consumer group.
    committed: HashMap<String, i64>,
    /// Groups with a live consumer.
    attached: HashSet<String>,
}

impl TopicLog {
    fn end_offset(&self) -> i64 {
        self.base_offset + self.records.len() as i64
    }

    /// Drops records every known group has committed.
    fn trim(&mut self) {
        let Some(low) = self.committed.values().min().copied() else { return };
        while self.base_offset < low && !self.records.is_empty() {
            self.records.pop_front();
            self.base_offset += 1;
        }
    }
}

struct Topic {
    log: Mutex<TopicLog>,
    data_arrived: Notify,
    space_freed: Notify,
}

struct Shared {
    topics: Mutex<HashMap<String, Arc<Topic>>>,
    capacity: usize,
}

impl Shared {
    fn topic(&self, name: &str) -> Arc<Topic> {
        let mut topics = self.topics.lock().expect("bus lock poisoned");
        topics
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(Topic {
                    log: Mutex::new(TopicLog::default()),
                    data_arrived: Notify::new(),
                    space_freed: Notify::new(),
                })
            })
            .clone()
    }
}

/// The in-process bus. Cheap to clone; clones share topics.
#[derive(Clone)]
pub struct EmbeddedBus {
    shared: Arc<Shared>,
}

impl EmbeddedBus {
    /// `capacity`: uncommitted records a topic holds before producers wait.
    pub fn new(capacity: usize) -> Self {
        EmbeddedBus { shared: Arc::new(Shared { topics: Mutex::new(HashMap::new()), capacity: capacity.max(1) }) }
    }

    /// Records produced to a topic so far (its end offset).
    pub fn end_offset(&self, topic: &str) -> i64 {
        self.shared.topic(topic).log.lock().expect("bus lock poisoned").end_offset()
    }

    /// Records of a topic not yet committed by `group`.
    pub fn lag(&self, topic: &str, group: &str) -> i64 {
        let topic = self.shared.topic(topic);
        let log = topic.log.lock().expect("bus lock poisoned");
        log.end_offset() - log.committed.get(group).copied().unwrap_or(0)
    }
}

#[async_trait]
impl Bus for EmbeddedBus {
    async fn ensure_topics(&self, topics: &[String]) -> Result<(), BusError> {
        for topic in topics {
            self.shared.topic(topic);
        }
        Ok(())
    }

    fn producer(&self) -> Arc<dyn Producer> {
        Arc::new(EmbeddedProducer { shared: self.shared.clone() })
    }

    fn consumer(&self, group: &str, topics: &[String]) -> Result<Box<dyn Consumer>, BusError> {
        let mut cursors = Vec::with_capacity(topics.len());
        for name in topics {
            let topic = self.shared.topic(name);
            let mut log = topic.log.lock().expect("bus lock poisoned");
            if !log.attached.insert(group.to_string()) {
                return Err(BusError::GroupBusy { group: group.to_string(), topic: name.clone() });
            }
            let start = *log.committed.entry(group.to_string()).or_insert(0);
            drop(log);
            cursors.push(Cursor { name: name.clone(), topic, next_offset: start });
        }
        Ok(Box::new(EmbeddedConsumer { group: group.to_string(), cursors, turn: 0 }))
    }
}

struct EmbeddedProducer {
    shared: Arc<Shared>,
}

#[async_trait]
impl Producer for EmbeddedProducer {
    async fn send(&self, topic_name: &str, messages: Vec<Message>) -> Result<(), BusError> {
        let topic = self.shared.topic(topic_name);
        for message in messages {
            let message = Arc::new(message);
            loop {
                let space_freed = topic.space_freed.notified();
                {
                    let mut log = topic.log.lock().expect("bus lock poisoned");
                    if log.records.len() < self.shared.capacity {
                        log.records.push_back(message.clone());
                        break;
                    }
                }
                space_freed.await;
            }
            topic.data_arrived.notify_waiters();
        }
        Ok(())
    }
}

struct Cursor {
    name: String,
    topic: Arc<Topic>,
    next_offset: i64,
}

struct EmbeddedConsumer {
    group: String,
    cursors: Vec<Cursor>,
    /// Which topic to read first, so one busy topic cannot starve another.
    turn: usize,
}

impl EmbeddedConsumer {
    fn take_available(&mut self, max: usize) -> Vec<Record> {
        let mut records = Vec::new();
        let count = self.cursors.len();
        for step in 0..count {
            let cursor = &mut self.cursors[(self.turn + step) % count];
            let log = cursor.topic.log.lock().expect("bus lock poisoned");
            cursor.next_offset = cursor.next_offset.max(log.base_offset);
            while records.len() < max && cursor.next_offset < log.end_offset() {
                let index = (cursor.next_offset - log.base_offset) as usize;
                records.push(Record {
                    topic: cursor.name.clone(),
                    partition: PARTITION,
                    offset: cursor.next_offset,
                    message: (*log.records[index]).clone(),
                });
                cursor.next_offset += 1;
            }
        }
        self.turn = self.turn.wrapping_add(1);
        records
    }
}

#[async_trait]
impl Consumer for EmbeddedConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Record>, BusError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Register interest before looking, so a record produced in
            // between still wakes us.
            let topics: Vec<Arc<Topic>> = self.cursors.iter().map(|c| c.topic.clone()).collect();
            let mut waits: Vec<_> = topics.iter().map(|t| Box::pin(t.data_arrived.notified())).collect();
            for wait in waits.iter_mut() {
                wait.as_mut().enable();
            }
            let records = self.take_available(max.max(1));
            if !records.is_empty() {
                return Ok(records);
            }
            let any_arrival = futures_any(waits);
            if tokio::time::timeout_at(deadline, any_arrival).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn lag(&mut self) -> Result<i64, BusError> {
        let mut lag = 0;
        for cursor in &self.cursors {
            let log = cursor.topic.log.lock().expect("bus lock poisoned");
            lag += log.end_offset() - log.committed.get(&self.group).copied().unwrap_or(0);
        }
        Ok(lag)
    }

    async fn commit(&mut self, positions: &[(String, Position)]) -> Result<(), BusError> {
        for (topic_name, position) in positions {
            let cursor = self
                .cursors
                .iter()
                .find(|c| &c.name == topic_name)
                .ok_or_else(|| BusError::UnknownTopic(topic_name.clone()))?;
            let mut log = cursor.topic.log.lock().expect("bus lock poisoned");
            let committed = log.committed.entry(self.group.clone()).or_insert(0);
            *committed = (*committed).max(position.next_offset);
            log.trim();
            drop(log);
            cursor.topic.space_freed.notify_waiters();
        }
        Ok(())
    }
}

impl Drop for EmbeddedConsumer {
    fn drop(&mut self) {
        for cursor in &self.cursors {
            if let Ok(mut log) = cursor.topic.log.lock() {
                log.attached.remove(&self.group);
            }
        }
    }
}

/// Resolves when any of the futures does.
async fn futures_any<F: std::future::Future<Output = ()> + Unpin>(futures: Vec<F>) {
    let mut futures = futures;
    std::future::poll_fn(move |cx| {
        for future in futures.iter_mut() {
            if std::pin::Pin::new(future).poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::positions_after;

    fn message(text: &str) -> Message {
        Message::new(text.as_bytes().to_vec())
    }

    fn payloads(records: &[Record]) -> Vec<String> {
        records.iter().map(|r| String::from_utf8(r.message.payload.clone()).unwrap()).collect()
    }

    #[tokio::test]
    async fn uncommitted_records_are_delivered_again_to_a_new_consumer() {
        let bus = EmbeddedBus::new(100);
        bus.producer().send("t", vec![message("a"), message("b"), message("c")]).await.unwrap();
        let topics = vec!["t".to_string()];
        let mut consumer = bus.consumer("g", &topics).unwrap();
        let first = consumer.poll(2, Duration::from_millis(10)).await.unwrap();
        assert_eq!(payloads(&first), ["a", "b"]);
        consumer.commit(&positions_after(&first[..1])).await.unwrap();
        drop(consumer);
        let mut again = bus.consumer("g", &topics).unwrap();
        let second = again.poll(10, Duration::from_millis(10)).await.unwrap();
        assert_eq!(payloads(&second), ["b", "c"]);
        assert_eq!(second[0].offset, 1);
        assert_eq!(bus.lag("t", "g"), 2);
        assert_eq!(again.lag().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_full_topic_makes_the_producer_wait_until_a_commit() {
        let bus = EmbeddedBus::new(2);
        let topics = vec!["t".to_string()];
        let mut consumer = bus.consumer("g", &topics).unwrap();
        let producer = bus.producer();
        let sending =
            tokio::spawn(async move { producer.send("t", vec![message("1"), message("2"), message("3")]).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!sending.is_finished(), "third message must wait for space");
        assert_eq!(bus.end_offset("t"), 2);
        let records = consumer.poll(10, Duration::from_millis(10)).await.unwrap();
        consumer.commit(&positions_after(&records)).await.unwrap();
        sending.await.unwrap().unwrap();
        assert_eq!(bus.end_offset("t"), 3);
        let rest = consumer.poll(10, Duration::from_millis(100)).await.unwrap();
        assert_eq!(payloads(&rest), ["3"]);
    }

    #[tokio::test]
    async fn poll_wakes_when_data_arrives_and_times_out_otherwise() {
        let bus = EmbeddedBus::new(10);
        let topics = vec!["a".to_string(), "b".to_string()];
        let mut consumer = bus.consumer("g", &topics).unwrap();
        let empty = consumer.poll(10, Duration::from_millis(20)).await.unwrap();
        assert!(empty.is_empty());
        let producer = bus.producer();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            producer.send("b", vec![message("x")]).await.unwrap();
        });
        let records = consumer.poll(10, Duration::from_secs(5)).await.unwrap();
        assert_eq!(records[0].topic, "b");
        assert!(matches!(bus.consumer("g", &topics), Err(BusError::GroupBusy { .. })));
    }
}

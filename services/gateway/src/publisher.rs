//! The gateway's core, the same for gRPC and xAPI: admit a call (the
//! partner's quota, the gateway's capacity), check each event with the
//! domain code ingest runs, and write what passes to its raw topic, acking
//! it only once Kafka has it (acks=all).

use crate::recent::{RecentIds, Seen};
use crate::stats::GatewayStats;
use chrono::{DateTime, Utc};
use skills_bus::{Message, Producer, headers};
use skills_config::GatewayConfig;
use skills_domain::events::{EventKind, IngestPolicy, RejectReason, Rejection, check_partner_event};
use skills_proto::Message as _;
use skills_proto::v1::EventEnvelope;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long calls are refused at once after Kafka failed a write, before
/// the next call tries it again.
const UNAVAILABLE_PAUSE: Duration = Duration::from_secs(1);
/// How long a call waits for room among the events in flight.
const CAPACITY_WAIT: Duration = Duration::from_millis(200);

/// One event ready to write, and what its ack will say.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Its position in the call (stream or batch), from 0.
    pub index: u64,
    pub event_id: String,
    /// A hash of its content: the same id with other content is a conflict.
    pub content: u64,
    pub topic: String,
    pub message: Message,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Duplicate,
    /// Its id was accepted before with other content; not written.
    Conflict,
}

/// A call refused whole, with the delay before a retry can succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    #[error("partner {partner} is over its quota of events; retry after {retry_after:?}")]
    Quota { partner: String, retry_after: Duration },
    #[error("the gateway has {limit} events in flight to Kafka; retry after {retry_after:?}")]
    Busy { limit: usize, retry_after: Duration },
    #[error(
        "Kafka did not acknowledge the write: {message}; events not acknowledged may or may not be written: send them again with the same ids"
    )]
    Unavailable { message: String, retry_after: Duration },
    #[error("{events} events in one call; at most {limit}")]
    TooMany { events: usize, limit: usize },
}

impl Refusal {
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Refusal::Quota { retry_after, .. }
            | Refusal::Busy { retry_after, .. }
            | Refusal::Unavailable { retry_after, .. } => Some(*retry_after),
            Refusal::TooMany { .. } => None,
        }
    }

    /// The metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::Quota { .. } => "quota",
            Refusal::Busy { .. } => "capacity",
            Refusal::Unavailable { .. } => "kafka",
            Refusal::TooMany { .. } => "too_many",
        }
    }
}

/// Room for a call's events among those in flight, held until it is acked.
pub struct Admitted {
    _permit: Option<OwnedSemaphorePermit>,
}

pub struct Publisher {
    producer: Arc<dyn Producer>,
    config: GatewayConfig,
    policy: IngestPolicy,
    recent: RecentIds,
    quotas: crate::quota::Quotas,
    in_flight: Arc<Semaphore>,
    unavailable_until: Mutex<Option<Instant>>,
    stats: Arc<GatewayStats>,
}

impl Publisher {
    pub fn new(
        producer: Arc<dyn Producer>,
        config: GatewayConfig,
        policy: IngestPolicy,
        stats: Arc<GatewayStats>,
    ) -> Publisher {
        Publisher {
            producer,
            recent: RecentIds::new(config.recent_ids),
            quotas: crate::quota::Quotas::new(config.partner_rate_per_s, config.partner_burst),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight_events.max(1))),
            unavailable_until: Mutex::new(None),
            config,
            policy,
            stats,
        }
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    pub fn stats(&self) -> &Arc<GatewayStats> {
        &self.stats
    }

    /// Lets a call of `events` events in, or refuses it whole: too many
    /// for one call, over the partner's quota, Kafka known down, or the
    /// gateway full.
    pub async fn admit(&self, partner: &str, events: usize) -> Result<Admitted, Refusal> {
        let refused = |refusal: Refusal| {
            self.stats.refused(partner, refusal.label());
            refusal
        };
        if events > self.config.max_batch_events {
            return Err(refused(Refusal::TooMany { events, limit: self.config.max_batch_events }));
        }
        if let Some(until) = *self.unavailable_until.lock().expect("breaker lock")
            && Instant::now() < until
        {
            let retry_after = until - Instant::now();
            return Err(refused(Refusal::Unavailable { message: "Kafka failed a recent write".into(), retry_after }));
        }
        self.quotas
            .take(partner, events, Instant::now())
            .map_err(|retry_after| refused(Refusal::Quota { partner: partner.to_string(), retry_after }))?;
        if events == 0 {
            return Ok(Admitted { _permit: None });
        }
        let wanted = u32::try_from(events.min(self.config.max_in_flight_events.max(1))).unwrap_or(u32::MAX);
        let permit = tokio::time::timeout(CAPACITY_WAIT, self.in_flight.clone().acquire_many_owned(wanted))
            .await
            .map_err(|_| {
                refused(Refusal::Busy { limit: self.config.max_in_flight_events, retry_after: CAPACITY_WAIT * 2 })
            })?
            .expect("the semaphore is never closed");
        Ok(Admitted { _permit: Some(permit) })
    }

    /// Checks one event as ingest would and makes it ready to write: the
    /// partner filled in or checked, the size, the contract.
    pub fn prepare(
        &self,
        partner: &str,
        index: u64,
        mut envelope: EventEnvelope,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, Rejection> {
        let named = envelope.partner_id.trim();
        if named.is_empty() {
            envelope.partner_id = partner.to_string();
        }
        let payload = envelope.encode_to_vec();
        let (event_id, topic) = self.check(partner, envelope, payload.len(), now)?;
        let message = Message::new(payload)
            .with_header(headers::CONTENT_TYPE, "application/x-protobuf")
            .with_header(headers::PARTNER_ID, partner);
        Ok(Outgoing { index, content: content_hash(&message.payload), event_id, topic, message })
    }

    /// What ingest would say of an event `size` bytes long from `partner`:
    /// its canonical id and raw topic, or why it would be dead-lettered.
    pub fn check(
        &self,
        partner: &str,
        envelope: EventEnvelope,
        size: usize,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Rejection> {
        let kind = EventKind::of(&envelope);
        let valid = check_partner_event(envelope, partner, size, &self.policy, now)?;
        Ok((valid.event_id, self.topic_of(kind).to_string()))
    }

    /// The raw topic of a kind of event; events of no kind go with the
    /// enrolments, where ingest dead-letters them.
    pub fn topic_of(&self, kind: Option<EventKind>) -> &str {
        self.config.topic_for_kind(kind.map_or("", EventKind::name))
    }

    /// The first event whose id was accepted before with other content.
    pub fn first_conflict<'a>(&self, items: &'a [Outgoing]) -> Option<&'a Outgoing> {
        items.iter().find(|item| self.recent.check(&item.event_id, item.content) == Seen::Different)
    }

    /// Writes the events not seen before and waits for Kafka to have all
    /// of them; answers a verdict per event, in the order given. On a
    /// refusal, events of topics already written are remembered, so a
    /// retry of the whole call gets DUPLICATE for them.
    pub async fn write(
        &self,
        partner: &str,
        items: Vec<Outgoing>,
        _admitted: Admitted,
    ) -> Result<Vec<(Outgoing, Verdict)>, Refusal> {
        let mut verdicts = Vec::with_capacity(items.len());
        let mut in_call: HashMap<String, u64> = HashMap::new();
        for item in items {
            let seen = match in_call.get(&item.event_id) {
                Some(content) if *content == item.content => Seen::Same,
                Some(_) => Seen::Different,
                None => self.recent.check(&item.event_id, item.content),
            };
            let verdict = match seen {
                Seen::New => {
                    in_call.insert(item.event_id.clone(), item.content);
                    Verdict::Accepted
                }
                Seen::Same => Verdict::Duplicate,
                Seen::Different => Verdict::Conflict,
            };
            verdicts.push((item, verdict));
        }
        let mut by_topic: BTreeMap<&str, Vec<&Outgoing>> = BTreeMap::new();
        for (item, verdict) in &verdicts {
            if *verdict == Verdict::Accepted {
                by_topic.entry(item.topic.as_str()).or_default().push(item);
            }
        }
        let started = Instant::now();
        for (topic, items) in by_topic {
            let messages: Vec<Message> = items.iter().map(|item| item.message.clone()).collect();
            let timeout = Duration::from_millis(self.config.write_timeout_ms);
            let written = match tokio::time::timeout(timeout, self.producer.send_ref(topic, &messages)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err(format!("no acknowledgement within {timeout:?}")),
            };
            if let Err(message) = written {
                tracing::warn!(%partner, %topic, %message, "write to Kafka failed");
                *self.unavailable_until.lock().expect("breaker lock") = Some(Instant::now() + UNAVAILABLE_PAUSE);
                self.stats.refused(partner, "kafka");
                return Err(Refusal::Unavailable { message, retry_after: UNAVAILABLE_PAUSE });
            }
            self.recent.remember(items.iter().map(|item| (item.event_id.as_str(), item.content)));
        }
        self.stats.observe_ack(started.elapsed());
        self.stats.record(partner, |counts| {
            for (_, verdict) in &verdicts {
                match verdict {
                    Verdict::Accepted => counts.accepted += 1,
                    Verdict::Duplicate => counts.duplicates += 1,
                    Verdict::Conflict => {
                        *counts.rejected.entry(RejectReason::EventIdConflict.code().into()).or_default() += 1
                    }
                }
            }
        });
        Ok(verdicts)
    }

    /// Counts a rejection made before writing.
    pub fn count_rejection(&self, partner: &str, rejection: &Rejection) {
        self.stats.record(partner, |counts| *counts.rejected.entry(rejection.reason.code().into()).or_default() += 1);
    }
}

/// A hash of an event's bytes, the same in every process of one build.
pub fn content_hash(bytes: &[u8]) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// The rejection of an event whose id was accepted with other content.
pub fn conflict(event_id: &str) -> Rejection {
    Rejection::new(
        RejectReason::EventIdConflict,
        format!("event_id {event_id} was already accepted with other content; a new event needs a new id"),
    )
    .at("event_id")
    .with_value(event_id)
}

//! skills.v1.EventGateway over gRPC: `PublishBatch` for one batch, and
//! `Publish`, a stream read in micro-batches, a few written at once, acks
//! sent back in order as each micro-batch becomes durable.

use crate::auth::{self, AuthError};
use crate::credentials::CredentialStore;
use crate::publisher::{Publisher, Refusal, Verdict, conflict};
use chrono::Utc;
use skills_domain::events::{RejectReason, Rejection};
use skills_proto::v1 as pb;
use skills_proto::v1::event_gateway_server::EventGateway;
use skills_runtime::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_types::{ErrorDetails, StatusExt};

/// A Publish stream is cut into micro-batches of at most this many events,
/// or what arrived within `CHUNK_WAIT` of the first.
const CHUNK_EVENTS: usize = 500;
const CHUNK_WAIT: Duration = Duration::from_millis(2);

#[derive(Clone)]
pub struct EventGatewayApi {
    publisher: Arc<Publisher>,
    credentials: Arc<CredentialStore>,
    shutdown: Shutdown,
}

impl EventGatewayApi {
    pub fn new(publisher: Arc<Publisher>, credentials: Arc<CredentialStore>, shutdown: Shutdown) -> Self {
        EventGatewayApi { publisher, credentials, shutdown }
    }

    fn partner<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let authorization = request.metadata().get("authorization").map(|value| value.to_str().unwrap_or(""));
        let certificates = request.peer_certs();
        let leaf = certificates.as_ref().and_then(|chain| chain.first()).map(|der| der.as_ref());
        auth::partner_of(&self.credentials.current(), authorization, leaf).map_err(|error| {
            self.publisher.stats().unauthenticated();
            status_of_auth(&error)
        })
    }
}

fn status_of_auth(error: &AuthError) -> Status {
    Status::unauthenticated(error.to_string())
}

/// A refused call as gRPC says it, with google.rpc.RetryInfo when a retry
/// can succeed.
pub fn status_of(refusal: &Refusal) -> Status {
    let code = match refusal {
        Refusal::Quota { .. } | Refusal::Busy { .. } => Code::ResourceExhausted,
        Refusal::Unavailable { .. } => Code::Unavailable,
        Refusal::TooMany { .. } => Code::InvalidArgument,
    };
    match refusal.retry_after() {
        Some(delay) => {
            Status::with_error_details(code, refusal.to_string(), ErrorDetails::with_retry_info(Some(delay)))
        }
        None => Status::new(code, refusal.to_string()),
    }
}

fn rejected(index: u64, event_id: String, rejection: &Rejection) -> pb::EventAck {
    pb::EventAck {
        index,
        event_id,
        status: pb::AckStatus::Rejected as i32,
        rejection: Some(pb::EventRejection {
            reason: rejection.reason.code().to_string(),
            field: rejection.field.clone().unwrap_or_default(),
            value: rejection.value.clone().unwrap_or_default(),
            message: rejection.message.clone(),
        }),
    }
}

/// Admits, checks and writes one batch; one ack per event, in order.
pub async fn publish_events(
    publisher: &Publisher,
    partner: &str,
    events: Vec<(u64, Option<pb::EventEnvelope>)>,
) -> Result<Vec<pb::EventAck>, Refusal> {
    let admitted = publisher.admit(partner, events.len()).await?;
    let now = Utc::now();
    let mut acks: Vec<Option<pb::EventAck>> = vec![None; events.len()];
    let mut positions = Vec::new();
    let mut outgoing = Vec::new();
    for (position, (index, event)) in events.into_iter().enumerate() {
        let Some(event) = event else {
            let rejection = Rejection::new(RejectReason::MissingField, "PublishRequest without its event").at("event");
            publisher.count_rejection(partner, &rejection);
            acks[position] = Some(rejected(index, String::new(), &rejection));
            continue;
        };
        let event_id = event.event_id.clone();
        match publisher.prepare(partner, index, event, now) {
            Ok(item) => {
                positions.push(position);
                outgoing.push(item);
            }
            Err(rejection) => {
                publisher.count_rejection(partner, &rejection);
                acks[position] = Some(rejected(index, event_id, &rejection));
            }
        }
    }
    let verdicts = publisher.write(partner, outgoing, admitted).await?;
    for (position, (item, verdict)) in positions.into_iter().zip(verdicts) {
        acks[position] = Some(match verdict {
            Verdict::Accepted | Verdict::Duplicate => pb::EventAck {
                index: item.index,
                status: if verdict == Verdict::Accepted { pb::AckStatus::Accepted } else { pb::AckStatus::Duplicate }
                    as i32,
                event_id: item.event_id,
                rejection: None,
            },
            Verdict::Conflict => rejected(item.index, item.event_id.clone(), &conflict(&item.event_id)),
        });
    }
    Ok(acks.into_iter().map(|ack| ack.expect("every event has an ack")).collect())
}

#[tonic::async_trait]
impl EventGateway for EventGatewayApi {
    async fn publish_batch(
        &self,
        request: Request<pb::PublishBatchRequest>,
    ) -> Result<Response<pb::PublishBatchResponse>, Status> {
        let partner = self.partner(&request)?;
        let events = request.into_inner().events.into_iter().enumerate().map(|(i, event)| (i as u64, Some(event)));
        let acks = publish_events(&self.publisher, &partner, events.collect()).await.map_err(|r| status_of(&r))?;
        Ok(Response::new(pb::PublishBatchResponse { acks }))
    }

    type PublishStream = ReceiverStream<Result<pb::PublishResponse, Status>>;

    async fn publish(
        &self,
        request: Request<Streaming<pb::PublishRequest>>,
    ) -> Result<Response<Self::PublishStream>, Status> {
        let partner = self.partner(&request)?;
        let inbound = request.into_inner();
        let (acks, outbound) = mpsc::channel(CHUNK_EVENTS * 2);
        let window = self.publisher.config().stream_window_batches.max(1);
        let (pending, in_flight) = mpsc::channel(window);
        tokio::spawn(read_stream(inbound, self.publisher.clone(), partner, pending, self.shutdown.clone()));
        tokio::spawn(send_acks(in_flight, acks));
        Ok(Response::new(ReceiverStream::new(outbound)))
    }
}

type Pending = JoinHandle<Result<Vec<pb::EventAck>, Refusal>>;

/// Reads the stream in micro-batches and starts writing each; at most
/// `window` are in flight, so a client that outruns Kafka is slowed down
/// by HTTP/2 flow control rather than buffered without bound.
async fn read_stream(
    inbound: Streaming<pb::PublishRequest>,
    publisher: Arc<Publisher>,
    partner: String,
    pending: mpsc::Sender<Result<Pending, Status>>,
    mut shutdown: Shutdown,
) {
    let chunks = inbound.chunks_timeout(CHUNK_EVENTS, CHUNK_WAIT);
    tokio::pin!(chunks);
    let mut next_index = 0u64;
    loop {
        let chunk = tokio::select! {
            _ = shutdown.wait() => {
                let _ = pending.send(Err(Status::unavailable("the gateway is shutting down; send unacked events again"))).await;
                return;
            }
            chunk = chunks.next() => match chunk { Some(chunk) => chunk, None => return },
        };
        let mut events = Vec::with_capacity(chunk.len());
        let mut broken = None;
        for message in chunk {
            match message {
                Ok(request) => events.push((next_index, request.event)),
                Err(status) => {
                    broken = Some(status);
                    break;
                }
            }
            next_index += 1;
        }
        if !events.is_empty() {
            let (publisher, partner) = (publisher.clone(), partner.clone());
            let task = tokio::spawn(async move { publish_events(&publisher, &partner, events).await });
            if pending.send(Ok(task)).await.is_err() {
                return;
            }
        }
        if let Some(status) = broken {
            // The client's side ended badly (cancelled, a message too
            // large): what was read is still written and acked.
            tracing::debug!(%partner, %status, "publish stream ended by the client");
            return;
        }
    }
}

/// Sends each micro-batch's acks once it is durable, in stream order; a
/// refusal ends the stream with its status (acks of later micro-batches
/// are not sent: their events are sent again by the client).
async fn send_acks(
    mut in_flight: mpsc::Receiver<Result<Pending, Status>>,
    acks: mpsc::Sender<Result<pb::PublishResponse, Status>>,
) {
    while let Some(next) = in_flight.recv().await {
        let outcome = match next {
            Ok(task) => task.await.map_err(|error| Status::internal(format!("publish task failed: {error}"))),
            Err(status) => Err(status),
        };
        let batch = match outcome {
            Ok(Ok(batch)) => batch,
            Ok(Err(refusal)) => {
                let _ = acks.send(Err(status_of(&refusal))).await;
                return;
            }
            Err(status) => {
                let _ = acks.send(Err(status)).await;
                return;
            }
        };
        for ack in batch {
            if acks.send(Ok(pb::PublishResponse { ack: Some(ack) })).await.is_err() {
                return;
            }
        }
    }
}

//! skills-gateway: partner platforms publish events here instead of
//! writing a Kafka producer, over gRPC (skills.v1.EventGateway: a stream
//! with one ack per event, or a batch) or as xAPI statements
//! (/xAPI/statements, as MOOC platforms send them to a learning record
//! store). Events are checked with the domain code ingest runs, so what
//! ingest would dead-letter is refused at once, and acknowledged only once
//! durable in Kafka.

pub mod app;
pub mod auth;
pub mod credentials;
pub mod grpc;
pub mod publisher;
pub mod quota;
pub mod recent;
pub mod server;
pub mod stats;
pub mod xapi;

pub use app::GatewayService;

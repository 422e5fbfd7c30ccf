//! Generated code for the `skills.v1` contracts in `proto/skills/v1/`:
//! the messages always, the TalentGapService client and server with the
//! `grpc` feature.

#[allow(clippy::all, clippy::pedantic)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/skills.v1.rs"));
}

#[cfg(feature = "json")]
pub mod json;

/// The encoded FileDescriptorSet of every contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/skills_descriptor.bin"));

pub use prost::{Message, Name};
pub use prost_types::Timestamp;

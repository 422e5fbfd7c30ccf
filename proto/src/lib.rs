//! Generated code for the `skills.v1` contracts in `proto/skills/v1/`.

#[allow(clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("skills.v1");
}

/// The encoded FileDescriptorSet of every contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/skills_descriptor.bin"));

pub use prost::Message;
pub use prost_types::Timestamp;

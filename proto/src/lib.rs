//! Generated code for the `skills.v1` contracts in `proto/skills/v1/`.

#[allow(clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("skills.v1");
}

/// The encoded FileDescriptorSet of every contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/skills_descriptor.bin"));

pub use prost::Message;
pub use prost_types::Timestamp;

/// Serializes a timestamp as RFC 3339 text (UTC), or null.
pub fn serialize_timestamp<S: serde::Serializer>(
    timestamp: &Option<Timestamp>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match timestamp {
        None => serializer.serialize_none(),
        Some(timestamp) => serializer.collect_str(timestamp),
    }
}

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

/// One RPC a descriptor set declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcMethod {
    /// The service's full name, `skills.v1.TalentGapService`.
    pub service: String,
    pub method: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

/// The RPCs of `services` (full names) declared in any of `sets`.
pub fn rpc_methods_of(sets: &[&[u8]], services: &[&str]) -> Vec<RpcMethod> {
    sets.iter().flat_map(|set| rpc_methods(set)).filter(|m| services.contains(&m.service.as_str())).collect()
}

/// Every RPC of an encoded FileDescriptorSet (per-RPC metrics label calls
/// with their streaming kind by these); none when it does not decode.
pub fn rpc_methods(file_descriptor_set: &[u8]) -> Vec<RpcMethod> {
    let Ok(set) = <prost_types::FileDescriptorSet as prost::Message>::decode(file_descriptor_set) else {
        return Vec::new();
    };
    let mut methods = Vec::new();
    for file in &set.file {
        for service in &file.service {
            let full = match file.package() {
                "" => service.name().to_string(),
                package => format!("{package}.{}", service.name()),
            };
            for method in &service.method {
                methods.push(RpcMethod {
                    service: full.clone(),
                    method: method.name().to_string(),
                    client_streaming: method.client_streaming(),
                    server_streaming: method.server_streaming(),
                });
            }
        }
    }
    methods
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_every_rpc_with_its_streaming_kind() {
        let methods = super::rpc_methods(super::FILE_DESCRIPTOR_SET);
        let watch = methods.iter().find(|m| m.method == "WatchIndicators").expect("WatchIndicators is declared");
        assert_eq!(watch.service, "skills.v1.TalentGapService");
        assert!(watch.server_streaming && !watch.client_streaming);
        let rank = methods.iter().find(|m| m.method == "RankShortages").expect("RankShortages is declared");
        assert!(!rank.server_streaming && !rank.client_streaming);
        assert!(methods.iter().any(|m| m.service == "skills.v1.EventGateway"));
        assert!(super::rpc_methods(b"\xff not a descriptor set").is_empty());
    }
}

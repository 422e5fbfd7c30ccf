//! Messages as JSON in the canonical protobuf mapping (lowerCamelCase
//! names, 64-bit integers as strings, enums by name, timestamps in RFC
//! 3339, default values left out): the shape grpcurl prints and other
//! protobuf tools read.

use prost_reflect::{DescriptorPool, DynamicMessage};
use std::sync::OnceLock;

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET).expect("the compiled descriptors decode"))
}

/// `message` as pretty-printed canonical JSON.
pub fn to_json<M: prost::Message + prost::Name>(message: &M) -> String {
    let descriptor = pool()
        .get_message_by_name(&M::full_name())
        .unwrap_or_else(|| panic!("{} is in the compiled descriptors", M::full_name()));
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .expect("a message decodes as its own descriptor");
    serde_json::to_string_pretty(&dynamic).expect("a dynamic message serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1 as pb;

    #[test]
    fn json_follows_the_canonical_mapping() {
        let response = pb::GetRegionIndicatorsResponse {
            meta: Some(pb::ResponseMeta {
                as_of: Some(prost_types::Timestamp { seconds: 1_764_633_600, nanos: 0 }),
                complete: true,
                suppression_k: 11,
                period: "2025".into(),
                ..Default::default()
            }),
            region: "84".into(),
            cells: vec![pb::CellIndicators { skill: "3.4".into(), openings: 96, ..Default::default() }],
            ..Default::default()
        };
        let json: serde_json::Value = serde_json::from_str(&to_json(&response)).unwrap();
        assert_eq!(json["meta"]["asOf"], "2025-12-02T00:00:00Z");
        assert_eq!(json["meta"]["suppressionK"], 11);
        assert_eq!(json["cells"][0]["openings"], "96", "uint64 as a string");
        assert!(json["cells"][0].get("learners").is_none(), "absent optional fields are left out");
        assert!(json["meta"].get("suppressedCells").is_none(), "zero values are left out");
    }
}

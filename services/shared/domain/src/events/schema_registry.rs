//! The Schema Registry wire format, as the standard Kafka serializers write
//! it (Confluent's KafkaProtobufSerializer and KafkaJsonSchemaSerializer):
//! a zero magic byte, the schema id in 4 bytes big-endian, then, for
//! Protobuf, the path of message indexes that names the message in the
//! registered schema, and the payload itself.
//!
//! The registered schema is this project's `events.proto`, whose first
//! message is `EventEnvelope`: its index path is `[0]`, which serializers
//! write as a single zero byte. Nothing here calls a registry: the schema is
//! the contract already compiled in.

use super::rejection::{RejectReason, Rejection};

const MAGIC: u8 = 0;
const HEADER: usize = 5;

/// A payload taken out of its Schema Registry framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed<'a> {
    pub schema_id: u32,
    pub body: &'a [u8],
}

/// The framed payload, if `payload` is in the wire format. A protobuf
/// `EventEnvelope` never starts with a zero byte (field number 0 does not
/// exist) and JSON starts with `{`, so the magic byte is unambiguous.
pub fn unwrap(payload: &[u8]) -> Result<Option<Framed<'_>>, Rejection> {
    if payload.first() != Some(&MAGIC) {
        return Ok(None);
    }
    if payload.len() < HEADER {
        return Err(undecodable(format!(
            "{} bytes starting with the Schema Registry magic byte: the header needs {HEADER}",
            payload.len()
        )));
    }
    let schema_id = u32::from_be_bytes([payload[1], payload[2], payload[3], payload[4]]);
    let rest = &payload[HEADER..];
    // JSON Schema framing has no index path: the JSON follows the id.
    if rest.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Some(Framed { schema_id, body: rest }));
    }
    let (indexes, body) = message_indexes(rest)?;
    if indexes != [0] {
        return Err(undecodable(format!(
            "Schema Registry message index path {indexes:?} (schema id {schema_id}) does not name \
             skills.v1.EventEnvelope: register proto/skills/v1/events.proto, whose first message it is ([0])"
        )));
    }
    Ok(Some(Framed { schema_id, body }))
}

/// The index path and what follows it: a zig-zag varint count, then that
/// many zig-zag varints; a count of zero stands for `[0]`.
fn message_indexes(bytes: &[u8]) -> Result<(Vec<i64>, &[u8]), Rejection> {
    let (count, mut rest) = zigzag_varint(bytes)?;
    if count == 0 {
        return Ok((vec![0], rest));
    }
    if !(1..=32).contains(&count) {
        return Err(undecodable(format!("Schema Registry message index count {count} is not plausible")));
    }
    let mut indexes = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (index, after) = zigzag_varint(rest)?;
        indexes.push(index);
        rest = after;
    }
    Ok((indexes, rest))
}

fn zigzag_varint(bytes: &[u8]) -> Result<(i64, &[u8]), Rejection> {
    let mut value: u64 = 0;
    for (position, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * position);
        if byte & 0x80 == 0 {
            let decoded = (value >> 1) as i64 ^ -((value & 1) as i64);
            return Ok((decoded, &bytes[position + 1..]));
        }
    }
    Err(undecodable("Schema Registry message index path is cut short".to_string()))
}

fn undecodable(message: String) -> Rejection {
    Rejection::new(RejectReason::Undecodable, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(schema_id: u32, indexes: &[u8], body: &[u8]) -> Vec<u8> {
        let mut payload = vec![MAGIC];
        payload.extend(schema_id.to_be_bytes());
        payload.extend(indexes);
        payload.extend(body);
        payload
    }

    #[test]
    fn unframed_payloads_pass_through() {
        assert_eq!(unwrap(b"{\"event_id\": 1}").unwrap(), None);
        assert_eq!(unwrap(&[0x0a, 0x01, 0x41]).unwrap(), None);
        assert_eq!(unwrap(b"").unwrap(), None);
    }

    #[test]
    fn protobuf_framing_with_the_short_and_the_long_index_path() {
        let body = [0x0a, 0x01, 0x41];
        // The serializers' short form for [0], then the long form: count 1
        // (zig-zag 2), index 0.
        for indexes in [&[0u8][..], &[2, 0]] {
            let payload = framed(42, indexes, &body);
            assert_eq!(unwrap(&payload).unwrap(), Some(Framed { schema_id: 42, body: &body }));
        }
    }

    #[test]
    fn json_schema_framing_has_no_index_path() {
        let payload = framed(7, b"", b" {\"a\": 1}");
        assert_eq!(unwrap(&payload).unwrap().unwrap().body, b" {\"a\": 1}");
    }

    #[test]
    fn another_message_of_the_schema_or_a_cut_header_is_undecodable() {
        // [1]: the second message of the registered file.
        let rejection = unwrap(&framed(42, &[2, 2], &[0x0a])).unwrap_err();
        assert_eq!(rejection.reason, RejectReason::Undecodable);
        assert!(rejection.message.contains("[1]"), "{}", rejection.message);
        assert_eq!(unwrap(&[0, 0, 1]).unwrap_err().reason, RejectReason::Undecodable);
        assert_eq!(unwrap(&framed(1, &[0x80], b"")).unwrap_err().reason, RejectReason::Undecodable);
    }
}

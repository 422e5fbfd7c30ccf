//! Page tokens for long listings. A token carries the offset of the next
//! page and a fingerprint of the request it continues, so a token reused
//! with other filters is refused instead of paging through something else.
//! Opaque to clients; not a secret (it only says "from position n").

use crate::error::QueryError;

pub const MAX_PAGE_SIZE: u32 = 100;

/// FNV-1a over the request fields that define the listing: stable across
/// processes and versions, unlike the std hasher.
pub fn fingerprint(fields: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for field in fields {
        for byte in field.bytes().chain([0x1f]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

pub fn encode(offset: usize, fingerprint: u64) -> String {
    format!("p1.{offset:x}.{fingerprint:016x}")
}

/// The offset a token points to; the empty token is the first page.
pub fn decode(token: &str, fingerprint: u64) -> Result<usize, QueryError> {
    if token.is_empty() {
        return Ok(0);
    }
    let invalid = |detail: &str| QueryError::invalid("page_token", format!("{token:?} {detail}"));
    let mut parts = token.split('.');
    let (Some("p1"), Some(offset), Some(print), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("is not a page token of this service"));
    };
    let offset = usize::from_str_radix(offset, 16).map_err(|_| invalid("is not a page token of this service"))?;
    if u64::from_str_radix(print, 16).ok() != Some(fingerprint) {
        return Err(invalid("belongs to a request with other fields"));
    }
    Ok(offset)
}

/// The page size asked for, or the default: all of `total` up to the max.
pub fn page_size(asked: u32, total: u32) -> Result<usize, QueryError> {
    match asked {
        0 => Ok(total.clamp(1, MAX_PAGE_SIZE) as usize),
        n if n <= MAX_PAGE_SIZE => Ok(n as usize),
        n => Err(QueryError::invalid("page_size", format!("{n} is more than {MAX_PAGE_SIZE}"))),
    }
}

/// One page of `items` and the token of the next one ("" when last).
pub fn page<T: Clone>(items: &[T], offset: usize, size: usize, fingerprint: u64) -> (Vec<T>, String) {
    let end = offset.saturating_add(size).min(items.len());
    let page = items.get(offset..end).map(<[T]>::to_vec).unwrap_or_default();
    let next = if end < items.len() { encode(end, fingerprint) } else { String::new() };
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_whole_listing_once() {
        let items: Vec<u32> = (0..25).collect();
        let print = fingerprint(&["2025", "gap", "25"]);
        let (mut token, mut seen) = (String::new(), Vec::new());
        loop {
            let offset = decode(&token, print).unwrap();
            let (page, next) = page(&items, offset, 10, print);
            seen.extend(page);
            if next.is_empty() {
                break;
            }
            token = next;
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn foreign_or_broken_tokens_are_refused_with_the_field_named() {
        let print = fingerprint(&["2025", "gap"]);
        let token = encode(10, print);
        assert_eq!(decode(&token, print).unwrap(), 10);
        let other = decode(&token, fingerprint(&["2024", "gap"])).unwrap_err().to_string();
        assert!(other.starts_with("invalid page_token") && other.contains("other fields"), "{other}");
        assert!(decode("garbage", print).is_err());
        assert!(decode("p1.zz.00", print).is_err());
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]), "fields are delimited");
        assert_eq!(page_size(0, 500).unwrap(), 100);
        assert_eq!(page_size(0, 7).unwrap(), 7);
        assert!(page_size(101, 500).unwrap_err().to_string().contains("page_size"));
        let (rest, next) = page(&[1, 2, 3], 5, 10, print);
        assert!(rest.is_empty() && next.is_empty(), "past the end: an empty last page");
    }
}

//! Caller-supplied values quoted back in messages: escaped, and cut to a
//! short prefix so that an error never grows with its input (a 1 MB region
//! code must not come back as a 1 MB gRPC trailer).

/// Characters of a value quoted in full; longer values are cut.
pub const QUOTED_CHARS: usize = 40;

/// `value` as an escaped, double-quoted string of at most `QUOTED_CHARS`
/// characters; a longer value ends in `…` and states its length in bytes.
pub fn quoted(value: &str) -> String {
    let mut chars = value.char_indices();
    match chars.nth(QUOTED_CHARS) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_in_full_and_escaped() {
        assert_eq!(quoted("84"), "\"84\"");
        assert_eq!(quoted("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(quoted(&"x".repeat(QUOTED_CHARS)), format!("{:?}", "x".repeat(QUOTED_CHARS)));
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let long = "é".repeat(500_000);
        let shown = quoted(&long);
        assert!(shown.len() < 120, "{} bytes", shown.len());
        assert!(shown.starts_with(&format!("{:?}…", "é".repeat(QUOTED_CHARS))), "{shown}");
        assert!(shown.ends_with("… (1000000 bytes)"), "{shown}");
    }
}

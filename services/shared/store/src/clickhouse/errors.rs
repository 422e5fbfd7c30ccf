//! ClickHouse errors classified by the server's error code (the `Code: N`
//! every server exception carries), not by words of the message: a code
//! of server trouble means wait and retry, a code of a missing table or
//! column means the schema is wrong, any other code means the server
//! refused what was sent.

use crate::{ErrorKind, StoreError};

/// Codes of the server's own trouble: the same request succeeds later.
const SERVER_TROUBLE: [(u32, &str); 20] = [
    (74, "CANNOT_READ_FROM_FILE_DESCRIPTOR"),
    (75, "CANNOT_WRITE_TO_FILE_DESCRIPTOR"), // errno 28: the disk is full
    (159, "TIMEOUT_EXCEEDED"),
    (202, "TOO_MANY_SIMULTANEOUS_QUERIES"),
    (203, "NO_FREE_CONNECTION"),
    (209, "SOCKET_TIMEOUT"),
    (210, "NETWORK_ERROR"),
    (225, "NO_ZOOKEEPER"),
    (236, "ABORTED"),
    (241, "MEMORY_LIMIT_EXCEEDED"),
    (242, "TABLE_IS_READ_ONLY"),
    (243, "NOT_ENOUGH_SPACE"),
    (252, "TOO_MANY_PARTS"),
    (279, "ALL_CONNECTION_TRIES_FAILED"),
    (319, "UNKNOWN_STATUS_OF_INSERT"),
    (394, "QUERY_WAS_CANCELLED"),
    (425, "SYSTEM_ERROR"),
    (439, "CANNOT_SCHEDULE_TASK"),
    (999, "KEEPER_EXCEPTION"),
    (1000, "POCO_EXCEPTION"),
];

/// Codes of a schema or settings that waiting cannot fix.
const SCHEMA: [(u32, &str); 8] = [
    (16, "NO_SUCH_COLUMN_IN_TABLE"),
    (47, "UNKNOWN_IDENTIFIER"),
    (60, "UNKNOWN_TABLE"),
    (81, "UNKNOWN_DATABASE"),
    (192, "UNKNOWN_USER"),
    (193, "WRONG_PASSWORD"),
    (497, "ACCESS_DENIED"),
    (516, "AUTHENTICATION_FAILED"),
];

/// The kind of a server exception with this code.
pub fn kind_of_code(code: u32) -> ErrorKind {
    if SERVER_TROUBLE.iter().any(|(known, _)| *known == code) {
        ErrorKind::Unavailable
    } else if SCHEMA.iter().any(|(known, _)| *known == code) {
        ErrorKind::Schema
    } else {
        ErrorKind::Query
    }
}

/// The `Code: N` of a server exception.
pub fn server_code(message: &str) -> Option<u32> {
    let after = &message[message.find("Code: ")? + "Code: ".len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

pub(crate) fn store_error(error: clickhouse::error::Error) -> StoreError {
    use clickhouse::error::Error;
    match &error {
        Error::Network(_) | Error::TimedOut => StoreError::unavailable(error),
        Error::BadResponse(message) => match server_code(message) {
            Some(code) => StoreError::new(kind_of_code(code), error).with_code(code),
            None => StoreError::query(error),
        },
        _ => StoreError::query(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_trouble_is_told_apart_from_a_refused_batch_by_its_code() {
        let full = "bad response: Code: 75, e.displayText() = DB::ErrnoException: Cannot write to file \
                    /data/tmp_insert_202504_1_1_0/learner.bin, errno: 28, strerror: No space left on device";
        let error = store_error(clickhouse::error::Error::BadResponse(full.into()));
        assert_eq!((error.kind(), error.code()), (ErrorKind::Unavailable, Some(75)));
        assert!(error.is_retryable());
        let parts = "bad response: Code: 252, e.displayText() = DB::Exception: Too many parts (300)";
        assert_eq!(store_error(clickhouse::error::Error::BadResponse(parts.into())).kind(), ErrorKind::Unavailable);
        let refused = "bad response: Code: 27, e.displayText() = DB::Exception: Cannot parse input";
        let error = store_error(clickhouse::error::Error::BadResponse(refused.into()));
        assert_eq!((error.kind(), error.code()), (ErrorKind::Query, Some(27)));
        assert!(!error.is_retryable());
        let current = "Code: 60. DB::Exception: Table db.cell_sums does not exist. (UNKNOWN_TABLE) (version 25.3)";
        assert_eq!(store_error(clickhouse::error::Error::BadResponse(current.into())).kind(), ErrorKind::Schema);
    }

    #[test]
    fn the_code_is_read_from_both_server_generations() {
        assert_eq!(server_code("Code: 241, e.displayText() = DB::Exception: Memory limit"), Some(241));
        assert_eq!(server_code("Code: 202. DB::Exception: Too many simultaneous queries"), Some(202));
        assert_eq!(server_code("no code here"), None);
        assert_eq!(server_code("Code: x"), None);
    }

    #[test]
    fn a_word_of_the_message_does_not_decide() {
        let quoted = "bad response: Code: 27, e.displayText() = DB::Exception: Cannot parse input: \
                      'No space left on device' in a payload";
        assert_eq!(store_error(clickhouse::error::Error::BadResponse(quoted.into())).kind(), ErrorKind::Query);
    }
}

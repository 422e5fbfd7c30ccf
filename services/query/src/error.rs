//! Every failure of the query service, and its gRPC status: the one place
//! where internal errors meet the wire.

use crate::engine::EngineError;
use skills_store::StoreError;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Longest status message sent, in bytes: values quoted in messages are
/// cut already (`skills_domain::text::quoted`); this bounds the rest.
pub const MAX_MESSAGE_BYTES: usize = 512;

#[derive(Debug, Error)]
pub enum QueryError {
    #[error("invalid {field}: {detail}")]
    InvalidArgument { field: &'static str, detail: String },
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("scope {scope} may not {action}")]
    PermissionDenied { scope: String, action: &'static str },
    /// A limit was reached: the caller should retry after `retry_after`.
    #[error("{limit}, retry in {} ms", retry_after.as_millis())]
    Overloaded { limit: String, retry_after: Duration },
    #[error(transparent)]
    Store(Arc<StoreError>),
}

/// The message of a missing, malformed or unknown token.
pub const UNKNOWN_TOKEN: &str = "missing or unknown bearer token";

impl From<StoreError> for QueryError {
    fn from(error: StoreError) -> Self {
        QueryError::Store(Arc::new(error))
    }
}

impl From<EngineError> for QueryError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Store(error) => QueryError::Store(error),
            busy @ EngineError::Busy { retry_after } => QueryError::Overloaded { limit: busy.to_string(), retry_after },
        }
    }
}

/// `message` cut to `MAX_MESSAGE_BYTES` on a character boundary.
fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES - 3;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("...");
    }
    message
}

impl QueryError {
    pub fn invalid(field: &'static str, detail: impl Into<String>) -> Self {
        QueryError::InvalidArgument { field, detail: detail.into() }
    }
}

impl From<QueryError> for Status {
    fn from(error: QueryError) -> Self {
        let message = bounded(error.to_string());
        match error {
            QueryError::InvalidArgument { .. } => Status::invalid_argument(message),
            QueryError::Unauthenticated(_) => Status::unauthenticated(message),
            QueryError::PermissionDenied { .. } => Status::permission_denied(message),
            // google.rpc.RetryInfo, which gRPC clients read for the delay.
            QueryError::Overloaded { retry_after, .. } => Status::with_error_details(
                Code::ResourceExhausted,
                message,
                ErrorDetails::with_retry_info(Some(retry_after)),
            ),
            QueryError::Store(error) if error.is_retryable() => Status::unavailable(message),
            QueryError::Store(_) => {
                tracing::error!(error = %message, "store failure while serving");
                Status::internal("indicator store failure")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_code() {
        let cases = [
            (QueryError::invalid("region", "unknown region code \"99\""), Code::InvalidArgument),
            (QueryError::Unauthenticated(UNKNOWN_TOKEN), Code::Unauthenticated),
            (QueryError::PermissionDenied { scope: "public".into(), action: "x" }, Code::PermissionDenied),
            (
                QueryError::Overloaded { limit: "x".into(), retry_after: Duration::from_secs(1) },
                Code::ResourceExhausted,
            ),
            (StoreError::unavailable("down").into(), Code::Unavailable),
            (StoreError::query("syntax").into(), Code::Internal),
            (StoreError::schema("no table").into(), Code::Internal),
        ];
        for (error, code) in cases {
            assert_eq!(Status::from(error).code(), code);
        }
        let status = Status::from(QueryError::invalid("region", "unknown region code \"99\""));
        assert_eq!(status.message(), "invalid region: unknown region code \"99\"");
        let internal = Status::from(QueryError::from(StoreError::query("table secret_x")));
        assert!(!internal.message().contains("secret_x"), "internals stay in the log");
    }

    #[test]
    fn overload_carries_retry_info_and_messages_are_bounded() {
        let status = Status::from(QueryError::Overloaded {
            limit: "rate limit of the public audience".into(),
            retry_after: Duration::from_millis(250),
        });
        assert_eq!(status.message(), "rate limit of the public audience, retry in 250 ms");
        let details = status.get_error_details();
        assert_eq!(details.retry_info().and_then(|r| r.retry_delay), Some(Duration::from_millis(250)));
        let long = Status::from(QueryError::invalid("region", "é".repeat(10_000)));
        assert!(long.message().len() <= MAX_MESSAGE_BYTES && long.message().ends_with("..."));
    }
}

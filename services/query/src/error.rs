//! Every failure of the query service, and its gRPC status: the one place
//! where internal errors meet the wire.

use skills_store::StoreError;
use thiserror::Error;
use tonic::Status;

#[derive(Debug, Error)]
pub enum QueryError {
    #[error("invalid {field}: {detail}")]
    InvalidArgument { field: &'static str, detail: String },
    #[error("missing or unknown bearer token")]
    Unauthenticated,
    #[error("scope {scope} may not {action}")]
    PermissionDenied { scope: String, action: &'static str },
    #[error("too many requests in flight, retry later")]
    Overloaded,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl QueryError {
    pub fn invalid(field: &'static str, detail: impl Into<String>) -> Self {
        QueryError::InvalidArgument { field, detail: detail.into() }
    }
}

impl From<QueryError> for Status {
    fn from(error: QueryError) -> Self {
        let message = error.to_string();
        match error {
            QueryError::InvalidArgument { .. } => Status::invalid_argument(message),
            QueryError::Unauthenticated => Status::unauthenticated(message),
            QueryError::PermissionDenied { .. } => Status::permission_denied(message),
            QueryError::Overloaded => Status::resource_exhausted(message),
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
    use tonic::Code;

    #[test]
    fn each_error_has_its_code() {
        let cases = [
            (QueryError::invalid("region", "unknown region code \"99\""), Code::InvalidArgument),
            (QueryError::Unauthenticated, Code::Unauthenticated),
            (QueryError::PermissionDenied { scope: "public".into(), action: "x" }, Code::PermissionDenied),
            (QueryError::Overloaded, Code::ResourceExhausted),
            (QueryError::Store(StoreError::unavailable("down")), Code::Unavailable),
            (QueryError::Store(StoreError::query("syntax")), Code::Internal),
            (QueryError::Store(StoreError::schema("no table")), Code::Internal),
        ];
        for (error, code) in cases {
            assert_eq!(Status::from(error).code(), code);
        }
        let status = Status::from(QueryError::invalid("region", "unknown region code \"99\""));
        assert_eq!(status.message(), "invalid region: unknown region code \"99\"");
        let internal = Status::from(QueryError::Store(StoreError::query("table secret_x")));
        assert!(!internal.message().contains("secret_x"), "internals stay in the log");
    }
}

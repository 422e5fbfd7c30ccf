//! Requests that cannot be decoded are the caller's error: tonic's
//! protobuf codec answers them INTERNAL (the gRPC rule for a broken
//! *response*), so this layer turns the status of a request that failed to
//! decode into INVALID_ARGUMENT. Only the codec's own decode messages are
//! matched; every other status passes unchanged.

use http::{HeaderValue, Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// The messages tonic and prost give a request they cannot decode
/// (percent-encoded on the wire).
const DECODE_FAILURES: [&str; 3] =
    ["failed to decode Protobuf message", "protocol error: received message with", "Unexpected EOF decoding stream"];

#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeErrorsLayer;

impl<S> Layer<S> for DecodeErrorsLayer {
    type Service = DecodeErrors<S>;

    fn layer(&self, inner: S) -> DecodeErrors<S> {
        DecodeErrors { inner }
    }
}

#[derive(Debug, Clone)]
pub struct DecodeErrors<S> {
    inner: S,
}

/// Whether a trailers-only response reports a request that did not decode.
fn is_decode_failure(headers: &http::HeaderMap) -> bool {
    if headers.get("grpc-status").map(HeaderValue::as_bytes) != Some(b"13") {
        return false;
    }
    let Some(message) = headers.get("grpc-message").and_then(|m| m.to_str().ok()) else { return false };
    let message = message.replace("%20", " ");
    DECODE_FAILURES.iter().any(|prefix| message.starts_with(prefix))
}

impl<S, B, ResBody> Service<Request<B>> for DecodeErrors<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            if is_decode_failure(response.headers()) {
                response.headers_mut().insert("grpc-status", HeaderValue::from_static("3"));
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_decode_failures_are_rewritten() {
        let headers = |status: &'static str, message: &'static str| {
            let mut map = http::HeaderMap::new();
            map.insert("grpc-status", HeaderValue::from_static(status));
            map.insert("grpc-message", HeaderValue::from_static(message));
            map
        };
        assert!(is_decode_failure(&headers("13", "failed%20to%20decode%20Protobuf%20message:%20invalid%20varint")));
        assert!(is_decode_failure(&headers("13", "Unexpected EOF decoding stream.")));
        assert!(!is_decode_failure(&headers("13", "indicator store failure")));
        assert!(!is_decode_failure(&headers("3", "failed to decode Protobuf message")));
    }
}

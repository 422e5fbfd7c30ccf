//! What skills-query answers over plain HTTP, beside gRPC on the same
//! port: the dashboard (`/`), and the TalentGapService calls as JSON and
//! CSV under `/v1/` for BI tools that cannot speak gRPC (docs/http-api.md).
//!
//! The HTTP routes call the very service the gRPC clients call, with the
//! caller's `Authorization` header and address, so authentication,
//! admission and suppression are the same by construction; only the
//! encoding differs.

mod assets;
mod csv;
mod rest;

use crate::service::TalentGapApi;
use std::sync::Arc;

/// The dashboard and the `/v1/` routes; any other path is a 404 (a gRPC
/// call to a service this server does not have: UNIMPLEMENTED).
/// `timeout`: `query.request_timeout_ms`, which the routes answer within.
pub fn router(api: Arc<TalentGapApi>, timeout: Option<std::time::Duration>) -> axum::Router {
    rest::routes(api, timeout).merge(assets::routes()).fallback(not_found)
}

async fn not_found(request: axum::extract::Request) -> axum::response::Response {
    let content_type = request.headers().get(axum::http::header::CONTENT_TYPE);
    if content_type.and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/grpc")) {
        let status = tonic::Status::unimplemented(format!("no service at {}", request.uri().path()));
        return status.into_http::<axum::body::Body>();
    }
    let detail = format!("no route {} (the routes: docs/http-api.md)", request.uri().path());
    rest::error(axum::http::StatusCode::NOT_FOUND, "not_found", &detail)
}

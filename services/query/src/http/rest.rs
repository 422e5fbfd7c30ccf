//! `GET /v1/...`: each route is one TalentGapService call, answered as
//! canonical protobuf JSON (every field present) or, with `?format=csv`
//! or `Accept: text/csv`, as CSV. Errors are JSON `{"code", "message"}`
//! with the HTTP status of the gRPC code, as the Connect protocol maps
//! them.

use super::csv;
use crate::service::TalentGapApi;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use skills_domain::reference::REGIONS;
use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_server::TalentGapService;
use std::sync::Arc;
use std::time::Duration;
use tonic::Code;

type Api = State<Arc<TalentGapApi>>;

/// The routes; each call answers within `timeout` or with a JSON 504
/// (before the transport's own deadline, which would answer in gRPC's
/// terms).
pub fn routes(api: Arc<TalentGapApi>, timeout: Option<Duration>) -> Router {
    let router = Router::new()
        .route("/v1/regions", get(regions))
        .route("/v1/skills", get(skills))
        .route("/v1/regions/{region}/indicators", get(region_indicators))
        .route("/v1/regions/{region}/inclusion", get(inclusion))
        .route("/v1/regions/{region}/trend", get(trend))
        .route("/v1/skills/{skill}/regions", get(skill_across_regions))
        .route("/v1/shortages", get(shortages))
        .route("/v1/status", get(pipeline_status))
        .route("/v1/partners/{partner}/status", get(partner_status))
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "unimplemented", "the /v1/ routes answer GET only")
        })
        .with_state(api);
    match timeout {
        None => router,
        Some(timeout) => {
            // 95%: ahead of the transport's deadline on the same setting.
            let timeout = timeout.mul_f64(0.95);
            router.layer(axum::middleware::from_fn(move |request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(timeout, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => error(
                        StatusCode::GATEWAY_TIMEOUT,
                        "deadline_exceeded",
                        &format!("no answer within {} ms (query.request_timeout_ms)", timeout.as_millis()),
                    ),
                }
            }))
        }
    }
}

/// Every query parameter any route reads; one a route does not read is
/// refused, so that a misspelt `perod=` is an error, not a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    format: Option<String>,
    period: Option<String>,
    skill: Option<String>,
    region: Option<String>,
    rank_by: Option<String>,
    top: Option<u32>,
    page_size: Option<u32>,
    page_token: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl Params {
    /// Refuses the parameters a route does not take.
    fn only(&self, allowed: &[&str]) -> Result<(), BadRequest> {
        let given = [
            ("period", self.period.is_some()),
            ("skill", self.skill.is_some()),
            ("region", self.region.is_some()),
            ("rank_by", self.rank_by.is_some()),
            ("top", self.top.is_some()),
            ("page_size", self.page_size.is_some()),
            ("page_token", self.page_token.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
        ];
        match given.iter().find(|(name, set)| *set && !allowed.contains(name)) {
            None => Ok(()),
            Some((name, _)) => {
                let detail = if allowed.is_empty() {
                    format!("this route takes no parameter {name}")
                } else {
                    format!("this route takes {} and format, not {name}", allowed.join(", "))
                };
                Err(BadRequest(detail))
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Csv,
}

fn format(params: &Params, parts: &Parts) -> Result<Format, BadRequest> {
    match params.format.as_deref() {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(other) => Err(BadRequest(format!("format: {other:?} is neither json nor csv"))),
        None => {
            let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
            Ok(if accept.contains("text/csv") { Format::Csv } else { Format::Json })
        }
    }
}

/// The gRPC request the HTTP request stands for: its headers as metadata
/// (the bearer token) and its extensions (the caller's address).
fn grpc<T>(parts: &Parts, message: T) -> tonic::Request<T> {
    tonic::Request::from_parts(
        tonic::metadata::MetadataMap::from_headers(parts.headers.clone()),
        parts.extensions.clone(),
        message,
    )
}

/// An answer in the asked format, or the status as an HTTP error; never
/// stored by a shared cache (what a token holder reads is not what the
/// public may), and varying by token and format.
fn answer<M: prost::Message + prost::Name>(
    result: Result<tonic::Response<M>, tonic::Status>,
    format: Format,
    csv: impl FnOnce(&M) -> String,
) -> Response {
    let mut response = encode(result, format, csv);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::VARY, HeaderValue::from_static("authorization, accept"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

fn encode<M: prost::Message + prost::Name>(
    result: Result<tonic::Response<M>, tonic::Status>,
    format: Format,
    csv: impl FnOnce(&M) -> String,
) -> Response {
    match result {
        Ok(response) => {
            let message = response.into_inner();
            match format {
                Format::Json => {
                    ([(header::CONTENT_TYPE, "application/json")], skills_proto::json::to_json_full(&message))
                        .into_response()
                }
                Format::Csv => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv(&message)).into_response(),
            }
        }
        Err(status) => status_response(&status),
    }
}

/// The HTTP status of a gRPC code (the Connect protocol's table).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        // 499, "client closed request", as the Connect protocol has it.
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a status code"),
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The Connect protocol's name of a code.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

fn status_response(status: &tonic::Status) -> Response {
    let mut response = error(http_status(status.code()), code_name(status.code()), status.message());
    if status.code() == Code::Unauthenticated {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    // The delay admission control asks for, in whole seconds (at least 1).
    let retry = tonic_types::StatusExt::get_details_retry_info(status).and_then(|info| info.retry_delay);
    if let Some(delay) = retry {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// What is wrong with a request's parameters: a 400 `invalid_argument`.
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        error(StatusCode::BAD_REQUEST, "invalid_argument", &self.0)
    }
}

/// The query string read, or what is wrong with it.
fn params(query: Result<Query<Params>, axum::extract::rejection::QueryRejection>) -> Result<Params, BadRequest> {
    query.map(|Query(p)| p).map_err(|rejection| BadRequest(rejection.body_text()))
}

type Q = Result<Query<Params>, axum::extract::rejection::QueryRejection>;
type P = Result<Path<String>, axum::extract::rejection::PathRejection>;

/// A path segment (a region, skill or partner), or what is wrong with it
/// (not UTF-8 once decoded).
fn segment(path: P) -> Result<String, BadRequest> {
    path.map(|Path(value)| value).map_err(|rejection| BadRequest(rejection.body_text()))
}

fn region_name(code: &str) -> &'static str {
    match code {
        skills_domain::disclosure::hierarchy::ALL => "France",
        code => REGIONS.iter().find(|r| r.code == code).map(|r| r.name).unwrap_or(""),
    }
}

/// Reads the parameters and format, refusing those the route does not take.
fn prepare(query: Q, parts: &Parts, allowed: &[&str]) -> Result<(Params, Format), BadRequest> {
    let params = params(query)?;
    params.only(allowed)?;
    let format = format(&params, parts)?;
    Ok((params, format))
}

macro_rules! try_or_respond {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(bad) => return IntoResponse::into_response(bad),
        }
    };
}

async fn regions(State(api): Api, query: Q, parts: Parts) -> Response {
    let (_, format) = try_or_respond!(prepare(query, &parts, &[]));
    answer(api.get_reference_data(grpc(&parts, pb::GetReferenceDataRequest {})).await, format, csv::regions)
}

async fn skills(State(api): Api, query: Q, parts: Parts) -> Response {
    let (_, format) = try_or_respond!(prepare(query, &parts, &[]));
    answer(api.get_reference_data(grpc(&parts, pb::GetReferenceDataRequest {})).await, format, csv::skills)
}

async fn region_indicators(State(api): Api, path: P, query: Q, parts: Parts) -> Response {
    let region = try_or_respond!(segment(path));
    let (params, format) = try_or_respond!(prepare(query, &parts, &["period"]));
    let request = pb::GetRegionIndicatorsRequest { region, period: params.period.unwrap_or_default() };
    answer(api.get_region_indicators(grpc(&parts, request)).await, format, |r| {
        csv::cells(r.meta.as_ref(), &r.cells, region_name)
    })
}

async fn inclusion(State(api): Api, path: P, query: Q, parts: Parts) -> Response {
    let region = try_or_respond!(segment(path));
    let (params, format) = try_or_respond!(prepare(query, &parts, &["period"]));
    let request = pb::GetInclusionRequest { region, period: params.period.unwrap_or_default() };
    answer(api.get_inclusion(grpc(&parts, request)).await, format, csv::inclusion)
}

async fn trend(State(api): Api, path: P, query: Q, parts: Parts) -> Response {
    let region = try_or_respond!(segment(path));
    let (params, format) = try_or_respond!(prepare(query, &parts, &["skill", "from", "to"]));
    let request = pb::GetTrendRequest {
        region,
        skill: params.skill.unwrap_or_default(),
        from: params.from.unwrap_or_default(),
        to: params.to.unwrap_or_default(),
    };
    answer(api.get_trend(grpc(&parts, request)).await, format, |r| csv::cells(r.meta.as_ref(), &r.points, region_name))
}

async fn skill_across_regions(State(api): Api, path: P, query: Q, parts: Parts) -> Response {
    let skill = try_or_respond!(segment(path));
    let (params, format) = try_or_respond!(prepare(query, &parts, &["period"]));
    let request = pb::GetSkillAcrossRegionsRequest { skill, period: params.period.unwrap_or_default() };
    // The country's cell last, as region "*".
    answer(api.get_skill_across_regions(grpc(&parts, request)).await, format, |r| {
        csv::cells(r.meta.as_ref(), r.cells.iter().chain(&r.national), region_name)
    })
}

async fn shortages(State(api): Api, query: Q, parts: Parts) -> Response {
    let allowed = ["period", "rank_by", "top", "region", "skill", "page_size", "page_token"];
    let (params, format) = try_or_respond!(prepare(query, &parts, &allowed));
    let rank_by = match params.rank_by.as_deref() {
        None | Some("talent_gap") => pb::RankBy::TalentGap,
        Some("shortage_ratio") => pb::RankBy::ShortageRatio,
        Some(other) => {
            let detail = format!("rank_by: {other:?} is neither talent_gap nor shortage_ratio");
            return error(StatusCode::BAD_REQUEST, "invalid_argument", &detail);
        }
    };
    let request = pb::RankShortagesRequest {
        period: params.period.unwrap_or_default(),
        rank_by: rank_by as i32,
        top: params.top.unwrap_or_default(),
        region: params.region.unwrap_or_default(),
        skill: params.skill.unwrap_or_default(),
        page_size: params.page_size.unwrap_or_default(),
        page_token: params.page_token.unwrap_or_default(),
    };
    let result = api.rank_shortages(grpc(&parts, request)).await;
    // The next page's token travels in a header for CSV, which has no
    // place for it.
    let next = result.as_ref().ok().map(|r| r.get_ref().next_page_token.clone()).unwrap_or_default();
    let mut response = answer(result, format, |r| csv::cells(r.meta.as_ref(), &r.cells, region_name));
    if let (false, Ok(value)) = (next.is_empty(), HeaderValue::from_str(&next)) {
        response.headers_mut().insert("x-next-page-token", value);
    }
    response
}

async fn pipeline_status(State(api): Api, query: Q, parts: Parts) -> Response {
    let (_, format) = try_or_respond!(prepare(query, &parts, &[]));
    answer(api.get_pipeline_status(grpc(&parts, pb::GetPipelineStatusRequest {})).await, format, csv::pipeline_status)
}

async fn partner_status(State(api): Api, path: P, query: Q, parts: Parts) -> Response {
    let partner_id = try_or_respond!(segment(path));
    let (_, format) = try_or_respond!(prepare(query, &parts, &[]));
    let request = pb::GetPartnerStatusRequest { partner_id };
    answer(api.get_partner_status(grpc(&parts, request)).await, format, csv::partner_status)
}

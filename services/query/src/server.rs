//! Serving the API on a bound listener until shutdown, the way gRPC tools
//! expect: standard health checking (`grpc.health.v1`, NOT_SERVING while the
//! store is unreachable), server reflection (grpcurl needs no .proto files),
//! gRPC-web over HTTP/1.1 for browser dashboards with CORS for the
//! configured origins, and TLS when a certificate is configured. Plain
//! HTTP requests on the same port reach the dashboard and the JSON/CSV
//! routes (`crate::http`); every gRPC call is measured
//! (`skills_runtime::grpc_metrics`).

use crate::engine::IndicatorEngine;
use crate::service::TalentGapApi;
use skills_proto::v1::talent_gap_service_server::TalentGapServiceServer;
use skills_runtime::Shutdown;
use skills_runtime::grpc_metrics::{GrpcMetrics, GrpcMetricsLayer, RpcType};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::transport::{Identity, ServerTlsConfig};
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The service name health checks and reflection know it by.
pub const SERVICE_NAME: &str = "skills.v1.TalentGapService";
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// How the server listens; the defaults are those of `QueryConfig`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Origins allowed to call from a browser (gRPC-web); "*" for any.
    pub cors_allowed_origins: Vec<String>,
    /// Longest a unary call may run, and a watch stream may take to its
    /// first message; a client's shorter grpc-timeout wins.
    pub request_timeout: Option<Duration>,
    /// PEM certificate chain and private key: TLS when both are set.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub http2_max_concurrent_streams: u32,
    pub http2_keepalive_interval: Duration,
    pub http2_keepalive_timeout: Duration,
    pub max_connection_age: Duration,
    pub max_connection_age_grace: Duration,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
    /// Where the gRPC calls are counted (the metrics endpoint renders it).
    pub metrics: Arc<GrpcMetrics>,
}

/// Per-RPC metrics for every method this server answers: the
/// TalentGapService's, health's and reflection's.
pub fn grpc_metrics() -> Arc<GrpcMetrics> {
    let sets = [
        skills_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
    ];
    let services = [SERVICE_NAME, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"];
    GrpcMetrics::new(
        skills_proto::rpc_methods_of(&sets, &services)
            .into_iter()
            .map(|m| (m.service, m.method, RpcType::of(m.client_streaming, m.server_streaming))),
    )
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions::from_config(&crate::QueryConfig::default())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("TLS needs both query.tls_cert_file and query.tls_key_file")]
    HalfTls,
    #[error("invalid CORS origin {0:?}")]
    Origin(String),
    #[error("reflection: {0}")]
    Reflection(String),
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
}

fn read(path: &PathBuf) -> Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|error| ServeError::Read { path: path.display().to_string(), error })
}

fn tls(options: &ServeOptions) -> Result<Option<ServerTlsConfig>, ServeError> {
    match (&options.tls_cert_file, &options.tls_key_file) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            Ok(Some(ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?))))
        }
        _ => Err(ServeError::HalfTls),
    }
}

/// CORS for gRPC-web: the configured origins, the headers grpc-web clients
/// send, and the grpc-status/grpc-message trailers they must read.
fn cors(origins: &[String]) -> Result<CorsLayer, ServeError> {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| o.parse().map_err(|_| ServeError::Origin(o.clone())))
            .collect::<Result<Vec<http::HeaderValue>, _>>()?;
        AllowOrigin::list(values)
    };
    let header = http::HeaderName::from_static;
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([http::Method::POST, http::Method::OPTIONS])
        .allow_headers([
            header("authorization"),
            header("content-type"),
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
        ])
        .expose_headers([header("grpc-status"), header("grpc-message"), header("grpc-status-details-bin")])
        .max_age(Duration::from_secs(3600)))
}

/// Reports SERVING while the engine reaches its store, NOT_SERVING while
/// it does not, until shutdown.
async fn report_health(
    reporter: tonic_health::server::HealthReporter,
    engine: Arc<IndicatorEngine>,
    mut shutdown: Shutdown,
) {
    let mut last = None;
    loop {
        let serving = engine.store_reachable();
        if last != Some(serving) {
            let status =
                if serving { tonic_health::ServingStatus::Serving } else { tonic_health::ServingStatus::NotServing };
            reporter.set_service_status(SERVICE_NAME, status).await;
            reporter.set_service_status("", status).await;
            tracing::info!(serving, "health status");
            last = Some(serving);
        }
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(HEALTH_INTERVAL) => {}
        }
    }
}

pub async fn serve(
    listener: TcpListener,
    api: TalentGapApi,
    options: ServeOptions,
    shutdown: Shutdown,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(report_health(reporter, api.engine(), shutdown.clone()));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(skills_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let tls = tls(&options)?;
    let mut builder = tonic::transport::Server::builder()
        .max_concurrent_streams(options.http2_max_concurrent_streams)
        .http2_keepalive_interval(Some(options.http2_keepalive_interval))
        .http2_keepalive_timeout(Some(options.http2_keepalive_timeout))
        .max_connection_age(options.max_connection_age)
        .max_connection_age_grace(options.max_connection_age_grace)
        // Clients that reset many streams at once (the HTTP/2 "rapid
        // reset" attack) lose their connection.
        .http2_max_pending_accept_reset_streams(Some(64))
        .http2_max_header_list_size(16 * 1024);
    if let Some(timeout) = options.request_timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(tls) = tls.clone() {
        builder = builder.tls_config(tls)?;
    }
    tracing::info!(
        address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        tls = tls.is_some(),
        "gRPC TalentGapService listening (health, reflection, gRPC-web)"
    );
    let mut stop = shutdown;
    let api = Arc::new(api);
    let service = TalentGapServiceServer::from_arc(api.clone())
        .max_decoding_message_size(options.max_request_bytes)
        .max_encoding_message_size(options.max_response_bytes);
    // gRPC-web and CORS only for the gRPC services: the web layer refuses
    // any HTTP/1.1 request that is not gRPC-web, which the dashboard's
    // page and the JSON routes are.
    let grpc = tower::ServiceBuilder::new()
        .layer(cors(&options.cors_allowed_origins)?)
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(GrpcMetricsLayer::new(options.metrics.clone()).with_deadline(options.request_timeout))
        .layer(crate::rewrite::DecodeErrorsLayer);
    let body = |request: http::Request<axum::body::Body>| request.map(tonic::body::Body::new);
    let router = crate::http::router(api, options.request_timeout)
        .route_service(&format!("/{SERVICE_NAME}/{{*rest}}"), grpc.service(service).map_request(body))
        .route_service("/grpc.health.v1.Health/{*rest}", grpc.service(health).map_request(body))
        .route_service("/grpc.reflection.v1.ServerReflection/{*rest}", grpc.service(reflection).map_request(body));
    let incoming = crate::connections::accept(listener, options.max_connections, options.max_connections_per_address);
    builder
        .accept_http1(true)
        .add_routes(tonic::service::Routes::from(router))
        .serve_with_incoming_shutdown(incoming, async move { stop.wait().await })
        .await?;
    Ok(())
}

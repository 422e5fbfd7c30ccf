//! Serving the gateway on its bound listener until shutdown: gRPC
//! EventGateway with health and reflection, and the xAPI resource, on one
//! port (HTTP/2 and HTTP/1.1), over TLS when a certificate is configured,
//! mutual TLS when a client CA is. Every gRPC call is measured
//! (`skills_runtime::grpc_metrics`).

use crate::grpc::EventGatewayApi;
use skills_config::GatewayConfig;
use skills_proto::v1::event_gateway_server::EventGatewayServer;
use skills_runtime::grpc_metrics::{GrpcMetrics, GrpcMetricsLayer, RpcType};
use skills_runtime::{BoxError, Shutdown};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tower::ServiceExt;

/// The service name health checks and reflection know it by.
pub const SERVICE_NAME: &str = "skills.v1.EventGateway";

/// Per-RPC metrics for every method this server answers: the gateway's,
/// health's and reflection's.
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

fn read(path: &Path) -> Result<Vec<u8>, BoxError> {
    std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()).into())
}

fn tls(config: &GatewayConfig) -> Result<Option<ServerTlsConfig>, BoxError> {
    let (cert, key) = match (&config.tls_cert_file, &config.tls_key_file) {
        (None, None) if config.tls_client_ca_file.is_some() => {
            return Err("gateway.tls_client_ca_file needs tls_cert_file and tls_key_file".into());
        }
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        _ => return Err("TLS needs both gateway.tls_cert_file and gateway.tls_key_file".into()),
    };
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
    if let Some(ca) = &config.tls_client_ca_file {
        // Optional: partners with a token need no certificate.
        tls = tls.client_ca_root(Certificate::from_pem(read(ca)?)).client_auth_optional(true);
    }
    Ok(Some(tls))
}

pub async fn serve(
    listener: TcpListener,
    api: EventGatewayApi,
    xapi: axum::Router,
    config: &GatewayConfig,
    metrics: Arc<GrpcMetrics>,
    mut shutdown: Shutdown,
) -> Result<(), BoxError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status(SERVICE_NAME, tonic_health::ServingStatus::Serving).await;
    reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(skills_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let tls = tls(config)?;
    let mut builder = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(20)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .http2_max_pending_accept_reset_streams(Some(64))
        .http2_max_header_list_size(16 * 1024);
    if let Some(tls) = tls.clone() {
        builder = builder.tls_config(tls)?;
    }
    tracing::info!(
        address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        tls = tls.is_some(),
        mutual_tls = config.tls_client_ca_file.is_some(),
        "gateway listening: gRPC skills.v1.EventGateway, xAPI /xAPI/statements"
    );
    let gateway = EventGatewayServer::new(api)
        .max_decoding_message_size(config.max_request_bytes)
        .max_encoding_message_size(config.max_request_bytes);
    let measured = tower::ServiceBuilder::new().layer(GrpcMetricsLayer::new(metrics));
    let body = |request: http::Request<axum::body::Body>| request.map(tonic::body::Body::new);
    let router = xapi
        .route_service(&format!("/{SERVICE_NAME}/{{*rest}}"), measured.service(gateway).map_request(body))
        .route_service("/grpc.health.v1.Health/{*rest}", measured.service(health).map_request(body))
        .route_service("/grpc.reflection.v1.ServerReflection/{*rest}", measured.service(reflection).map_request(body));
    let routes = Routes::from(router);
    builder
        .accept_http1(true)
        .add_routes(routes)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move { shutdown.wait().await })
        .await?;
    Ok(())
}

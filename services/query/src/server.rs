//! Serving the API on a bound listener until shutdown.

use crate::service::TalentGapApi;
use skills_proto::v1::talent_gap_service_server::TalentGapServiceServer;
use skills_runtime::Shutdown;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

pub async fn serve(
    listener: TcpListener,
    api: TalentGapApi,
    mut shutdown: Shutdown,
) -> Result<(), tonic::transport::Error> {
    tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "gRPC TalentGapService listening");
    tonic::transport::Server::builder()
        .add_service(TalentGapServiceServer::new(api))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move { shutdown.wait().await })
        .await
}

//! The gRPC client the command line and the demo use.

use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_client::TalentGapServiceClient;
use std::path::Path;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

pub struct Client {
    inner: TalentGapServiceClient<Channel>,
    token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {endpoint}: {error} (is `cargo run --release` running?)")]
    Connect { endpoint: String, error: tonic::transport::Error },
    #[error("{endpoint}: {message}")]
    Address { endpoint: String, message: String },
    #[error("cannot read the CA certificate {path}: {error}")]
    Ca { path: String, error: std::io::Error },
    #[error("{}: {}", .0.code(), .0.message())]
    Call(#[from] Status),
}

impl Client {
    /// A plaintext or TLS connection by the endpoint's scheme.
    pub async fn connect(endpoint: &str, token: Option<String>) -> Result<Self, ClientError> {
        Client::connect_with(endpoint, None, token).await
    }

    /// `https://` speaks TLS, trusting `ca` (PEM) when given, else the
    /// system's roots; `http://` is plaintext.
    pub async fn connect_with(endpoint: &str, ca: Option<&Path>, token: Option<String>) -> Result<Self, ClientError> {
        let address = |message: String| ClientError::Address { endpoint: endpoint.to_string(), message };
        let mut target = Endpoint::from_shared(endpoint.to_string())
            .map_err(|e| address(format!("not an address ({e}); expected http://host:port or https://host:port")))?;
        if endpoint.starts_with("https://") {
            let tls = match ca {
                Some(path) => {
                    let pem = std::fs::read(path)
                        .map_err(|error| ClientError::Ca { path: path.display().to_string(), error })?;
                    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
                }
                None => ClientTlsConfig::new().with_native_roots(),
            };
            target = target.tls_config(tls).map_err(|e| address(format!("TLS: {e}")))?;
        } else if ca.is_some() {
            return Err(address("--ca is for https:// addresses".into()));
        }
        let channel =
            target.connect().await.map_err(|error| ClientError::Connect { endpoint: endpoint.to_string(), error })?;
        Ok(Client { inner: TalentGapServiceClient::new(channel), token })
    }

    fn request<T>(&self, body: T) -> Request<T> {
        let mut request = Request::new(body);
        if let Some(token) = &self.token
            && let Ok(value) = format!("Bearer {token}").parse()
        {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    pub async fn region(&mut self, region: &str, period: &str) -> Result<pb::GetRegionIndicatorsResponse, ClientError> {
        let body = pb::GetRegionIndicatorsRequest { region: region.into(), period: period.into() };
        Ok(self.inner.get_region_indicators(self.request(body)).await?.into_inner())
    }

    pub async fn rank(&mut self, body: pb::RankShortagesRequest) -> Result<pb::RankShortagesResponse, ClientError> {
        Ok(self.inner.rank_shortages(self.request(body)).await?.into_inner())
    }

    pub async fn skill(&mut self, skill: &str, period: &str) -> Result<pb::GetSkillAcrossRegionsResponse, ClientError> {
        let body = pb::GetSkillAcrossRegionsRequest { skill: skill.into(), period: period.into() };
        Ok(self.inner.get_skill_across_regions(self.request(body)).await?.into_inner())
    }

    pub async fn inclusion(&mut self, region: &str, period: &str) -> Result<pb::GetInclusionResponse, ClientError> {
        let body = pb::GetInclusionRequest { region: region.into(), period: period.into() };
        Ok(self.inner.get_inclusion(self.request(body)).await?.into_inner())
    }

    pub async fn trend(
        &mut self,
        region: &str,
        skill: &str,
        from: &str,
        to: &str,
    ) -> Result<pb::GetTrendResponse, ClientError> {
        let body = pb::GetTrendRequest { region: region.into(), skill: skill.into(), from: from.into(), to: to.into() };
        Ok(self.inner.get_trend(self.request(body)).await?.into_inner())
    }

    pub async fn reference(&mut self) -> Result<pb::GetReferenceDataResponse, ClientError> {
        Ok(self.inner.get_reference_data(self.request(pb::GetReferenceDataRequest {})).await?.into_inner())
    }

    pub async fn pipeline_status(&mut self) -> Result<pb::GetPipelineStatusResponse, ClientError> {
        Ok(self.inner.get_pipeline_status(self.request(pb::GetPipelineStatusRequest {})).await?.into_inner())
    }

    pub async fn partner_status(&mut self, partner: &str) -> Result<pb::GetPartnerStatusResponse, ClientError> {
        let request = pb::GetPartnerStatusRequest { partner_id: partner.to_string() };
        Ok(self.inner.get_partner_status(self.request(request)).await?.into_inner())
    }

    pub async fn watch(
        &mut self,
        region: &str,
        period: &str,
    ) -> Result<tonic::Streaming<pb::WatchIndicatorsResponse>, ClientError> {
        let body = pb::WatchIndicatorsRequest { region: region.into(), period: period.into() };
        Ok(self.inner.watch_indicators(self.request(body)).await?.into_inner())
    }
}

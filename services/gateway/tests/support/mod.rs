//! A gateway served over the embedded bus on a free port, its clients,
//! and what it wrote to the raw topics.

#![allow(dead_code)]

use skills_bus::embedded::EmbeddedBus;
use skills_bus::{Bus, Record};
use skills_config::SkillsConfig;
use skills_gateway::GatewayService;
use skills_proto::v1 as pb;
use skills_proto::v1::event_gateway_client::EventGatewayClient;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub const TOKEN: &str = "gen-lyon-token-0123456789";
pub const OTHER_TOKEN: &str = "fun-mooc-token-0123456789";

pub struct Running {
    pub address: SocketAddr,
    pub bus: EmbeddedBus,
    pub trigger: skills_runtime::ShutdownTrigger,
}

pub async fn start(config: SkillsConfig) -> Running {
    let bus = EmbeddedBus::new(1_000_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let credentials =
        vec![("gen-lyon".to_string(), TOKEN.to_string()), ("fun-mooc".to_string(), OTHER_TOKEN.to_string())];
    let service = GatewayService::new(&config, Arc::new(bus.clone()), listener, credentials).unwrap();
    let address = service.local_addr().unwrap();
    let (trigger, shutdown) = skills_runtime::shutdown_pair();
    tokio::spawn(service.run(shutdown));
    Running { address, bus, trigger }
}

/// Adds the authorization header to every call.
pub type Authorize = Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send>;
pub type Client = EventGatewayClient<InterceptedService<Channel, Authorize>>;

/// A client that sends `token` (none: no authorization header).
pub async fn client(running: &Running, token: Option<&str>) -> Client {
    client_at(running.address, token).await
}

pub async fn client_at(address: SocketAddr, token: Option<&str>) -> Client {
    let endpoint = format!("http://{address}");
    let mut channel = None;
    for _ in 0..50 {
        match Channel::from_shared(endpoint.clone()).unwrap().connect().await {
            Ok(connected) => {
                channel = Some(connected);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let header = token.map(|token| format!("Bearer {token}").parse::<tonic::metadata::MetadataValue<_>>().unwrap());
    let interceptor: Authorize = Box::new(move |mut request: tonic::Request<()>| {
        if let Some(header) = &header {
            request.metadata_mut().insert("authorization", header.clone());
        }
        Ok(request)
    });
    EventGatewayClient::with_interceptor(channel.expect("the gateway answers"), interceptor)
}

/// The example enrolment of proto/examples with a fresh id and `partner`.
pub fn enrolment(partner: &str) -> pb::EventEnvelope {
    example(include_str!("../../../../proto/examples/enrolment.json"), partner)
}

pub fn demand(partner: &str) -> pb::EventEnvelope {
    example(include_str!("../../../../proto/examples/labour_demand.json"), partner)
}

fn example(text: &str, partner: &str) -> pb::EventEnvelope {
    let mut envelope = skills_domain::events::decode(text.as_bytes(), None).unwrap();
    envelope.event_id = uuid::Uuid::new_v4().to_string();
    envelope.partner_id = partner.to_string();
    envelope
}

/// Every record of a topic so far.
pub async fn records(bus: &EmbeddedBus, topic: &str) -> Vec<Record> {
    let group = format!("test-{}", uuid::Uuid::new_v4());
    let mut consumer = bus.consumer(&group, &[topic.to_string()]).unwrap();
    let mut all = Vec::new();
    loop {
        let batch = consumer.poll(10_000, Duration::from_millis(50)).await.unwrap();
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

/// One HTTP/1.1 exchange: status, headers (lower-case names), body.
pub fn http(
    address: SocketAddr,
    request_line: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut request = format!(
        "{request_line} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, rest) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_string() };
    (status, headers, body)
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        text = &rest[size + 2..];
    }
    out
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

//! A Prometheus text endpoint (`GET /metrics`) and a liveness probe
//! (`GET /healthz`). Each service renders its own counters.

use crate::Shutdown;
use axum::Router;
use axum::routing::get;
use std::fmt::Write;
use std::sync::Arc;
use tokio::net::TcpListener;

pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// `[metrics]`: where each service binary serves its counters ("" = off).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub ingest_listen: String,
    pub aggregator_listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { ingest_listen: "127.0.0.1:9101".into(), aggregator_listen: "127.0.0.1:9102".into() }
    }
}

/// Binds `listen` and serves the endpoint in the background; nothing when
/// `listen` is empty.
pub async fn spawn_endpoint(listen: &str, render: Render, shutdown: Shutdown) -> std::io::Result<()> {
    if listen.is_empty() {
        return Ok(());
    }
    let listener = TcpListener::bind(listen).await?;
    tokio::spawn(serve(listener, render, shutdown));
    Ok(())
}

/// Serves until shutdown.
pub async fn serve(listener: TcpListener, render: Render, mut shutdown: Shutdown) -> std::io::Result<()> {
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let render = render.clone();
                async move { ([("content-type", "text/plain; version=0.0.4")], render()) }
            }),
        )
        .route("/healthz", get(|| async { "ok" }));
    tracing::info!(address = %listener.local_addr()?, "metrics listening");
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await
}

/// Builds Prometheus text exposition.
#[derive(Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    pub fn counter(&mut self, name: &str, help: &str, value: u64) -> &mut Self {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        self
    }

    pub fn gauge(&mut self, name: &str, help: &str, value: i64) -> &mut Self {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        self
    }

    /// One counter with a label, one line per label value.
    pub fn labelled_counter<'a>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> &mut Self {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} counter");
        for (label_value, value) in values {
            let _ = writeln!(self.text, "{name}{{{label}=\"{label_value}\"}} {value}");
        }
        self
    }

    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let text = Exposition::default()
            .counter("skills_ingest_consumed_total", "Raw records read.", 7)
            .labelled_counter("skills_ingest_dead_lettered_total", "By reason.", "reason", [("undecodable", 2)])
            .gauge("skills_ingest_lag", "Uncommitted records.", 3)
            .finish();
        assert!(text.contains("# TYPE skills_ingest_consumed_total counter\nskills_ingest_consumed_total 7\n"));
        assert!(text.contains("skills_ingest_dead_lettered_total{reason=\"undecodable\"} 2\n"));
        assert!(text.contains("# TYPE skills_ingest_lag gauge\nskills_ingest_lag 3\n"));
    }

    #[tokio::test]
    async fn serves_metrics_and_health() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (trigger, shutdown) = crate::shutdown_pair();
        let server = tokio::spawn(serve(listener, Arc::new(|| "up 1\n".to_string()), shutdown));
        let body = http_get(address, "/metrics").await;
        assert!(body.ends_with("up 1\n"), "{body}");
        assert!(body.starts_with("HTTP/1.1 200"));
        assert!(http_get(address, "/healthz").await.ends_with("ok"));
        trigger.trigger();
        server.await.unwrap().unwrap();
    }

    async fn http_get(address: std::net::SocketAddr, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }
}

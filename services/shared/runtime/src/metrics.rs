//! A Prometheus text endpoint (`GET /metrics`) and a liveness probe
//! (`GET /healthz`). Each service renders its own counters.

use crate::Shutdown;
use axum::Router;
use axum::routing::get;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// `[metrics]`: where each service binary serves its counters ("" = off).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub ingest_listen: String,
    pub aggregator_listen: String,
    pub model_listen: String,
    pub gateway_listen: String,
    pub query_listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            ingest_listen: "127.0.0.1:9101".into(),
            aggregator_listen: "127.0.0.1:9102".into(),
            model_listen: "127.0.0.1:9103".into(),
            gateway_listen: "127.0.0.1:9104".into(),
            query_listen: "127.0.0.1:9105".into(),
        }
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

/// A label value as the text format writes it: backslash, quote and
/// newline escaped (partner ids come from configuration files).
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Upper bounds of the latency buckets, in seconds.
pub const LATENCY_BOUNDS_SECONDS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Latencies counted into fixed buckets, lock-free.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; LATENCY_BOUNDS_SECONDS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        if let Some(index) = LATENCY_BOUNDS_SECONDS.iter().position(|bound| seconds <= *bound) {
            self.buckets[index].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
    }
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

    /// One counter with several labels, one line per set of label values.
    pub fn multi_labelled_counter<'a>(
        &mut self,
        name: &str,
        help: &str,
        rows: impl IntoIterator<Item = (Vec<(&'a str, &'a str)>, u64)>,
    ) -> &mut Self {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} counter");
        for (labels, value) in rows {
            let labels: Vec<String> =
                labels.iter().map(|(label, value)| format!("{label}=\"{}\"", escape_label(value))).collect();
            let _ = writeln!(self.text, "{name}{{{}}} {value}", labels.join(","));
        }
        self
    }

    /// A latency histogram, in seconds.
    pub fn histogram(&mut self, name: &str, help: &str, histogram: &LatencyHistogram) -> &mut Self {
        self.multi_labelled_histogram(name, help, [(Vec::new(), histogram)])
    }

    /// One latency histogram (in seconds) per set of label values.
    pub fn multi_labelled_histogram<'a>(
        &mut self,
        name: &str,
        help: &str,
        rows: impl IntoIterator<Item = (Vec<(&'a str, &'a str)>, &'a LatencyHistogram)>,
    ) -> &mut Self {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (labels, histogram) in rows {
            let labels: String =
                labels.iter().map(|(label, value)| format!("{label}=\"{}\",", escape_label(value))).collect();
            let mut cumulative = 0;
            for (bound, count) in LATENCY_BOUNDS_SECONDS.iter().zip(&histogram.buckets) {
                cumulative += count.load(Ordering::Relaxed);
                let _ = writeln!(self.text, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
            }
            let count = histogram.count.load(Ordering::Relaxed);
            let sum = histogram.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(self.text, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
            let plain = labels.trim_end_matches(',');
            let braces = if plain.is_empty() { String::new() } else { format!("{{{plain}}}") };
            let _ = writeln!(self.text, "{name}_sum{braces} {sum}\n{name}_count{braces} {count}");
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

    #[test]
    fn renders_a_cumulative_histogram() {
        let histogram = LatencyHistogram::default();
        histogram.observe(Duration::from_micros(800));
        histogram.observe(Duration::from_millis(30));
        histogram.observe(Duration::from_secs(60));
        let text = Exposition::default().histogram("w", "Write latency.", &histogram).finish();
        assert!(text.contains("w_bucket{le=\"0.001\"} 1\n"), "{text}");
        assert!(text.contains("w_bucket{le=\"0.025\"} 1\n"), "{text}");
        assert!(text.contains("w_bucket{le=\"0.05\"} 2\n"), "{text}");
        assert!(text.contains("w_bucket{le=\"10\"} 2\nw_bucket{le=\"+Inf\"} 3\nw_sum 60.0308\nw_count 3\n"), "{text}");
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

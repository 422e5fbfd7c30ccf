//! Per-RPC server metrics under the names the Prometheus gRPC ecosystem
//! uses (go-grpc-prometheus, grpc-ecosystem's middleware), so that the
//! usual dashboards and SLO rules work unchanged:
//!
//! - `grpc_server_started_total{grpc_type,grpc_service,grpc_method}`
//! - `grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}`
//! - `grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}` (histogram)
//!
//! A tower layer measures every call, whatever answers it (the service,
//! tonic's own errors, health, reflection): the code is read from the
//! `grpc-status` header of a trailers-only answer or from the trailers at
//! the end of the body; a call dropped before its answer counts as
//! `DeadlineExceeded` when its deadline had passed (the transport's
//! timeout, or the client's `grpc-timeout`), else as `Canceled`, as is a
//! body dropped before its end (the client went away). Handling time runs
//! to that end, so a stream's is its whole life.

use crate::metrics::{Exposition, LatencyHistogram};
use axum::http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The gRPC status codes by number, as the metrics name them.
const CODES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// How a method streams, as `grpc_type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RpcType {
    Unary,
    ClientStream,
    ServerStream,
    BidiStream,
}

impl RpcType {
    pub fn of(client_streaming: bool, server_streaming: bool) -> RpcType {
        match (client_streaming, server_streaming) {
            (false, false) => RpcType::Unary,
            (true, false) => RpcType::ClientStream,
            (false, true) => RpcType::ServerStream,
            (true, true) => RpcType::BidiStream,
        }
    }

    fn label(self) -> &'static str {
        match self {
            RpcType::Unary => "unary",
            RpcType::ClientStream => "client_stream",
            RpcType::ServerStream => "server_stream",
            RpcType::BidiStream => "bidi_stream",
        }
    }
}

/// One method's figures.
#[derive(Default)]
struct MethodStats {
    started: u64,
    handled: BTreeMap<&'static str, u64>,
    seconds: Arc<LatencyHistogram>,
}

/// (service, method) → figures. Methods are known in advance (from the
/// descriptors) so that each has its series from the start at zero; a
/// path no service serves is counted under the method `unknown`, so a
/// scan of random paths cannot grow the table.
pub struct GrpcMetrics {
    types: HashMap<(String, String), RpcType>,
    stats: Mutex<BTreeMap<(String, String), MethodStats>>,
}

impl std::fmt::Debug for GrpcMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcMetrics").field("methods", &self.types.len()).finish_non_exhaustive()
    }
}

impl GrpcMetrics {
    /// For the methods `(service, method, type)`.
    pub fn new(methods: impl IntoIterator<Item = (String, String, RpcType)>) -> Arc<GrpcMetrics> {
        let mut types = HashMap::new();
        let mut stats = BTreeMap::new();
        for (service, method, kind) in methods {
            stats.insert((service.clone(), method.clone()), MethodStats::default());
            types.insert((service, method), kind);
        }
        Arc::new(GrpcMetrics { types, stats: Mutex::new(stats) })
    }

    /// The known (service, method) of a request path `/pkg.Service/Method`.
    fn key(&self, path: &str) -> (String, String) {
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let service = parts.next().unwrap_or_default().to_string();
        let method = parts.next().unwrap_or_default().to_string();
        let key = (service, method);
        if self.types.contains_key(&key) { key } else { ("unknown".into(), "unknown".into()) }
    }

    fn start(self: &Arc<Self>, path: &str, deadline: Option<Duration>) -> Probe {
        let key = self.key(path);
        let seconds = {
            let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            let entry = stats.entry(key.clone()).or_default();
            entry.started += 1;
            entry.seconds.clone()
        };
        Probe { metrics: self.clone(), key, seconds, started: Instant::now(), deadline, answered: false, done: false }
    }

    fn finish(&self, key: &(String, String), code: &'static str) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        *stats.entry(key.clone()).or_default().handled.entry(code).or_default() += 1;
    }

    /// The three metric families, appended to `out`.
    pub fn render(&self, out: &mut Exposition) {
        let stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let types = &self.types;
        fn labels<'a>(
            types: &HashMap<(String, String), RpcType>,
            key: &'a (String, String),
        ) -> Vec<(&'static str, &'a str)> {
            let kind = types.get(key).copied().unwrap_or(RpcType::Unary).label();
            vec![("grpc_type", kind), ("grpc_service", key.0.as_str()), ("grpc_method", key.1.as_str())]
        }
        out.multi_labelled_counter(
            "grpc_server_started_total",
            "RPCs started on the server.",
            stats.iter().map(|(key, s)| (labels(types, key), s.started)),
        );
        out.multi_labelled_counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, by gRPC status code.",
            stats.iter().flat_map(|(key, s)| {
                s.handled.iter().map(move |(code, n)| {
                    let mut row = labels(types, key);
                    row.push(("grpc_code", code));
                    (row, *n)
                })
            }),
        );
        out.multi_labelled_histogram(
            "grpc_server_handling_seconds",
            "Time from an RPC's start to its status, in seconds.",
            stats.iter().map(|(key, s)| (labels(types, key), s.seconds.as_ref())),
        );
    }
}

/// One call in flight: counts as handled once, when its code is known,
/// or as Canceled when dropped before.
struct Probe {
    metrics: Arc<GrpcMetrics>,
    key: (String, String),
    seconds: Arc<LatencyHistogram>,
    started: Instant,
    /// When the call is cut short if still unanswered.
    deadline: Option<Duration>,
    answered: bool,
    done: bool,
}

impl Probe {
    fn finish(&mut self, code: &'static str) {
        if !self.done {
            self.done = true;
            self.seconds.observe(self.started.elapsed());
            self.metrics.finish(&self.key, code);
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let late = !self.answered && self.deadline.is_some_and(|d| self.started.elapsed() >= d);
        self.finish(if late { "DeadlineExceeded" } else { "Canceled" });
    }
}

/// A `grpc-timeout` header's duration ("250m", "5S", …).
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get("grpc-timeout")?.to_str().ok()?;
    let (value, unit) = text.split_at(text.len().checked_sub(1)?);
    let value: u64 = value.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value.saturating_mul(3600)),
        "M" => Duration::from_secs(value.saturating_mul(60)),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

/// The code a `grpc-status` header names, if any.
fn status_code(headers: &HeaderMap) -> Option<&'static str> {
    let value = headers.get("grpc-status")?;
    let number: usize = value.to_str().ok()?.trim().parse().ok()?;
    Some(CODES.get(number).copied().unwrap_or("Unknown"))
}

/// Measures every call of the service it wraps.
#[derive(Clone)]
pub struct GrpcMetricsLayer {
    metrics: Arc<GrpcMetrics>,
    deadline: Option<Duration>,
}

impl GrpcMetricsLayer {
    pub fn new(metrics: Arc<GrpcMetrics>) -> Self {
        GrpcMetricsLayer { metrics, deadline: None }
    }

    /// The server's own deadline for an answer (`Server::timeout`): a call
    /// dropped unanswered after it counts as DeadlineExceeded.
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }
}

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetricsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetricsService { inner, metrics: self.metrics.clone(), deadline: self.deadline }
    }
}

#[derive(Clone)]
pub struct GrpcMetricsService<S> {
    inner: S,
    metrics: Arc<GrpcMetrics>,
    deadline: Option<Duration>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for GrpcMetricsService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: Body + Unpin,
{
    type Response = Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let deadline = match (self.deadline, grpc_timeout(request.headers())) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut probe = self.metrics.start(request.uri().path(), deadline);
        // The clone that was made ready serves this call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = match inner.call(request).await {
                Ok(response) => response,
                Err(error) => {
                    probe.finish("Unknown");
                    return Err(error);
                }
            };
            probe.answered = true;
            // A trailers-only answer (every error tonic returns early)
            // carries its status in the headers.
            if let Some(code) = status_code(response.headers()) {
                probe.finish(code);
            }
            Ok(response.map(|body| MeteredBody { inner: body, probe: Some(probe) }))
        })
    }
}

/// A response body that reports the call's code when its trailers pass.
pub struct MeteredBody<B> {
    inner: B,
    probe: Option<Probe>,
}

impl<B: Body + Unpin> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_code) {
                    self.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish("Unknown"),
            // The end with no status: not a gRPC answer (a plain HTTP
            // error of the transport); Unknown, as a client would see it.
            Poll::Ready(None) => self.finish("Unknown"),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> MeteredBody<B> {
    fn finish(&mut self, code: &'static str) {
        if let Some(mut probe) = self.probe.take() {
            probe.finish(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body as AxumBody;
    use std::convert::Infallible;
    use tower::{Layer, Service};

    fn metrics() -> Arc<GrpcMetrics> {
        GrpcMetrics::new([
            ("pkg.Svc".to_string(), "Get".to_string(), RpcType::Unary),
            ("pkg.Svc".to_string(), "Watch".to_string(), RpcType::ServerStream),
        ])
    }

    fn rendered(metrics: &GrpcMetrics) -> String {
        let mut out = Exposition::default();
        metrics.render(&mut out);
        out.finish()
    }

    /// A body of frames given in advance.
    struct Frames(std::collections::VecDeque<Frame<bytes::Bytes>>);

    impl Body for Frames {
        type Data = bytes::Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<bytes::Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    /// Answers with one data frame and trailers holding `code`, or with a
    /// trailers-only error when `headers_only`.
    #[derive(Clone)]
    struct Answer {
        code: u8,
        headers_only: bool,
    }

    impl tower::Service<Request<AxumBody>> for Answer {
        type Response = Response<Frames>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Response<Frames>, Infallible>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Request<AxumBody>) -> Self::Future {
            let mut status = HeaderMap::new();
            status.insert("grpc-status", self.code.to_string().parse().unwrap());
            let frames = if self.headers_only {
                Default::default()
            } else {
                [Frame::data(bytes::Bytes::from_static(b"x")), Frame::trailers(status.clone())].into()
            };
            let mut response = Response::new(Frames(frames));
            if self.headers_only {
                *response.headers_mut() = status;
            }
            std::future::ready(Ok(response))
        }
    }

    async fn call(metrics: &Arc<GrpcMetrics>, path: &str, code: u8, headers_only: bool, read: bool) {
        let mut service = GrpcMetricsLayer::new(metrics.clone()).layer(Answer { code, headers_only });
        let request = Request::builder().uri(path).body(AxumBody::empty()).unwrap();
        std::future::poll_fn(|cx| service.poll_ready(cx)).await.unwrap();
        let response = service.call(request).await.unwrap();
        if read {
            let mut body = response.into_body();
            while std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await.is_some() {}
        }
    }

    #[tokio::test]
    async fn counts_codes_from_trailers_and_from_trailers_only_answers() {
        let metrics = metrics();
        call(&metrics, "/pkg.Svc/Get", 0, false, true).await;
        call(&metrics, "/pkg.Svc/Get", 3, true, true).await;
        call(&metrics, "/pkg.Svc/Watch", 0, false, false).await;
        call(&metrics, "/nope/Nothing", 12, true, true).await;
        let text = rendered(&metrics);
        let get = r#"grpc_type="unary",grpc_service="pkg.Svc",grpc_method="Get""#;
        let watch = r#"grpc_type="server_stream",grpc_service="pkg.Svc",grpc_method="Watch""#;
        assert!(text.contains(&format!("grpc_server_started_total{{{get}}} 2\n")), "{text}");
        assert!(text.contains(&format!("grpc_server_handled_total{{{get},grpc_code=\"OK\"}} 1\n")), "{text}");
        assert!(
            text.contains(&format!("grpc_server_handled_total{{{get},grpc_code=\"InvalidArgument\"}} 1\n")),
            "{text}"
        );
        // The stream's body was dropped unread: the client went away.
        assert!(text.contains(&format!("grpc_server_handled_total{{{watch},grpc_code=\"Canceled\"}} 1\n")), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_count{{{get}}} 2\n")), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_bucket{{{get},le=\"+Inf\"}} 2\n")), "{text}");
        // An unknown path is counted, under one series whatever the path.
        let unknown = r#"grpc_type="unary",grpc_service="unknown",grpc_method="unknown""#;
        assert!(text.contains(&format!("grpc_server_started_total{{{unknown}}} 1\n")), "{text}");
        assert!(
            text.contains(&format!("grpc_server_handled_total{{{unknown},grpc_code=\"Unimplemented\"}} 1\n")),
            "{text}"
        );
    }

    #[test]
    fn a_call_dropped_unanswered_after_its_deadline_exceeded_it() {
        let metrics = metrics();
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", "1n".parse().unwrap());
        assert_eq!(grpc_timeout(&headers), Some(Duration::from_nanos(1)));
        let late = metrics.start("/pkg.Svc/Get", grpc_timeout(&headers));
        std::thread::sleep(Duration::from_millis(1));
        drop(late);
        let early = metrics.start("/pkg.Svc/Get", Some(Duration::from_secs(60)));
        drop(early);
        let text = rendered(&metrics);
        let get = r#"grpc_type="unary",grpc_service="pkg.Svc",grpc_method="Get""#;
        assert!(
            text.contains(&format!("grpc_server_handled_total{{{get},grpc_code=\"DeadlineExceeded\"}} 1\n")),
            "{text}"
        );
        assert!(text.contains(&format!("grpc_server_handled_total{{{get},grpc_code=\"Canceled\"}} 1\n")), "{text}");
    }

    #[tokio::test]
    async fn every_known_method_has_its_series_before_any_call() {
        let text = rendered(&metrics());
        assert!(text.contains(
            r#"grpc_server_started_total{grpc_type="server_stream",grpc_service="pkg.Svc",grpc_method="Watch"} 0"#
        ));
        assert!(text.contains("# TYPE grpc_server_handling_seconds histogram\n"), "{text}");
    }
}

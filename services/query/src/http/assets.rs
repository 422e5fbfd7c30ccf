//! The dashboard's files, built from `services/query/web/` by
//! `deploy/web.sh` into `web/dist/` (committed, so that a build needs no
//! Node) and embedded in the binary. Each is served gzipped to a browser
//! that takes gzip, with an ETag so that a reload costs a 304.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::OnceLock;

/// One embedded file: its bytes, and the same gzipped by the build.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    plain: &'static [u8],
    gzip: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $file:literal, $type:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            plain: include_bytes!(concat!("../../web/dist/", $file)),
            gzip: include_bytes!(concat!("../../web/dist/", $file, ".gz")),
        }
    };
}

static ASSETS: [Asset; 3] = [
    asset!("/", "index.html", "text/html; charset=utf-8"),
    asset!("/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
    asset!("/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
];

/// A strong validator per file: FNV-1a of its bytes.
fn etag(index: usize) -> &'static HeaderValue {
    static TAGS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let hash = asset
                    .plain
                    .iter()
                    .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
                HeaderValue::from_str(&format!("\"{hash:016x}\"")).expect("hex is a header value")
            })
            .collect()
    });
    &tags[index]
}

pub fn routes() -> Router {
    let mut router = Router::new();
    for (index, asset) in ASSETS.iter().enumerate() {
        router = router.route(asset.path, get(move |headers: HeaderMap| async move { serve(index, &headers) }));
    }
    router
}

fn serve(index: usize, headers: &HeaderMap) -> Response {
    let asset = &ASSETS[index];
    let tag = etag(index);
    let mut response = if headers.get(header::IF_NONE_MATCH) == Some(tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(headers) {
        let mut response = asset.gzip.into_response();
        response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        asset.plain.into_response()
    };
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    out.insert(header::ETAG, tag.clone());
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    // Always revalidated: a new binary serves new files at once.
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if index == 0 {
        // The page loads nothing from elsewhere and talks only to its own
        // origin; no framing by other sites.
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; \
                 frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
        );
        out.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    response
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim().replace(' ', "").as_str(), "q=0" | "q=0.0" | "q=0.00"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn gzip_when_the_browser_takes_it() {
        assert!(accepts_gzip(&headers(&[("accept-encoding", "gzip, deflate, br")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "br")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn a_matching_etag_answers_not_modified() {
        let first = serve(1, &HeaderMap::new());
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers().get(header::ETAG).unwrap().clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(serve(1, &again).status(), StatusCode::NOT_MODIFIED);
        let page = serve(0, &headers(&[("accept-encoding", "gzip")]));
        assert_eq!(page.headers().get(header::CONTENT_ENCODING).unwrap(), "gzip");
        assert!(page.headers().get(header::CONTENT_SECURITY_POLICY).is_some());
    }
}

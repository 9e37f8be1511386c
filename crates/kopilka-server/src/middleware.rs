//! The one middleware every request passes on its way in and out: the client's address, the
//! time limit, caching of private answers, and refusals reported as security events. One
//! layer rather than four: each layer costs every request a boxed future.

use crate::client_ip::TrustedProxies;
use crate::error::ApiError;
use crate::extract::ClientAddr;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kopilka_service::security::SecurityEvent;
use kopilka_service::Kopilka;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What the middleware needs, shared by every request.
pub struct Edge {
    pub kopilka: Kopilka,
    pub proxies: TrustedProxies,
    pub time_limit: Duration,
    /// For the uploads of whole files (`BULK_UPLOADS`).
    pub upload_time_limit: Duration,
}

/// Where a whole catalogue file is uploaded: a million rows take longer than a request.
const BULK_UPLOADS: [&str; 2] = ["/api/v1/admin/catalog/", "/admin/catalog/"];

/// A 403 `forbidden` answer carries this, so that the refusal is logged and counted once,
/// with the client's address and route, by [`edge`].
#[derive(Debug, Clone, Copy)]
pub struct Refused;

/// Prefixes whose answers carry tokens or personal data: never stored by a cache.
const PRIVATE_PREFIXES: [&str; 5] = [
    "/api/v1/auth/",
    "/api/v1/me",
    "/api/v1/admin/",
    "/api/v1/pos/",
    "/api/v1/employee/",
];

/// Every request passes here first: its language for problem answers, its client's address,
/// its time limit, and the headers every answer carries.
pub async fn edge(State(edge): State<Arc<Edge>>, request: Request, next: Next) -> Response {
    let lang = crate::error::request_language(request.headers());
    crate::error::in_language(lang, guarded(edge, request, next)).await
}

async fn guarded(edge: Arc<Edge>, mut request: Request, next: Next) -> Response {
    // The client's address, decided once: the peer, or behind a trusted proxy the rightmost
    // `X-Forwarded-For` hop that is not one.
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| {
            let mut forwarded = request.headers().get_all("x-forwarded-for").iter();
            match forwarded.next() {
                // Most requests come straight from a client: nothing to collect.
                None => peer.ip(),
                Some(first) => {
                    let values: Vec<&str> = std::iter::once(first)
                        .chain(forwarded)
                        .filter_map(|v| v.to_str().ok())
                        .collect();
                    edge.proxies.client(peer.ip(), &values)
                }
            }
        });
    if let Some(ip) = ip {
        tracing::Span::current().record("ip", tracing::field::display(ip));
        request.extensions_mut().insert(ClientAddr(ip));
    }
    let route = request.extensions().get::<MatchedPath>().cloned();
    let private = PRIVATE_PREFIXES
        .iter()
        .any(|p| request.uri().path().starts_with(p));

    let time_limit = if request.method() == axum::http::Method::POST
        && BULK_UPLOADS
            .iter()
            .any(|p| request.uri().path().starts_with(p))
    {
        edge.upload_time_limit
    } else {
        edge.time_limit
    };
    let mut response = match tokio::time::timeout(time_limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_s = time_limit.as_secs(), "request timed out");
            ApiError::new(crate::error::ProblemCode::Timeout)
                .retry_after(1)
                .into_response()
        }
    };
    if response.extensions().get::<Refused>().is_some() {
        let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
        let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        edge.kopilka
            .security_event(SecurityEvent::Forbidden, route, &ip);
    }
    if private {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

//! Middleware of the whole HTTP surface: the client's address, the time limit, and caching.

use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kopilka_service::security::SecurityEvent;
use std::net::SocketAddr;
use std::time::Duration;

/// A 403 `forbidden` answer carries this, so that the refusal is logged and counted once,
/// with the client's address, by [`client_address`].
#[derive(Debug, Clone, Copy)]
pub struct Refused;

/// Decides the client's address once (trusted proxies), puts it on the request and its log
/// span, and reports refusals as security events.
pub async fn client_address(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let ip = match peer {
        Some(peer) => {
            let forwarded: Vec<&str> = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            state.proxies.client(peer, &forwarded).to_string()
        }
        None => "unknown".to_owned(),
    };
    tracing::Span::current().record("ip", ip.as_str());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    request.extensions_mut().insert(ClientAddr(ip.clone()));
    let response = next.run(request).await;
    if response.extensions().get::<Refused>().is_some() {
        state
            .kopilka
            .security_event(SecurityEvent::Forbidden, &route, &ip);
    }
    response
}

/// A request that takes longer than the limit is answered 503 with `Retry-After`, as a problem
/// document like every other error.
pub async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_s = limit.as_secs(), "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Request timed out",
                "The request took too long; please try again shortly.",
            )
            .retry_after(1)
            .into_response()
        }
    }
}

/// Prefixes whose answers carry tokens or personal data: never stored by a cache.
const PRIVATE_PREFIXES: [&str; 5] = [
    "/api/v1/auth/",
    "/api/v1/me",
    "/api/v1/admin/",
    "/api/v1/pos/",
    "/api/v1/employee/",
];

pub async fn no_store(request: Request, next: Next) -> Response {
    let private = PRIVATE_PREFIXES
        .iter()
        .any(|p| request.uri().path().starts_with(p));
    let mut response = next.run(request).await;
    if private {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

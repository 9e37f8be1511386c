//! Request extractors: JSON bodies that fail as problem documents, bearer credentials of each
//! kind, and the client's address.

use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use kopilka_domain::member::Member;
use kopilka_service::auth::{Client, CustomerSession};
use kopilka_store::StaffMember;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// A JSON body. Bad JSON is a 400 `validation_failed` naming the field; a body over the
/// limit is a 413. The content type is not insisted on: the body is JSON either way.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large()
            } else {
                ApiError::malformed(String::new(), rejection.body_text())
            }
        })?;
        let body: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        if may_hold_control_characters(body) {
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
                if let Some(field) = field_with_control_character(&value, String::new()) {
                    return Err(control_characters(field));
                }
            }
        }
        let de = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| {
                let field = e.path().to_string();
                let field = if field == "." { String::new() } else { field };
                ApiError::malformed(field, e.inner().to_string())
            })
    }
}

/// Text may hold tabs and line breaks, and no other control character: a NUL or an escape
/// sequence has no place in a name or a message, and PostgreSQL refuses a NUL outright.
fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

fn has_control_character(s: &str) -> bool {
    s.chars().any(is_refused_control)
}

/// A cheap look at the raw body, so that only a body that may hold a control character in a
/// string (escaped as `\u…`, or a C1 character as its UTF-8 bytes) is read twice.
fn may_hold_control_characters(body: &[u8]) -> bool {
    body.windows(2)
        .any(|w| (w[0] == b'\\' && w[1] == b'u') || (w[0] == 0xC2 && (0x80..=0x9F).contains(&w[1])))
        || body.contains(&0x7F)
}

/// The path of the first string (or object key) in `value` that holds a refused control
/// character, as `lines[0].sku`.
fn field_with_control_character(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => has_control_character(s).then_some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| field_with_control_character(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if has_control_character(k) {
                Some(here)
            } else {
                field_with_control_character(v, here)
            }
        }),
        _ => None,
    }
}

fn control_characters(field: String) -> ApiError {
    kopilka_domain::DomainError::field(&field, "control_characters").into()
}

/// A query string. One that cannot be read is a 400 `validation_failed`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(axum::extract::Query(pairs)) =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        {
            if let Some((name, _)) = pairs.iter().find(|(_, v)| has_control_character(v)) {
                return Err(control_characters(name.clone()));
            }
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::malformed("query".into(), e.body_text()))
    }
}

/// Path parameters. A path whose parameters do not parse names nothing: 404.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(p)| ApiPath(p))
            .map_err(|_| ApiError::not_found())
    }
}

/// The raw bearer token, for logout.
pub struct BearerToken(pub String);

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        bearer(parts)
            .map(BearerToken)
            .ok_or_else(ApiError::unauthorized)
    }
}

/// A signed-in customer.
pub struct Customer(pub Member);

/// A signed-in customer with the session they came in, for the calls about sessions.
pub struct SignedIn(pub CustomerSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        let session = state.kopilka.customer_session(&token).await?;
        tracing::Span::current().record("member_id", session.member.id.get());
        Ok(SignedIn(session))
    }
}

impl FromRequestParts<AppState> for Customer {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SignedIn(session) = SignedIn::from_request_parts(parts, state).await?;
        Ok(Customer(session.member))
    }
}

/// A signed-in staff member, any role; handlers check the role they need.
pub struct StaffAuth {
    pub staff: StaffMember,
    pub token: String,
}

impl FromRequestParts<AppState> for StaffAuth {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        let staff = state.kopilka.authenticate_staff(&token, &[]).await?;
        Ok(StaffAuth { staff, token })
    }
}

/// A signed-in employee who has replaced the temporary password: every employee call but the
/// password change wants one.
pub struct EmployeeAuth(pub kopilka_service::employees::EmployeeSession);

impl FromRequestParts<AppState> for EmployeeAuth {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        Ok(EmployeeAuth(
            state.kopilka.authenticate_employee(&token, true).await?,
        ))
    }
}

/// A signed-in employee, temporary password or not: for changing it.
pub struct AnyEmployeeAuth(pub kopilka_service::employees::EmployeeSession);

impl FromRequestParts<AppState> for AnyEmployeeAuth {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        Ok(AnyEmployeeAuth(
            state.kopilka.authenticate_employee(&token, false).await?,
        ))
    }
}

pub use kopilka_service::security::ClientAddress as ClientAddr;

/// The client's IP address.
pub struct ClientIp(pub String);

fn client_ip(parts: &Parts) -> String {
    if let Some(ClientAddr(ip)) = parts.extensions.get::<ClientAddr>() {
        return ip.to_string();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

/// The client's address and user agent, for sessions and security logs.
pub struct ClientInfo(pub Client);

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Browsers send ASCII; anything else is shown as well as it can be, not dropped.
        let agent = parts
            .headers
            .get(USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        Ok(ClientInfo(Client::new(client_ip(parts), agent)))
    }
}

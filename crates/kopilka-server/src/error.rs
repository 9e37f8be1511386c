//! The one place where errors become HTTP answers: RFC 9457 problem documents with a stable
//! `code`. Internals are logged here and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kopilka_domain::{DomainError, FieldError};
use kopilka_service::ServiceError;
use kopilka_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `otp_invalid`.
    pub code: &'static str,
    /// Invalid fields, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// Seconds to wait, for `rate_limited` (also in the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// Profile fields still to fill, for `profile_incomplete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_fields: Option<Vec<&'static str>>,
    /// When the favourite category may change again, for `favourite_category_locked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_change_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError(Box<Problem>);

impl ApiError {
    /// Tells the client when to try again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after_s = Some(seconds);
        self
    }

    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &str,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(Problem {
            kind: format!("/api/docs#problem-{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            errors: Vec::new(),
            retry_after_s: None,
            missing_fields: None,
            next_change_at: None,
        }))
    }

    /// Input that could not be read at all (not JSON, wrong types): 400.
    pub fn malformed(field: String, message: String) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "Invalid request",
            "The request body could not be read.",
        );
        e.0.errors.push(ProblemField { field, message });
        e
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            "Nothing is here.",
        )
    }

    pub fn unauthorized() -> Self {
        DomainError::Unauthorized.into()
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large",
            "The request body is too large.",
        )
    }

    pub fn problem(&self) -> &Problem {
        &self.0
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        use DomainError as D;
        let detail = e.to_string();
        let (status, code, title) = match &e {
            D::Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Invalid request",
            ),
            D::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            D::InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid credentials",
            ),
            D::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            D::ProfileIncomplete { .. } => (
                StatusCode::FORBIDDEN,
                "profile_incomplete",
                "Profile incomplete",
            ),
            D::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            D::OtpInvalid => (StatusCode::BAD_REQUEST, "otp_invalid", "Wrong code"),
            D::OtpExpired => (StatusCode::BAD_REQUEST, "otp_expired", "Code expired"),
            D::OtpAttemptsExceeded => (
                StatusCode::BAD_REQUEST,
                "otp_attempts_exceeded",
                "Too many wrong codes",
            ),
            D::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
            ),
            D::FavouriteCategoryLocked { .. } => (
                StatusCode::CONFLICT,
                "favourite_category_locked",
                "Favourite category locked",
            ),
            D::InsufficientPoints => (
                StatusCode::CONFLICT,
                "insufficient_points",
                "Not enough points",
            ),
            D::IdempotencyConflict => (
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "Idempotency conflict",
            ),
            D::CardBlocked => (StatusCode::CONFLICT, "card_blocked", "Card blocked"),
            D::CardAlreadyBound => (
                StatusCode::CONFLICT,
                "card_already_bound",
                "Card already bound",
            ),
            D::PhoneTaken => (
                StatusCode::CONFLICT,
                "phone_taken",
                "Phone already registered",
            ),
        };
        let mut api = ApiError::new(status, code, title, detail);
        match e {
            D::Validation(fields) => {
                api.0.errors = fields
                    .into_iter()
                    .map(|FieldError { field, message }| ProblemField { field, message })
                    .collect();
            }
            D::RateLimited { retry_after_s } => api.0.retry_after_s = Some(retry_after_s),
            D::ProfileIncomplete { missing } => api.0.missing_fields = Some(missing),
            D::FavouriteCategoryLocked { next_change_at } => {
                api.0.next_change_at = Some(next_change_at)
            }
            _ => {}
        }
        api
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => d.into(),
            ServiceError::Store(StoreError::Unavailable(source)) => {
                tracing::error!(error = %source, "store unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "Service unavailable",
                    "Please try again shortly.",
                )
            }
            ServiceError::Sms(err) => {
                tracing::error!(error = %err, "SMS not sent");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sms_unavailable",
                    "SMS unavailable",
                    "The message could not be sent; please try again shortly.",
                )
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "Something went wrong on our side.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.0.retry_after_s;
        let unauthorized = status == StatusCode::UNAUTHORIZED && self.0.code == "unauthorized";
        let refused = self.0.code == "forbidden";
        let mut response = (status, axum::Json(&*self.0)).into_response();
        if refused {
            response.extensions_mut().insert(crate::middleware::Refused);
        }
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

//! The one place where errors become HTTP answers: RFC 9457 problem documents with a stable
//! `code`. Internals are logged here and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kopilka_domain::{DomainError, FieldError};
use kopilka_service::ServiceError;
use kopilka_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::problem::ProblemCode;

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
pub struct ApiError(Box<Problem>, ProblemCode);

impl ApiError {
    /// Tells the client when to try again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after_s = Some(seconds);
        self
    }

    /// The problem `code`, with its status and title, and this occurrence's `detail`.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        let name = code.as_str();
        Self(
            Box::new(Problem {
                kind: format!("/api/docs#problem-{name}"),
                title: code.title().to_owned(),
                status: code.status().as_u16(),
                detail: detail.into(),
                code: name,
                errors: Vec::new(),
                retry_after_s: None,
                missing_fields: None,
                next_change_at: None,
            }),
            code,
        )
    }

    /// Input that could not be read at all (not JSON, wrong types): 400.
    pub fn malformed(field: String, message: String) -> Self {
        let mut e = Self::new(
            ProblemCode::ValidationFailed,
            "The request body could not be read.",
        );
        e.0.status = StatusCode::BAD_REQUEST.as_u16();
        e.0.errors.push(ProblemField { field, message });
        e
    }

    pub fn not_found() -> Self {
        Self::new(ProblemCode::NotFound, "Nothing is here.")
    }

    pub fn unauthorized() -> Self {
        DomainError::Unauthorized.into()
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            ProblemCode::PayloadTooLarge,
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
        let code = match &e {
            D::Validation(_) => ProblemCode::ValidationFailed,
            D::Unauthorized => ProblemCode::Unauthorized,
            D::InvalidCredentials => ProblemCode::InvalidCredentials,
            D::Forbidden => ProblemCode::Forbidden,
            D::ProfileIncomplete { .. } => ProblemCode::ProfileIncomplete,
            D::NotFound(_) => ProblemCode::NotFound,
            D::OtpInvalid => ProblemCode::OtpInvalid,
            D::OtpExpired => ProblemCode::OtpExpired,
            D::OtpAttemptsExceeded => ProblemCode::OtpAttemptsExceeded,
            D::RateLimited { .. } => ProblemCode::RateLimited,
            D::FavouriteCategoryLocked { .. } => ProblemCode::FavouriteCategoryLocked,
            D::InsufficientPoints => ProblemCode::InsufficientPoints,
            D::IdempotencyConflict => ProblemCode::IdempotencyConflict,
            D::CardBlocked => ProblemCode::CardBlocked,
            D::CardAlreadyBound => ProblemCode::CardAlreadyBound,
            D::PhoneTaken => ProblemCode::PhoneTaken,
        };
        let mut api = ApiError::new(code, detail);
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
                ApiError::new(ProblemCode::ServiceUnavailable, "Please try again shortly.")
            }
            ServiceError::Sms(err) => {
                tracing::error!(error = %err, "SMS not sent");
                ApiError::new(
                    ProblemCode::SmsUnavailable,
                    "The message could not be sent; please try again shortly.",
                )
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::new(ProblemCode::Internal, "Something went wrong on our side.")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.0.retry_after_s;
        let unauthorized = self.1 == ProblemCode::Unauthorized;
        let refused = self.1 == ProblemCode::Forbidden;
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

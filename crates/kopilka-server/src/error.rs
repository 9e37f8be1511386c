//! The one place where errors become HTTP answers: RFC 9457 problem documents with a stable
//! `code`. Internals are logged here and never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kopilka_domain::{DomainError, FieldError, RowError};
use kopilka_service::ServiceError;
use kopilka_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::problem::ProblemCode;
use kopilka_text::Lang;

tokio::task_local! {
    /// The language the request's answers are written in (`edge` sets it).
    static LANGUAGE: Lang;
}

/// The client's language for this request: the first of `Accept-Language` we have, else
/// Russian.
pub fn request_language(headers: &axum::http::HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or_default()
}

/// Runs `f` with problems answered in `lang`.
pub async fn in_language<F: std::future::Future>(lang: Lang, f: F) -> F::Output {
    LANGUAGE.scope(lang, f).await
}

/// The language answers are written in right now: Russian outside a request.
pub(crate) fn language() -> Lang {
    LANGUAGE.try_with(|lang| *lang).unwrap_or_default()
}

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
    /// The invalid field of a JSON body or form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The invalid line of an uploaded file, counting from 1 with its header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
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

    /// The problem `code`, with its status, title and detail in the request's language.
    pub fn new(code: ProblemCode) -> Self {
        let name = code.as_str();
        let lang = language();
        Self(
            Box::new(Problem {
                kind: format!("/api/docs#problem-{name}"),
                title: code.title(lang),
                status: code.status().as_u16(),
                detail: code.detail(lang),
                code: name,
                errors: Vec::new(),
                retry_after_s: None,
                missing_fields: None,
                next_change_at: None,
            }),
            code,
        )
    }

    /// Input that could not be read at all (not JSON, wrong types): 400, with the parser's
    /// own words on what it could not read.
    pub fn malformed(field: String, message: String) -> Self {
        let mut e = Self::new(ProblemCode::ValidationFailed);
        e.0.status = StatusCode::BAD_REQUEST.as_u16();
        e.0.errors.push(ProblemField {
            field: Some(field),
            line: None,
            message,
        });
        e
    }

    pub fn not_found() -> Self {
        Self::new(ProblemCode::NotFound)
    }

    pub fn unauthorized() -> Self {
        DomainError::Unauthorized.into()
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(ProblemCode::UnsupportedMediaType)
    }
    pub fn payload_too_large() -> Self {
        Self::new(ProblemCode::PayloadTooLarge)
    }

    pub fn problem(&self) -> &Problem {
        &self.0
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        use DomainError as D;
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
            D::StateConflict => ProblemCode::StateConflict,
            D::InvalidRows(_) => ProblemCode::ValidationFailed,
        };
        let mut api = ApiError::new(code);
        match e {
            D::Validation(fields) => {
                let texts = language().texts();
                api.0.errors = fields
                    .into_iter()
                    .map(|FieldError { field, message }| ProblemField {
                        field: Some(field),
                        line: None,
                        message: texts.render(&message),
                    })
                    .collect();
            }
            D::InvalidRows(rows) => {
                let texts = language().texts();
                api.0.errors = rows
                    .into_iter()
                    .map(|RowError { line, message }| ProblemField {
                        field: None,
                        line: Some(line),
                        message: texts.render(&message),
                    })
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
                ApiError::new(ProblemCode::ServiceUnavailable)
            }
            ServiceError::Sms(err) => {
                tracing::error!(error = %err, "SMS not sent");
                ApiError::new(ProblemCode::SmsUnavailable)
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::new(ProblemCode::Internal)
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

//! `/verify/{code}`: where a bank or a consulate checks that an employee's document is
//! genuine (SPEC §6.4). HTML for people; JSON with `Accept: application/json` for machines.

use crate::pages::respond;
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kopilka_domain::employee::VerifyCode;
use kopilka_domain::DomainError;
use kopilka_service::documents::Verification;
use kopilka_service::ServiceError;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    page: Chrome,
    /// What was looked up, as typed; empty on the bare form.
    code: String,
    found: Option<Found>,
}

struct Found {
    kind: String,
    number: String,
    issued_on: String,
    employee: String,
    valid: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeQuery {
    code: String,
}

/// The form a clerk types a code into; a typed code goes to its own page.
pub async fn form(
    State(state): State<WebState>,
    visitor: Visitor,
    Query(query): Query<CodeQuery>,
) -> Response {
    if !query.code.trim().is_empty() {
        let code = VerifyCode::parse(&query.code)
            .map(|c| c.as_str().to_owned())
            .unwrap_or_else(|| query.code.trim().to_owned());
        let target: String = url_path_segment(&code);
        return Redirect::to(&format!("/verify/{target}")).into_response();
    }
    let page = VerifyPage {
        page: Chrome::new(&state, &visitor, false),
        code: String::new(),
        found: None,
    };
    respond(visitor, &page, StatusCode::OK)
}

/// Keeps a typed code safe in a path: letters, digits and dashes only.
fn url_path_segment(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect()
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"))
}

pub async fn check(
    State(state): State<WebState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let result = state.kopilka.verify_document(&code).await;
    if wants_json(&headers) {
        return json_answer(&visitor, result);
    }
    let (status, found) = match result {
        Ok(v) => (StatusCode::OK, Some(found(&visitor, v))),
        Err(ServiceError::Domain(DomainError::NotFound(_))) => (StatusCode::NOT_FOUND, None),
        Err(e) => return crate::pages::failure(&state, visitor, &e, false),
    };
    let page = VerifyPage {
        page: Chrome::new(&state, &visitor, false),
        code: VerifyCode::parse(&code).map_or(code, |c| c.grouped()),
        found,
    };
    respond(visitor, &page, status)
}

fn found(visitor: &Visitor, v: Verification) -> Found {
    let t = &visitor.texts;
    Found {
        kind: t
            .get(&format!("document_type_{}", v.kind.as_str()))
            .to_owned(),
        number: v.number,
        issued_on: crate::format::day(v.issued_on),
        employee: v.employee,
        valid: v.valid,
    }
}

fn json_answer(visitor: &Visitor, result: Result<Verification, ServiceError>) -> Response {
    let json = |status: StatusCode, content_type: &'static str, body: serde_json::Value| {
        (
            status,
            [(header::CONTENT_TYPE, content_type)],
            body.to_string(),
        )
            .into_response()
    };
    match result {
        Ok(v) => json(
            StatusCode::OK,
            "application/json",
            serde_json::json!({
                "type": v.kind.as_str(),
                "number": v.number,
                "issued_on": v.issued_on,
                "employee": v.employee,
                "status": if v.valid { "valid" } else { "revoked" },
            }),
        ),
        Err(ServiceError::Domain(DomainError::NotFound(_))) => {
            let t = &visitor.texts;
            json(
                StatusCode::NOT_FOUND,
                "application/problem+json",
                serde_json::json!({
                    "type": "about:blank",
                    "title": t.get("problem_not_found"),
                    "status": 404,
                    "detail": t.get("verify_unknown"),
                    "code": "not_found",
                }),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "document check failed");
            let t = &visitor.texts;
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/problem+json",
                serde_json::json!({
                    "type": "about:blank",
                    "title": t.get("problem_service_unavailable"),
                    "status": 503,
                    "detail": t.get("problem_service_unavailable_detail"),
                    "code": "service_unavailable",
                }),
            )
        }
    }
}

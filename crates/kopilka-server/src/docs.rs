//! The OpenAPI document and a page that lets a person browse it, with no script and nothing
//! from another host.

use crate::error::ProblemCode;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use kopilka_text::Lang;
use utoipa::openapi::path::Operation;
use utoipa::openapi::RefOr;

/// Pages may load only from this host, run no inline script and never sit in a frame.
pub const PAGE_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn openapi_json(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json((*state.openapi).clone())
}

struct OperationView {
    method: &'static str,
    path: String,
    anchor: String,
    summary: String,
    description: String,
    auth: String,
    request: String,
    responses: Vec<(String, String)>,
}

struct TagView {
    name: String,
    description: String,
    operations: Vec<OperationView>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct DocsPage {
    title: String,
    version: String,
    tags: Vec<TagView>,
    problems: Vec<(&'static str, u16, String)>,
}

fn operation_view(method: &'static str, path: &str, op: &Operation) -> OperationView {
    let request = op
        .request_body
        .as_ref()
        .and_then(|b| b.content.values().next())
        .and_then(|c| c.schema.as_ref())
        .map(|s| match s {
            RefOr::Ref(r) => r.ref_location.rsplit('/').next().unwrap_or("").to_owned(),
            RefOr::T(_) => "JSON".to_owned(),
        })
        .unwrap_or_default();
    let auth = op
        .security
        .as_ref()
        .map(|reqs| {
            reqs.iter()
                .filter_map(|r| serde_json::to_value(r).ok())
                .filter_map(|v| v.as_object().and_then(|o| o.keys().next().cloned()))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    OperationView {
        method,
        path: path.to_owned(),
        anchor: format!("{method}-{path}").replace(['/', '{', '}'], "-"),
        summary: op.summary.clone().unwrap_or_default(),
        description: op.description.clone().unwrap_or_default(),
        auth,
        request,
        responses: op
            .responses
            .responses
            .iter()
            .map(|(status, r)| {
                let text = match r {
                    RefOr::T(resp) => resp.description.clone(),
                    RefOr::Ref(r) => r.ref_location.clone(),
                };
                (status.clone(), text)
            })
            .collect(),
    }
}

pub async fn page(State(state): State<AppState>) -> Response {
    let doc = &state.openapi;
    let mut tags: Vec<TagView> = doc
        .tags
        .iter()
        .flatten()
        .map(|t| TagView {
            name: t.name.clone(),
            description: t.description.clone().unwrap_or_default(),
            operations: Vec::new(),
        })
        .collect();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let tag = op
                .tags
                .as_ref()
                .and_then(|t| t.first())
                .cloned()
                .unwrap_or_default();
            let full = format!("/api/v1{path}");
            let view = operation_view(method, &full, op);
            match tags.iter_mut().find(|t| t.name == tag) {
                Some(t) => t.operations.push(view),
                None => tags.push(TagView {
                    name: tag,
                    description: String::new(),
                    operations: vec![view],
                }),
            }
        }
    }
    tags.retain(|t| !t.operations.is_empty());
    let page = DocsPage {
        title: doc.info.title.clone(),
        version: doc.info.version.clone(),
        tags,
        problems: ProblemCode::ALL
            .iter()
            .map(|p| (p.as_str(), p.status().as_u16(), p.detail(Lang::En)))
            .collect(),
    };
    match page.render() {
        Ok(html) => ([(header::CONTENT_SECURITY_POLICY, PAGE_CSP)], Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the API docs page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/kopilka.css"),
    )
        .into_response()
}

//! The customer's own controls: where they are signed in (end one session, or all), and
//! deleting the account, confirmed.

use crate::guard::{Audience, Signed};
use crate::pages::{refused, respond, CsrfForm, FieldMessage, MessagePage};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kopilka_service::auth::CustomerSession;
use kopilka_service::security::masked_ip;
use serde::Deserialize;

struct SessionLine {
    id: i64,
    agent: String,
    opened: String,
    last_seen: String,
    ip: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    page: Chrome,
    sessions: Vec<SessionLine>,
}

pub async fn sessions(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
) -> Response {
    let tz = state.kopilka.rules().timezone;
    let when = |at: chrono::DateTime<chrono::Utc>| {
        at.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
    };
    let listed = match state.kopilka.customer_sessions(&session).await {
        Ok(listed) => listed,
        Err(e) => return crate::pages::failure(&state, visitor, &e, true),
    };
    let page = SessionsPage {
        page: Chrome::new(&state, &visitor, true),
        sessions: listed
            .into_iter()
            .map(|s| SessionLine {
                current: s.id == session.session_id,
                id: s.id,
                agent: if s.user_agent.is_empty() {
                    visitor.texts.get("sessions_unknown_agent").to_owned()
                } else {
                    s.user_agent
                },
                opened: when(s.created_at),
                last_seen: when(s.last_seen_at),
                ip: masked_ip(&s.ip),
            })
            .collect(),
    };
    respond(visitor, &page, StatusCode::OK)
}

pub async fn end_session(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    // Ending one already ended is no error here: the list afterwards says what is left.
    let _ = state.kopilka.end_customer_session(&session, id).await;
    visitor.finish(Redirect::to("/account/sessions").into_response())
}

pub async fn end_all(
    State(state): State<WebState>,
    mut visitor: Visitor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !visitor.csrf_ok(&state, &form.csrf) {
        return refused(&state, visitor);
    }
    if let Some(session) = CustomerSession::find(&state, &visitor).await {
        if let Err(e) = state.kopilka.sign_out_everywhere(session.member.id).await {
            return crate::pages::failure(&state, visitor, &e, true);
        }
    }
    visitor.end_session();
    visitor.finish(Redirect::to("/login").into_response())
}

#[derive(Template)]
#[template(path = "delete.html")]
struct DeletePage {
    page: Chrome,
    errors: Vec<FieldMessage>,
}

pub async fn delete_form(State(state): State<WebState>, visitor: Visitor) -> Response {
    if CustomerSession::find(&state, &visitor).await.is_none() {
        return visitor.finish(Redirect::to("/login").into_response());
    }
    let page = DeletePage {
        page: Chrome::new(&state, &visitor, true),
        errors: Vec::new(),
    };
    respond(visitor, &page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn delete(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<DeleteForm>,
) -> Response {
    let Signed {
        mut visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    if form.confirm != "yes" {
        let page = DeletePage {
            page: Chrome::new(&state, &visitor, true),
            errors: vec![FieldMessage {
                field: "confirm",
                message: visitor.texts.get("error_required").to_owned(),
                label: None,
            }],
        };
        return respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    if let Err(e) = state.kopilka.delete_account(&session.member).await {
        return crate::pages::failure(&state, visitor, &e, true);
    }
    visitor.end_session();
    let page = MessagePage {
        page: Chrome::new(&state, &visitor, false),
        heading: visitor.texts.get("delete_done_title").to_owned(),
        message: visitor.texts.get("delete_done").to_owned(),
    };
    respond(visitor, &page, StatusCode::OK)
}

/// `/account/export`: everything kept about the customer, as the API's export, to save.
pub async fn export(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
) -> Response {
    match state.kopilka.export_personal_data(&session.member).await {
        Ok(data) => {
            let document = (state.export)(data);
            let response = (
                [(
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"kopilka-export.json\"",
                )],
                axum::Json(document),
            )
                .into_response();
            visitor.finish(response)
        }
        Err(e) => crate::pages::failure(&state, visitor, &e, true),
    }
}

//! `/account/support`: the customer's questions to support, each a thread they can add to
//! (SPEC §7). An incomplete profile is led to the form first.

use crate::format::date_time;
use crate::guard::Signed;
use crate::pages::{error_for, form_status, not_found, respond, unless_incomplete, FieldMessage};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kopilka_domain::member::Member;
use kopilka_domain::support::{parse_body, parse_subject, Author, TicketStatus};
use kopilka_domain::DomainError;
use kopilka_service::auth::CustomerSession;
use kopilka_service::ServiceError;
use serde::Deserialize;

fn status_key(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Open => "ticket_open",
        TicketStatus::Answered => "ticket_answered",
        TicketStatus::Closed => "ticket_closed",
    }
}

struct TicketLine {
    id: i64,
    subject: String,
    status: &'static str,
    updated: String,
    answered: bool,
}

#[derive(Template)]
#[template(path = "tickets.html")]
struct TicketsPage {
    page: Chrome,
    tickets: Vec<TicketLine>,
    errors: Vec<FieldMessage>,
    subject: String,
    body: String,
}

impl TicketsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn tickets_page(
    state: &WebState,
    visitor: &Visitor,
    member: &Member,
    form: NewTicketForm,
    errors: Vec<FieldMessage>,
) -> Result<TicketsPage, ServiceError> {
    let tz = state.kopilka.rules().timezone;
    let tickets = state.kopilka.member_tickets(member).await?;
    Ok(TicketsPage {
        page: Chrome::new(state, visitor, true),
        tickets: tickets
            .into_iter()
            .map(|t| TicketLine {
                id: t.id.get(),
                status: status_key(t.status),
                answered: t.status == TicketStatus::Answered,
                updated: date_time(t.updated_at, tz),
                subject: t.subject,
            })
            .collect(),
        errors,
        subject: form.subject,
        body: form.body,
    })
}

pub async fn list(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
) -> Response {
    let form = NewTicketForm::default();
    match tickets_page(&state, &visitor, &session.member, form, Vec::new()).await {
        Ok(page) => respond(visitor, &page, StatusCode::OK),
        Err(e) => unless_incomplete(&state, visitor, &e),
    }
}

#[derive(Deserialize, Default)]
pub struct NewTicketForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

pub async fn open(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<NewTicketForm>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let t = visitor.texts;
    let mut errors = Vec::new();
    let subject = parse_subject(&form.subject)
        .map_err(|message| {
            errors.push(FieldMessage {
                field: "subject",
                message: t.render(&message),
                label: Some(t.get("ticket_subject").to_owned()),
            })
        })
        .ok();
    let body = parse_body(&form.body)
        .map_err(|message| {
            errors.push(FieldMessage {
                field: "body",
                message: t.render(&message),
                label: Some(t.get("ticket_body").to_owned()),
            })
        })
        .ok();
    if let (Some(subject), Some(body)) = (subject, body) {
        match state
            .kopilka
            .open_ticket(&session.member, subject, body)
            .await
        {
            Ok(thread) => {
                let to = format!("/account/support/{}", thread.ticket.id);
                return visitor.finish(Redirect::to(&to).into_response());
            }
            Err(e) => return unless_incomplete(&state, visitor, &e),
        }
    }
    let status = form_status(&errors);
    match tickets_page(&state, &visitor, &session.member, form, errors).await {
        Ok(page) => respond(visitor, &page, status),
        Err(e) => unless_incomplete(&state, visitor, &e),
    }
}

struct MessageLine {
    from_support: bool,
    when: String,
    body: String,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    page: Chrome,
    id: i64,
    subject: String,
    status: &'static str,
    messages: Vec<MessageLine>,
    error: Option<String>,
    body: String,
}

async fn ticket_page(
    state: &WebState,
    visitor: &Visitor,
    member: &Member,
    id: i64,
    error: Option<String>,
    body: String,
) -> Result<TicketPage, ServiceError> {
    let tz = state.kopilka.rules().timezone;
    let thread = state.kopilka.member_ticket(member, id).await?;
    Ok(TicketPage {
        page: Chrome::new(state, visitor, true),
        id,
        subject: thread.ticket.subject,
        status: status_key(thread.ticket.status),
        messages: thread
            .messages
            .into_iter()
            .map(|m| MessageLine {
                from_support: m.author == Author::Staff,
                when: date_time(m.at, tz),
                body: m.body,
            })
            .collect(),
        error,
        body,
    })
}

/// The page for a ticket that is not the customer's: as unknown as a missing one.
fn no_such_ticket(state: &WebState, visitor: Visitor) -> Response {
    not_found(state, visitor, "ticket_not_found", None, true)
}

fn ticket_answer(
    state: &WebState,
    visitor: Visitor,
    page: Result<TicketPage, ServiceError>,
    status: StatusCode,
) -> Response {
    match page {
        Ok(page) => respond(visitor, &page, status),
        Err(ServiceError::Domain(DomainError::NotFound(_))) => no_such_ticket(state, visitor),
        Err(e) => unless_incomplete(state, visitor, &e),
    }
}

pub async fn show(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return no_such_ticket(&state, visitor);
    };
    let page = ticket_page(&state, &visitor, &session.member, id, None, String::new()).await;
    ticket_answer(&state, visitor, page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

pub async fn reply(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let Ok(id) = id.parse::<i64>() else {
        return no_such_ticket(&state, visitor);
    };
    let error = match parse_body(&form.body) {
        Ok(body) => match state.kopilka.member_reply(&session.member, id, &body).await {
            Ok(_) => {
                let to = format!("/account/support/{id}");
                return visitor.finish(Redirect::to(&to).into_response());
            }
            Err(ServiceError::Domain(DomainError::NotFound(_))) => {
                return no_such_ticket(&state, visitor)
            }
            Err(e) => return unless_incomplete(&state, visitor, &e),
        },
        Err(message) => visitor.texts.render(&message),
    };
    let page = ticket_page(
        &state,
        &visitor,
        &session.member,
        id,
        Some(error),
        form.body,
    )
    .await;
    ticket_answer(&state, visitor, page, StatusCode::UNPROCESSABLE_ENTITY)
}

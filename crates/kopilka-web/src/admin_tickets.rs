//! Support's tickets in the back office: the queue (waiting first by default), a ticket's
//! thread with the answer form, and closing it.

use crate::admin::failed;
use crate::format::date_time;
use crate::guard::Signed;
use crate::pages::{respond, to};
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use kopilka_domain::support::{parse_body, Author, TicketStatus};
use kopilka_store::{StaffMember, Ticket};
use kopilka_text::Texts;
use serde::Deserialize;

/// Tickets the queue shows at once.
const QUEUE_LENGTH: u32 = 100;

/// Who wrote a ticket, as the form gave it; a customer's own ticket links to their file.
fn who(texts: &Texts, ticket: &Ticket) -> String {
    let parts: Vec<&str> = [
        ticket.name.as_deref(),
        ticket.phone.as_deref(),
        ticket.email.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.trim().is_empty())
    .collect();
    if parts.is_empty() {
        texts.get("care_name").to_owned()
    } else {
        parts.join(" · ")
    }
}

struct TicketRow {
    id: i64,
    subject: String,
    who: String,
    member_id: Option<i64>,
    status: String,
    waiting: bool,
    updated: String,
}

#[derive(Template)]
#[template(path = "admin_tickets.html")]
struct TicketsPage {
    page: Chrome,
    /// (value, label, chosen)
    filters: Vec<(&'static str, String, bool)>,
    rows: Vec<TicketRow>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct QueueQuery {
    status: String,
}

pub async fn tickets(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(query): Query<QueueQuery>,
) -> Response {
    let t = visitor.texts;
    // Waiting for support unless another status (or all) is asked for.
    let chosen = match query.status.as_str() {
        "all" => None,
        s => Some(TicketStatus::parse(s).unwrap_or(TicketStatus::Open)),
    };
    let tz = state.kopilka.rules().timezone;
    let tickets = match state
        .kopilka
        .support_queue(&staff, chosen, QUEUE_LENGTH)
        .await
    {
        Ok(tickets) => tickets,
        Err(e) => return failed(&state, visitor, &e),
    };
    let rows = tickets
        .iter()
        .map(|ticket| TicketRow {
            id: ticket.id.get(),
            subject: ticket.subject.clone(),
            who: who(&t, ticket),
            member_id: ticket.member_id.map(|m| m.get()),
            status: t
                .get(&format!("ticket_{}", ticket.status.as_str()))
                .to_owned(),
            waiting: ticket.status == TicketStatus::Open,
            updated: date_time(ticket.updated_at, tz),
        })
        .collect();
    let filters = [
        ("open", "ticket_open"),
        ("answered", "ticket_answered"),
        ("closed", "ticket_closed"),
        ("all", "history_all"),
    ]
    .into_iter()
    .map(|(value, label)| {
        let is_chosen = chosen.map_or("all", TicketStatus::as_str) == value;
        (value, t.get(label).to_owned(), is_chosen)
    })
    .collect();
    let page = TicketsPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        filters,
        rows,
    };
    respond(visitor, &page, StatusCode::OK)
}

struct MessageLine {
    from_staff: bool,
    author: String,
    at: String,
    body: String,
}

#[derive(Template)]
#[template(path = "admin_ticket.html")]
struct TicketPage {
    page: Chrome,
    id: i64,
    subject: String,
    who: String,
    member_id: Option<i64>,
    status: String,
    closed: bool,
    messages: Vec<MessageLine>,
    error: Option<String>,
}

async fn ticket_page(
    state: &WebState,
    visitor: crate::session::Visitor,
    staff: &StaffMember,
    id: i64,
    error: Option<String>,
) -> Response {
    let t = visitor.texts;
    let thread = match state.kopilka.support_ticket(staff, id).await {
        Ok(thread) => thread,
        Err(e) => return failed(state, visitor, &e),
    };
    let tz = state.kopilka.rules().timezone;
    let ticket = &thread.ticket;
    let customer = who(&t, ticket);
    let page = TicketPage {
        page: Chrome::for_staff(state, &visitor, staff),
        id,
        subject: ticket.subject.clone(),
        who: customer.clone(),
        member_id: ticket.member_id.map(|m| m.get()),
        status: t
            .get(&format!("ticket_{}", ticket.status.as_str()))
            .to_owned(),
        closed: ticket.status == TicketStatus::Closed,
        messages: thread
            .messages
            .iter()
            .map(|m| MessageLine {
                from_staff: m.author == Author::Staff,
                author: match m.author {
                    Author::Staff => t.get("ticket_from_support").to_owned(),
                    Author::Customer => customer.clone(),
                },
                at: date_time(m.at, tz),
                body: m.body.clone(),
            })
            .collect(),
        error,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    respond(visitor, &page, status)
}

pub async fn ticket(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Path(id): Path<i64>,
) -> Response {
    ticket_page(&state, visitor, &staff, id, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AnswerForm {
    csrf: String,
    body: String,
}

/// `answer` (with a body) or `close`.
pub async fn act(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<AnswerForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let done = match action.as_str() {
        "answer" => match parse_body(&form.body) {
            Ok(body) => state
                .kopilka
                .answer_ticket(&staff, id, &body)
                .await
                .map(|_| ()),
            Err(message) => {
                let error = visitor.texts.render(&message);
                return ticket_page(&state, visitor, &staff, id, Some(error)).await;
            }
        },
        "close" => state.kopilka.close_ticket(&staff, id).await.map(|_| ()),
        _ => return crate::pages::not_found(&state, visitor, "ticket_not_found", None, true),
    };
    match done {
        Ok(()) => to(&format!("/admin/tickets/{id}"), visitor),
        Err(e) => failed(&state, visitor, &e),
    }
}

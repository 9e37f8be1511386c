//! Customer care in the back office: find a customer, open their file, adjust their points;
//! and the approvers' queue of adjustments above their author's limit.

use crate::admin::failed;
use crate::format::date_time;
use crate::guard::Signed;
use crate::pages::{error_for, form_status, respond, to, FieldMessage, HistoryLine};
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use kopilka_domain::member::{Member, MemberId};
use kopilka_domain::staff::{parse_adjustment_points, parse_reason, AdjustmentId};
use kopilka_domain::{DomainError, Validation};
use kopilka_service::adjustments::AdjustOutcome;
use kopilka_service::care::FOUND_PAGE_MAX;
use kopilka_service::ServiceError;
use kopilka_store::{Card, StaffMember};
use kopilka_text::{Message, Texts};
use serde::Deserialize;

/// Customers one page of results lists.
const FOUND_ON_PAGE: u32 = 20;

struct CardLine {
    number: String,
    kind: String,
    status: String,
    active: bool,
    blocked: bool,
}

fn card_lines(texts: &Texts, cards: &[Card]) -> Vec<CardLine> {
    cards
        .iter()
        .map(|c| CardLine {
            number: c.number.as_str().to_owned(),
            kind: texts.get(&format!("cards_{}", c.kind.as_str())).to_owned(),
            status: texts
                .get(&format!("cards_{}", c.status.as_str()))
                .to_owned(),
            active: c.status == kopilka_domain::CardStatus::Active,
            blocked: c.status == kopilka_domain::CardStatus::Blocked,
        })
        .collect()
}

fn full_name(texts: &Texts, member: &Member) -> String {
    let p = &member.profile;
    let name = [p.last_name.as_deref(), p.first_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        texts.get("care_no_name").to_owned()
    } else {
        name
    }
}

struct FoundRow {
    id: i64,
    name: String,
    phone: String,
    city: String,
    cards: Vec<CardLine>,
    available: i64,
}

#[derive(Template)]
#[template(path = "admin_members.html")]
struct MembersPage {
    page: Chrome,
    q: String,
    searched: bool,
    rows: Vec<FoundRow>,
    more: Option<String>,
    errors: Vec<FieldMessage>,
}

impl MembersPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FindQuery {
    q: String,
    cursor: String,
}

pub async fn members(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(query): Query<FindQuery>,
) -> Response {
    let t = visitor.texts;
    let mut page = MembersPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        q: query.q.clone(),
        searched: !query.q.trim().is_empty(),
        rows: Vec::new(),
        more: None,
        errors: Vec::new(),
    };
    if page.searched {
        let cursor = Some(query.cursor.as_str()).filter(|c| !c.is_empty());
        match state
            .kopilka
            .find_members(&staff, &query.q, FOUND_ON_PAGE.min(FOUND_PAGE_MAX), cursor)
            .await
        {
            Ok(found) => {
                page.rows = found
                    .items
                    .iter()
                    .map(|f| FoundRow {
                        id: f.member.id.get(),
                        name: full_name(&t, &f.member),
                        phone: f.member.phone.as_str().to_owned(),
                        city: f.member.profile.city.clone().unwrap_or_default(),
                        cards: card_lines(&t, &f.cards),
                        available: f.available.get(),
                    })
                    .collect();
                page.more = found.next_cursor;
            }
            Err(ServiceError::Domain(DomainError::Validation(fields))) => {
                page.errors = fields
                    .iter()
                    .map(|f| FieldMessage {
                        field: "q",
                        message: t.render(&f.message),
                        label: None,
                    })
                    .collect();
            }
            Err(e) => return failed(&state, visitor, &e),
        }
    }
    let status = form_status(&page.errors);
    respond(visitor, &page, status)
}

struct WaitingLine {
    points: i64,
    reason: String,
    requested_by: String,
    at: String,
}

#[derive(Template)]
#[template(path = "admin_member.html")]
struct MemberPage {
    page: Chrome,
    id: i64,
    name: String,
    phone: String,
    city: String,
    email: String,
    birth_date: String,
    joined: String,
    cards: Vec<CardLine>,
    available: i64,
    pending: i64,
    history: Vec<HistoryLine>,
    waiting: Vec<WaitingLine>,
    /// (id, subject, status)
    tickets: Vec<(i64, String, String)>,
    /// (opened, last seen, where from)
    sessions: Vec<(String, String, String)>,
    may_end_sessions: bool,
    notice: Option<String>,
    points: String,
    reason: String,
    errors: Vec<FieldMessage>,
}

impl MemberPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    /// `applied` (with `balance`) or `waiting`, after an adjustment.
    done: String,
    balance: String,
}

/// What the adjustment form brings back with it to the page.
#[derive(Default)]
struct AdjustForm {
    points: String,
    reason: String,
    errors: Vec<FieldMessage>,
    notice: Option<String>,
}

async fn member_page(
    state: &WebState,
    visitor: crate::session::Visitor,
    staff: &StaffMember,
    id: i64,
    form: AdjustForm,
) -> Response {
    let t = visitor.texts;
    let file = match state.kopilka.customer_file(staff, MemberId::new(id)).await {
        Ok(file) => file,
        Err(e) => return failed(state, visitor, &e),
    };
    let tz = state.kopilka.rules().timezone;
    let m = &file.member;
    let page = MemberPage {
        page: Chrome::for_staff(state, &visitor, staff),
        id,
        name: full_name(&t, m),
        phone: m.phone.as_str().to_owned(),
        city: m.profile.city.clone().unwrap_or_default(),
        email: m.profile.email.clone().unwrap_or_default(),
        birth_date: m
            .profile
            .birth_date
            .map(crate::format::day)
            .unwrap_or_default(),
        joined: crate::format::day(m.created_at.with_timezone(&tz).date_naive()),
        cards: card_lines(&t, &file.cards),
        available: file.balance.available.get(),
        pending: file.balance.pending.get(),
        history: file
            .history
            .iter()
            .map(|h| HistoryLine::new(h, tz, &t))
            .collect(),
        waiting: file
            .waiting
            .iter()
            .map(|(r, login)| WaitingLine {
                points: r.points.get(),
                reason: r.reason.clone(),
                requested_by: login.clone(),
                at: date_time(r.requested_at, tz),
            })
            .collect(),
        tickets: file
            .tickets
            .iter()
            .map(|ticket| {
                (
                    ticket.id.get(),
                    ticket.subject.clone(),
                    t.get(&format!("ticket_{}", ticket.status.as_str()))
                        .to_owned(),
                )
            })
            .collect(),
        sessions: file
            .sessions
            .iter()
            .map(|session| {
                (
                    date_time(session.created_at, tz),
                    date_time(session.last_seen_at, tz),
                    format!("{} · {}", session.ip, session.user_agent),
                )
            })
            .collect(),
        may_end_sessions: kopilka_domain::staff::Permission::ManageCards.granted_to(&staff.roles),
        notice: form.notice,
        points: form.points,
        reason: form.reason,
        errors: form.errors,
    };
    let status = form_status(&page.errors);
    respond(visitor, &page, status)
}

pub async fn member(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Path(id): Path<i64>,
    Query(done): Query<DoneQuery>,
) -> Response {
    let t = visitor.texts;
    let notice = match done.done.as_str() {
        "applied" => Some(t.render(&Message::new("care_applied").with("balance", &done.balance))),
        "waiting" => Some(t.get("care_waiting_notice").to_owned()),
        "blocked" => Some(t.get("care_card_blocked").to_owned()),
        "unblocked" => Some(t.get("care_card_unblocked").to_owned()),
        "keyed" => Some(t.get("care_paper_form_keyed").to_owned()),
        "signed_out" => Some(t.get("care_sessions_ended").to_owned()),
        _ => None,
    };
    let form = AdjustForm {
        notice,
        ..AdjustForm::default()
    };
    member_page(&state, visitor, &staff, id, form).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AdjustmentForm {
    csrf: String,
    points: String,
    reason: String,
}

pub async fn adjust(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Path(id): Path<i64>,
    Form(form): Form<AdjustmentForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let t = visitor.texts;
    let mut v = Validation::default();
    let points = v.check(
        "points",
        parse_adjustment_points(form.points.trim().replace(['+', ' '], "").parse().ok()),
    );
    let reason = v.check("reason", parse_reason(&form.reason));
    let refused = |errors: Vec<FieldMessage>| AdjustForm {
        points: form.points.clone(),
        reason: form.reason.clone(),
        errors,
        notice: None,
    };
    let field_errors = |fields: &[kopilka_domain::FieldError]| -> Vec<FieldMessage> {
        fields
            .iter()
            .map(|f| FieldMessage {
                field: if f.field == "reason" {
                    "reason"
                } else {
                    "points"
                },
                message: t.render(&f.message),
                label: None,
            })
            .collect()
    };
    if let Err(DomainError::Validation(fields)) = v.finish() {
        let form = refused(field_errors(&fields));
        return member_page(&state, visitor, &staff, id, form).await;
    }
    let (points, reason) = (points.unwrap_or_default(), reason.unwrap_or_default());
    match state
        .kopilka
        .adjust_points(&staff, MemberId::new(id), points, &reason)
        .await
    {
        Ok(AdjustOutcome::Applied(balance)) => to(
            &format!("/admin/members/{id}?done=applied&balance={}", balance.get()),
            visitor,
        ),
        Ok(AdjustOutcome::Pending(_)) => to(&format!("/admin/members/{id}?done=waiting"), visitor),
        Err(ServiceError::Domain(DomainError::InsufficientPoints)) => {
            let message = t.get("problem_insufficient_points_detail").to_owned();
            let form = refused(vec![FieldMessage {
                field: "points",
                message,
                label: None,
            }]);
            member_page(&state, visitor, &staff, id, form).await
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

struct QueueLine {
    id: i64,
    member_id: i64,
    member: String,
    points: i64,
    reason: String,
    requested_by: String,
    at: String,
    own: bool,
}

#[derive(Template)]
#[template(path = "admin_adjustments.html")]
struct AdjustmentsPage {
    page: Chrome,
    lines: Vec<QueueLine>,
    may_approve: bool,
    notice: Option<String>,
}

pub async fn adjustments(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(done): Query<DoneQuery>,
) -> Response {
    let t = visitor.texts;
    let notice = match done.done.as_str() {
        "approved" => {
            Some(t.render(&Message::new("adjustments_approved").with("balance", &done.balance)))
        }
        "rejected" => Some(t.get("adjustments_rejected").to_owned()),
        "decided" => Some(t.get("adjustments_decided").to_owned()),
        "not_covered" => Some(t.get("adjustments_not_covered").to_owned()),
        "reason" => Some(t.get("adjustment_reason_length").to_owned()),
        _ => None,
    };
    let tz = state.kopilka.rules().timezone;
    let queue = match state.kopilka.adjustment_queue(&staff).await {
        Ok(queue) => queue,
        Err(e) => return failed(&state, visitor, &e),
    };
    let lines = queue
        .iter()
        .map(|w| QueueLine {
            id: w.request.id.get(),
            member_id: w.request.member_id.get(),
            member: w
                .member
                .as_ref()
                .map(|m| format!("{} · {}", full_name(&t, m), m.phone.as_str()))
                .unwrap_or_default(),
            points: w.request.points.get(),
            reason: w.request.reason.clone(),
            requested_by: w.requested_by.clone(),
            at: date_time(w.request.requested_at, tz),
            own: w.request.requested_by == staff.id,
        })
        .collect();
    let page = AdjustmentsPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        lines,
        may_approve: kopilka_domain::staff::Permission::ApproveAdjustments.granted_to(&staff.roles),
        notice,
    };
    respond(visitor, &page, StatusCode::OK)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecisionForm {
    csrf: String,
    reason: String,
}

/// `approve` or `reject` (with a reason).
pub async fn decide(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Path((id, decision)): Path<(i64, String)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let id = AdjustmentId::new(id);
    let outcome = match decision.as_str() {
        "approve" => state
            .kopilka
            .approve_adjustment(&staff, id)
            .await
            .map(|(_, balance)| format!("approved&balance={}", balance.get())),
        "reject" => match parse_reason(&form.reason) {
            Ok(reason) => state
                .kopilka
                .reject_adjustment(&staff, id, &reason)
                .await
                .map(|_| "rejected".to_owned()),
            Err(key) => Err(ServiceError::Domain(DomainError::field("reason", key))),
        },
        _ => return crate::pages::not_found(&state, visitor, "not_found_title", None, true),
    };
    match outcome {
        Ok(done) => to(&format!("/admin/adjustments?done={done}"), visitor),
        Err(ServiceError::Domain(DomainError::StateConflict)) => {
            to("/admin/adjustments?done=decided", visitor)
        }
        Err(ServiceError::Domain(DomainError::InsufficientPoints)) => {
            to("/admin/adjustments?done=not_covered", visitor)
        }
        Err(ServiceError::Domain(DomainError::Validation(_))) => {
            to("/admin/adjustments?done=reason", visitor)
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

/// `block` or `unblock` one of the customer's cards, from their file.
pub async fn card(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Path((id, number, action)): Path<(i64, String, String)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let (blocked, Ok(number)) = (
        action == "block",
        kopilka_domain::CardNumber::parse(&number),
    ) else {
        return crate::pages::not_found(&state, visitor, "not_found_title", None, true);
    };
    if !matches!(action.as_str(), "block" | "unblock") {
        return crate::pages::not_found(&state, visitor, "not_found_title", None, true);
    }
    match state
        .kopilka
        .set_card_blocked(&staff, MemberId::new(id), &number, blocked)
        .await
    {
        Ok(_) => to(&format!("/admin/members/{id}?done={action}ed"), visitor),
        Err(ServiceError::Domain(DomainError::StateConflict)) => {
            to(&format!("/admin/members/{id}"), visitor)
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

/// `POST /admin/members/{id}/sessions/end`: signs the customer out everywhere.
pub async fn end_sessions(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    match state
        .kopilka
        .end_customer_sessions(&staff, MemberId::new(id))
        .await
    {
        Ok(_) => to(&format!("/admin/members/{id}?done=signed_out"), visitor),
        Err(e) => failed(&state, visitor, &e),
    }
}

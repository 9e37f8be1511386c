//! Personal offers and support tickets of the signed-in customer (`/me/offers`,
//! `/me/tickets`), and the staff side of tickets (`/admin/tickets`).

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Customer, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use kopilka_domain::offers::OfferId;
use kopilka_domain::offers::{OfferReward, OfferTarget};
use kopilka_domain::support::{parse_body, parse_subject, TicketStatus};
use kopilka_domain::Validation;
use kopilka_service::offers::MemberOffer;
use kopilka_service::support::TicketThread;
use kopilka_store::{Ticket, TicketMessage};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const QUEUE_DEFAULT: u32 = 50;
const QUEUE_MAX: u32 = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(offers))
        .routes(routes!(activate))
        .routes(routes!(my_tickets, open_ticket))
        .routes(routes!(my_ticket))
        .routes(routes!(my_reply))
        .routes(routes!(queue))
        .routes(routes!(staff_ticket))
        .routes(routes!(staff_answer))
        .routes(routes!(staff_close))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// What it adds: `{kind: "category_points", category_id, extra_multiplier}`,
    /// `{kind: "product_points", sku, extra_multiplier}` or
    /// `{kind: "receipt_bonus", min_paid_kop, points}`.
    #[schema(value_type = Object)]
    pub reward: OfferReward,
    /// Who it is for: `everyone`, `favourite_category`, `city`, `birthday_month`, `inactive`.
    pub target: &'static str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub activated: bool,
    pub activated_at: Option<DateTime<Utc>>,
    /// Purchases it may still add to.
    pub uses_left: u32,
}

impl From<MemberOffer> for OfferView {
    fn from(m: MemberOffer) -> Self {
        let o = m.offer;
        Self {
            id: o.id.get(),
            title: o.title,
            description: o.description,
            reward: o.reward,
            target: match o.target {
                OfferTarget::Everyone => "everyone",
                OfferTarget::FavouriteCategory { .. } => "favourite_category",
                OfferTarget::City { .. } => "city",
                OfferTarget::BirthdayMonth => "birthday_month",
                OfferTarget::Inactive { .. } => "inactive",
            },
            starts_at: o.starts_at,
            ends_at: o.ends_at,
            activated: m.activated_at.is_some(),
            activated_at: m.activated_at,
            uses_left: m.uses_left,
        }
    }
}

/// Personal offers running now that are meant for the customer, and the ones they activated.
#[utoipa::path(get, path = "/me/offers", tag = "me", security(("customer" = [])),
    responses((status = 200, body = [OfferView]), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn offers(
    State(state): State<AppState>,
    Customer(member): Customer,
) -> ApiResult<Json<Vec<OfferView>>> {
    let offers = state.kopilka.member_offers(&member).await?;
    Ok(Json(offers.into_iter().map(OfferView::from).collect()))
}

/// Activates an offer: the till applies it to the next purchases, up to its limit. Again: 200
/// and nothing changes.
#[utoipa::path(post, path = "/me/offers/{id}/activate", tag = "me", security(("customer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = OfferView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn activate(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<OfferView>> {
    let offer = state
        .kopilka
        .activate_offer(&member, OfferId::new(id))
        .await?;
    Ok(Json(offer.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub id: i64,
    pub subject: String,
    /// `open` (waiting for support), `answered`, `closed`.
    pub status: &'static str,
    /// `account`, `customer` or `employee_contractor`.
    pub channel: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Ticket> for TicketView {
    fn from(t: &Ticket) -> Self {
        Self {
            id: t.id.get(),
            subject: t.subject.clone(),
            status: t.status.as_str(),
            channel: t.channel.as_str(),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    /// `customer` or `staff`.
    pub author: &'static str,
    pub body: String,
    pub at: DateTime<Utc>,
}

impl From<TicketMessage> for MessageView {
    fn from(m: TicketMessage) -> Self {
        Self {
            id: m.id,
            author: m.author.as_str(),
            body: m.body,
            at: m.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadView {
    #[serde(flatten)]
    pub ticket: TicketView,
    /// Oldest first.
    pub messages: Vec<MessageView>,
}

impl From<TicketThread> for ThreadView {
    fn from(t: TicketThread) -> Self {
        Self {
            ticket: (&t.ticket).into(),
            messages: t.messages.into_iter().map(MessageView::from).collect(),
        }
    }
}

/// The customer's tickets, newest first.
#[utoipa::path(get, path = "/me/tickets", tag = "me", security(("customer" = [])),
    responses((status = 200, body = [TicketView]), (status = 403, body = Problem)))]
async fn my_tickets(
    State(state): State<AppState>,
    Customer(member): Customer,
) -> ApiResult<Json<Vec<TicketView>>> {
    let tickets = state.kopilka.member_tickets(&member).await?;
    Ok(Json(tickets.iter().map(TicketView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTicketBody {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

/// Writes to support.
#[utoipa::path(post, path = "/me/tickets", tag = "me", security(("customer" = [])),
    request_body = NewTicketBody,
    responses((status = 201, body = ThreadView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn open_ticket(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiJson(body): ApiJson<NewTicketBody>,
) -> ApiResult<(StatusCode, Json<ThreadView>)> {
    let mut v = Validation::default();
    let subject = v.check("subject", parse_subject(&body.subject));
    let text = v.check("body", parse_body(&body.body));
    let (Some(subject), Some(text)) = (subject, text) else {
        return Err(v.into_error().into());
    };
    let thread = state.kopilka.open_ticket(&member, subject, text).await?;
    Ok((StatusCode::CREATED, Json(thread.into())))
}

/// One of the customer's tickets with its thread.
#[utoipa::path(get, path = "/me/tickets/{id}", tag = "me", security(("customer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ThreadView), (status = 404, body = Problem)))]
async fn my_ticket(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ThreadView>> {
    Ok(Json(state.kopilka.member_ticket(&member, id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MessageBody {
    #[serde(default)]
    body: String,
}

fn parse_message(body: &MessageBody) -> Result<String, kopilka_domain::DomainError> {
    parse_body(&body.body).map_err(|message| kopilka_domain::DomainError::field("body", message))
}

/// Writes again in a ticket; it goes back to support, even if it was closed.
#[utoipa::path(post, path = "/me/tickets/{id}/messages", tag = "me", security(("customer" = [])),
    params(("id" = i64, Path)), request_body = MessageBody,
    responses((status = 201, body = MessageView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn my_reply(
    State(state): State<AppState>,
    Customer(member): Customer,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let text = parse_message(&body)?;
    let message = state.kopilka.member_reply(&member, id, &text).await?;
    Ok((StatusCode::CREATED, Json(message.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct QueueQuery {
    /// `open`, `answered` or `closed`; default: all.
    status: Option<String>,
    /// 1–200, default 50.
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffTicketView {
    #[serde(flatten)]
    pub ticket: TicketView,
    pub member_id: Option<i64>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl From<&Ticket> for StaffTicketView {
    fn from(t: &Ticket) -> Self {
        Self {
            ticket: t.into(),
            member_id: t.member_id.map(|id| id.get()),
            name: t.name.clone(),
            phone: t.phone.clone(),
            email: t.email.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffThreadView {
    #[serde(flatten)]
    pub ticket: StaffTicketView,
    pub messages: Vec<MessageView>,
}

impl From<TicketThread> for StaffThreadView {
    fn from(t: TicketThread) -> Self {
        Self {
            ticket: (&t.ticket).into(),
            messages: t.messages.into_iter().map(MessageView::from).collect(),
        }
    }
}

/// The support queue, most recent activity first (support operators).
#[utoipa::path(get, path = "/admin/tickets", tag = "admin", security(("staff" = [])),
    params(QueueQuery),
    responses((status = 200, body = [StaffTicketView]), (status = 403, body = Problem)))]
async fn queue(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<StaffTicketView>>> {
    let mut v = Validation::default();
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s) => {
            let parsed = TicketStatus::parse(s);
            if parsed.is_none() {
                v.add("status", "ticket_status_invalid");
            }
            parsed
        }
    };
    let limit = match query.limit {
        None => QUEUE_DEFAULT,
        Some(n) if (1..=QUEUE_MAX).contains(&n) => n,
        Some(_) => {
            v.add(
                "limit",
                kopilka_text::Message::new("range_1_to").with("max", QUEUE_MAX),
            );
            QUEUE_DEFAULT
        }
    };
    v.finish()?;
    let tickets = state
        .kopilka
        .support_queue(&auth.staff, status, limit)
        .await?;
    Ok(Json(tickets.iter().map(StaffTicketView::from).collect()))
}

/// A ticket with its thread and the contact of whoever wrote it.
#[utoipa::path(get, path = "/admin/tickets/{id}", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = StaffThreadView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn staff_ticket(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<StaffThreadView>> {
    Ok(Json(
        state.kopilka.support_ticket(&auth.staff, id).await?.into(),
    ))
}

/// Answers a ticket; it waits for the customer. Audited.
#[utoipa::path(post, path = "/admin/tickets/{id}/messages", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path)), request_body = MessageBody,
    responses((status = 201, body = MessageView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn staff_answer(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MessageBody>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let text = parse_message(&body)?;
    let message = state.kopilka.answer_ticket(&auth.staff, id, &text).await?;
    Ok((StatusCode::CREATED, Json(message.into())))
}

/// Closes a ticket. Audited.
#[utoipa::path(post, path = "/admin/tickets/{id}/close", tag = "admin", security(("staff" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = StaffThreadView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn staff_close(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<StaffThreadView>> {
    Ok(Json(
        state.kopilka.close_ticket(&auth.staff, id).await?.into(),
    ))
}

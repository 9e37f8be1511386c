//! Marketing in the back office: personal offers (reward, targeting with its reach counted
//! live, schedule) and promotions and events. Forms work without script; with it, the reach
//! follows the targeting as it is changed.

use crate::admin::failed;
use crate::format::date_time;
use crate::guard::Signed;
use crate::pages::{error_for, form_status, respond, to, FieldMessage};
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use kopilka_domain::member::{CategoryId, StoreId};
use kopilka_domain::offers::{Offer, OfferId, OfferReward, OfferTarget, Schedule};
use kopilka_domain::DomainError;
use kopilka_service::ServiceError;
use kopilka_store::{Promotion, PromotionKind, StaffMember};
use kopilka_text::{Message, Texts};
use serde::Deserialize;

/// The form's own shape for a moment: what `datetime-local` sends, in the chain's time zone.
const LOCAL_TIME: &str = "%Y-%m-%dT%H:%M";
/// A new offer's schedule until marketing changes it: from now, for two weeks.
const DEFAULT_RUN_DAYS: i64 = 14;

fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format(LOCAL_TIME).to_string()
}

fn parse_local(input: &str, tz: Tz) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(input.trim(), LOCAL_TIME)
        .ok()?
        .and_local_timezone(tz)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// What the offer form carries, as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct OfferForm {
    csrf: String,
    /// `reach` counts the targeting's reach; anything else saves.
    action: String,
    title: String,
    description: String,
    reward: String,
    reward_category: String,
    sku: String,
    multiplier: String,
    min_paid_rub: String,
    bonus_points: String,
    target: String,
    target_category: String,
    city: String,
    days: String,
    starts_at: String,
    ends_at: String,
    per_customer_limit: String,
}

impl OfferForm {
    fn of(offer: &Offer, tz: Tz) -> Self {
        let mut form = OfferForm {
            title: offer.title.clone(),
            description: offer.description.clone(),
            starts_at: local(offer.starts_at, tz),
            ends_at: local(offer.ends_at, tz),
            per_customer_limit: offer.per_customer_limit.to_string(),
            multiplier: "1".into(),
            ..OfferForm::default()
        };
        match &offer.reward {
            OfferReward::CategoryPoints {
                category_id,
                extra_multiplier,
            } => {
                form.reward = "category_points".into();
                form.reward_category = category_id.to_string();
                form.multiplier = extra_multiplier.to_string();
            }
            OfferReward::ProductPoints {
                sku,
                extra_multiplier,
            } => {
                form.reward = "product_points".into();
                form.sku = sku.clone();
                form.multiplier = extra_multiplier.to_string();
            }
            OfferReward::ReceiptBonus {
                min_paid_kop,
                points,
            } => {
                form.reward = "receipt_bonus".into();
                form.min_paid_rub = (min_paid_kop / 100).to_string();
                form.bonus_points = points.to_string();
            }
        }
        form.target = target_kind(&offer.target).into();
        match &offer.target {
            OfferTarget::FavouriteCategory { category_id } => {
                form.target_category = category_id.to_string();
            }
            OfferTarget::City { city } => form.city = city.clone(),
            OfferTarget::Inactive { days } => form.days = days.to_string(),
            OfferTarget::Everyone | OfferTarget::BirthdayMonth => {}
        }
        form
    }

    fn fresh(now: DateTime<Utc>, tz: Tz) -> Self {
        OfferForm {
            reward: "category_points".into(),
            multiplier: "1".into(),
            target: "everyone".into(),
            days: "30".into(),
            per_customer_limit: "1".into(),
            starts_at: local(now, tz),
            ends_at: local(now + Duration::days(DEFAULT_RUN_DAYS), tz),
            ..OfferForm::default()
        }
    }

    /// The targeting as typed, or the field that is wrong.
    fn target(&self) -> Result<OfferTarget, &'static str> {
        let bad = "target";
        Ok(match self.target.as_str() {
            "everyone" => OfferTarget::Everyone,
            "favourite_category" => OfferTarget::FavouriteCategory {
                category_id: self.target_category.parse().map_err(|_| bad)?,
            },
            "city" => OfferTarget::City {
                city: self.city.trim().to_owned(),
            },
            "birthday_month" => OfferTarget::BirthdayMonth,
            "inactive" => OfferTarget::Inactive {
                days: self.days.trim().parse().map_err(|_| bad)?,
            },
            _ => return Err(bad),
        })
    }

    fn reward(&self) -> Result<OfferReward, &'static str> {
        let bad = "reward";
        let number = |s: &str| s.trim().parse::<i64>().map_err(|_| bad);
        Ok(match self.reward.as_str() {
            "category_points" => OfferReward::CategoryPoints {
                category_id: number(&self.reward_category)?,
                extra_multiplier: number(&self.multiplier)?,
            },
            "product_points" => OfferReward::ProductPoints {
                sku: self.sku.trim().to_owned(),
                extra_multiplier: number(&self.multiplier)?,
            },
            "receipt_bonus" => OfferReward::ReceiptBonus {
                min_paid_kop: number(&self.min_paid_rub)?.saturating_mul(100),
                points: number(&self.bonus_points)?,
            },
            _ => return Err(bad),
        })
    }

    /// The offer as typed, or a message for each field that cannot be read at all (the
    /// service judges the rest).
    fn offer(&self, tz: Tz) -> Result<Offer, Vec<(&'static str, Message)>> {
        let mut wrong = Vec::new();
        let reward = self
            .reward()
            .map_err(|f| wrong.push((f, "offer_reward_invalid".into())));
        let target = self
            .target()
            .map_err(|f| wrong.push((f, "offer_target_invalid".into())));
        let starts = parse_local(&self.starts_at, tz);
        if starts.is_none() {
            wrong.push(("starts_at", "offer_period_invalid".into()));
        }
        let ends = parse_local(&self.ends_at, tz);
        if ends.is_none() {
            wrong.push(("ends_at", "offer_period_invalid".into()));
        }
        let limit = self.per_customer_limit.trim().parse::<u32>().ok();
        if limit.is_none() {
            wrong.push(("per_customer_limit", "offer_limit_invalid".into()));
        }
        match (reward, target, starts, ends, limit) {
            (Ok(reward), Ok(target), Some(starts_at), Some(ends_at), Some(limit)) => Ok(Offer {
                id: OfferId::new(0),
                title: self.title.clone(),
                description: self.description.clone(),
                reward,
                target,
                starts_at,
                ends_at,
                per_customer_limit: limit,
            }),
            _ => Err(wrong),
        }
    }
}

fn target_kind(target: &OfferTarget) -> &'static str {
    match target {
        OfferTarget::Everyone => "everyone",
        OfferTarget::FavouriteCategory { .. } => "favourite_category",
        OfferTarget::City { .. } => "city",
        OfferTarget::BirthdayMonth => "birthday_month",
        OfferTarget::Inactive { .. } => "inactive",
    }
}

/// Whom an offer is for, as a sentence.
fn describe_target(t: &Texts, target: &OfferTarget, categories: &[(i64, String)]) -> String {
    let category = |id: &CategoryId| {
        categories
            .iter()
            .find(|(c, _)| c == id)
            .map_or_else(|| id.to_string(), |(_, name)| name.clone())
    };
    match target {
        OfferTarget::Everyone => t.get("offers_target_everyone").to_owned(),
        OfferTarget::FavouriteCategory { category_id } => t.render(
            &Message::new("offers_target_favourite_is").with("category", category(category_id)),
        ),
        OfferTarget::City { city } => {
            t.render(&Message::new("offers_target_city_is").with("city", city))
        }
        OfferTarget::BirthdayMonth => t.get("offers_target_birthday_month").to_owned(),
        OfferTarget::Inactive { days } => {
            t.render(&Message::new("offers_target_inactive_is").with("days", days))
        }
    }
}

fn describe_reward(t: &Texts, reward: &OfferReward, categories: &[(i64, String)]) -> String {
    match reward {
        OfferReward::CategoryPoints {
            category_id,
            extra_multiplier,
        } => t.render(
            &Message::new("offers_reward_category_is")
                .with(
                    "category",
                    categories
                        .iter()
                        .find(|(c, _)| c == category_id)
                        .map_or_else(|| category_id.to_string(), |(_, n)| n.clone()),
                )
                .with("times", extra_multiplier + 1),
        ),
        OfferReward::ProductPoints {
            sku,
            extra_multiplier,
        } => t.render(
            &Message::new("offers_reward_product_is")
                .with("sku", sku)
                .with("times", extra_multiplier + 1),
        ),
        OfferReward::ReceiptBonus {
            min_paid_kop,
            points,
        } => t.render(
            &Message::new("offers_reward_bonus_is")
                .with("points", points)
                .with("rub", min_paid_kop / 100),
        ),
    }
}

struct OfferLine {
    id: i64,
    title: String,
    reward: String,
    target: String,
    period: String,
    status: String,
    running: bool,
}

#[derive(Template)]
#[template(path = "admin_offers.html")]
struct OffersPage {
    page: Chrome,
    lines: Vec<OfferLine>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

async fn category_names(state: &WebState) -> Result<Vec<(i64, String)>, ServiceError> {
    Ok(state
        .kopilka
        .categories()
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

fn schedule_label(t: &Texts, s: Schedule) -> String {
    t.get(&format!("schedule_{}", s.as_str())).to_owned()
}

pub async fn offers(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(done): Query<DoneQuery>,
) -> Response {
    let (offers, categories) = match (
        state.kopilka.marketing_offers(&staff).await,
        category_names(&state).await,
    ) {
        (Ok(o), Ok(c)) => (o, c),
        (Err(e), _) | (_, Err(e)) => return failed(&state, visitor, &e),
    };
    let t = visitor.texts;
    let tz = state.kopilka.rules().timezone;
    let now = state.kopilka.now();
    let lines = offers
        .iter()
        .map(|o| {
            let schedule = Schedule::at(o.starts_at, o.ends_at, now);
            OfferLine {
                id: o.id.get(),
                title: o.title.clone(),
                reward: describe_reward(&t, &o.reward, &categories),
                target: describe_target(&t, &o.target, &categories),
                period: format!(
                    "{} — {}",
                    date_time(o.starts_at, tz),
                    date_time(o.ends_at, tz)
                ),
                status: schedule_label(&t, schedule),
                running: schedule == Schedule::Running,
            }
        })
        .collect();
    let notice = match done.done.as_str() {
        "saved" => Some(t.get("offers_saved").to_owned()),
        _ => None,
    };
    let page = OffersPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        lines,
        notice,
    };
    respond(visitor, &page, axum::http::StatusCode::OK)
}

#[derive(Template)]
#[template(path = "admin_offer.html")]
struct OfferPage {
    page: Chrome,
    /// `None` for a new offer.
    id: Option<i64>,
    form: OfferForm,
    categories: Vec<(i64, String)>,
    reach: Option<String>,
    errors: Vec<FieldMessage>,
}

impl OfferPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn offer_page(
    state: &WebState,
    visitor: crate::session::Visitor,
    staff: &StaffMember,
    id: Option<i64>,
    form: OfferForm,
    (reach, errors): (Option<u64>, Vec<FieldMessage>),
) -> Response {
    let categories = match category_names(state).await {
        Ok(c) => c,
        Err(e) => return failed(state, visitor, &e),
    };
    let reach = reach.map(|n| reach_text(&visitor.texts, n));
    let status = form_status(&errors);
    let page = OfferPage {
        page: Chrome::for_staff(state, &visitor, staff),
        id,
        form,
        categories,
        reach,
        errors,
    };
    respond(visitor, &page, status)
}

fn reach_text(t: &Texts, customers: u64) -> String {
    t.render(&Message::new("offers_reach_is").with("count", customers))
}

/// `GET /admin/offers/new` and `GET /admin/offers/{id}`.
pub async fn offer(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Path(id): Path<String>,
) -> Response {
    let tz = state.kopilka.rules().timezone;
    let (id, offer) = if id == "new" {
        (None, None)
    } else {
        let Ok(n) = id.parse::<i64>() else {
            return crate::pages::not_found(&state, visitor, "not_found_title", None, true);
        };
        match state.kopilka.marketing_offer(&staff, OfferId::new(n)).await {
            Ok(offer) => (Some(n), Some(offer)),
            Err(e) => return failed(&state, visitor, &e),
        }
    };
    let form = offer.as_ref().map_or_else(
        || OfferForm::fresh(state.kopilka.now(), tz),
        |o| OfferForm::of(o, tz),
    );
    let reach = match form.target() {
        Ok(target) => match state.kopilka.reach(&staff, &target).await {
            Ok(n) => Some(n),
            Err(e) => return failed(&state, visitor, &e),
        },
        Err(_) => None,
    };
    offer_page(&state, visitor, &staff, id, form, (reach, Vec::new())).await
}

/// `POST /admin/offers/new` and `POST /admin/offers/{id}`: count the reach, or save.
pub async fn save(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Path(id): Path<String>,
    Form(form): Form<OfferForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let id = match id.as_str() {
        "new" => None,
        n => match n.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return crate::pages::not_found(&state, visitor, "not_found_title", None, true)
            }
        },
    };
    let tz = state.kopilka.rules().timezone;
    let t = visitor.texts;
    let message = |(field, m): (&'static str, Message)| FieldMessage {
        field,
        message: t.render(&m),
        label: Some(t.get(&format!("offers_field_{field}")).to_owned()),
    };
    let reach = match form.target() {
        Ok(target) => match state.kopilka.reach(&staff, &target).await {
            Ok(n) => Some(n),
            Err(e) => return failed(&state, visitor, &e),
        },
        Err(_) => None,
    };
    if form.action == "reach" {
        let errors = match form.target() {
            Ok(_) => Vec::new(),
            Err(f) => vec![message((f, "offer_target_invalid".into()))],
        };
        return offer_page(&state, visitor, &staff, id, form, (reach, errors)).await;
    }
    let offer = match form.offer(tz) {
        Ok(offer) => offer,
        Err(wrong) => {
            let errors = wrong.into_iter().map(message).collect();
            return offer_page(&state, visitor, &staff, id, form, (reach, errors)).await;
        }
    };
    match state
        .kopilka
        .save_offer(&staff, id.map(OfferId::new), offer)
        .await
    {
        Ok(_) => to("/admin/offers?done=saved", visitor),
        Err(ServiceError::Domain(DomainError::Validation(fields))) => {
            let errors = fields
                .iter()
                .map(|f| {
                    let field = OFFER_FIELDS
                        .iter()
                        .find(|k| **k == f.field)
                        .copied()
                        .unwrap_or("title");
                    message((field, f.message.clone()))
                })
                .collect();
            offer_page(&state, visitor, &staff, id, form, (reach, errors)).await
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

const OFFER_FIELDS: [&str; 7] = [
    "title",
    "description",
    "reward",
    "target",
    "starts_at",
    "ends_at",
    "per_customer_limit",
];

/// `POST /admin/offers/reach`: the reach of the targeting as the form has it now, for the
/// page's script to show while marketing changes it.
pub async fn live_reach(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Form(form): Form<OfferForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let Ok(target) = form.target() else {
        return Json(serde_json::json!({ "text": visitor.texts.get("offer_target_invalid") }))
            .into_response();
    };
    match state.kopilka.reach(&staff, &target).await {
        Ok(n) => Json(serde_json::json!({
            "customers": n,
            "text": reach_text(&visitor.texts, n),
        }))
        .into_response(),
        Err(e) => failed(&state, visitor, &e),
    }
}

struct PromotionLine {
    id: i64,
    kind: String,
    title: String,
    place: String,
    period: String,
    status: String,
}

#[derive(Template)]
#[template(path = "admin_promotions.html")]
struct PromotionsPage {
    page: Chrome,
    lines: Vec<PromotionLine>,
    stores: Vec<(i64, String)>,
    form: PromotionForm,
    /// The promotion being changed, if one is.
    editing: Option<i64>,
    errors: Vec<FieldMessage>,
    notice: Option<String>,
}

impl PromotionsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct PromotionForm {
    csrf: String,
    kind: String,
    title: String,
    description: String,
    city: String,
    store: String,
    starts_at: String,
    ends_at: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PromotionsQuery {
    done: String,
    edit: Option<i64>,
}

async fn promotions_page(
    state: &WebState,
    visitor: crate::session::Visitor,
    staff: &StaffMember,
    (editing, form): (Option<i64>, Option<PromotionForm>),
    errors: Vec<FieldMessage>,
    notice: Option<String>,
) -> Response {
    let (items, stores) = match (
        state.kopilka.marketing_promotions(staff).await,
        state.kopilka.store_locations().await,
    ) {
        (Ok(p), Ok(s)) => (p, s),
        (Err(e), _) | (_, Err(e)) => return failed(state, visitor, &e),
    };
    let t = visitor.texts;
    let tz = state.kopilka.rules().timezone;
    let now = state.kopilka.now();
    let store_name = |id: StoreId| {
        stores
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| id.to_string(), |s| format!("{}, {}", s.name, s.city))
    };
    let form = form.unwrap_or_else(|| {
        editing
            .and_then(|id| items.iter().find(|p| p.id == id))
            .map_or_else(
                || PromotionForm {
                    kind: "promotion".into(),
                    starts_at: local(now, tz),
                    ends_at: local(now + Duration::days(DEFAULT_RUN_DAYS), tz),
                    ..PromotionForm::default()
                },
                |p| PromotionForm {
                    csrf: String::new(),
                    kind: p.kind.as_str().into(),
                    title: p.title.clone(),
                    description: p.description.clone(),
                    city: p.city.clone().unwrap_or_default(),
                    store: p.store_id.map(|s| s.to_string()).unwrap_or_default(),
                    starts_at: local(p.starts_at, tz),
                    ends_at: local(p.ends_at, tz),
                },
            )
    });
    let lines = items
        .iter()
        .map(|p| PromotionLine {
            id: p.id,
            kind: t
                .get(&format!("promotions_kind_{}", p.kind.as_str()))
                .to_owned(),
            title: p.title.clone(),
            place: match (p.store_id, &p.city) {
                (Some(store), _) => store_name(store),
                (None, Some(city)) => city.clone(),
                (None, None) => t.get("promotions_whole_chain").to_owned(),
            },
            period: format!(
                "{} — {}",
                date_time(p.starts_at, tz),
                date_time(p.ends_at, tz)
            ),
            status: schedule_label(&t, Schedule::at(p.starts_at, p.ends_at, now)),
        })
        .collect();
    let status = form_status(&errors);
    let page = PromotionsPage {
        page: Chrome::for_staff(state, &visitor, staff),
        lines,
        stores: stores
            .iter()
            .map(|s| (s.id.get(), format!("{}, {}", s.name, s.city)))
            .collect(),
        form,
        editing,
        errors,
        notice,
    };
    respond(visitor, &page, status)
}

pub async fn promotions(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(query): Query<PromotionsQuery>,
) -> Response {
    let notice = (query.done == "saved").then(|| visitor.texts.get("offers_saved").to_owned());
    promotions_page(
        &state,
        visitor,
        &staff,
        (query.edit, None),
        Vec::new(),
        notice,
    )
    .await
}

/// `POST /admin/promotions` (a new one) and `POST /admin/promotions/{id}` (a change).
pub async fn save_promotion(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    id: Option<Path<i64>>,
    Form(form): Form<PromotionForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let id = id.map(|Path(id)| id);
    let tz = state.kopilka.rules().timezone;
    let t = visitor.texts;
    let mut errors = Vec::new();
    let mut wrong = |field: &'static str, key: &'static str| {
        errors.push(FieldMessage {
            field,
            message: t.get(key).to_owned(),
            label: Some(t.get(&format!("promotions_field_{field}")).to_owned()),
        });
    };
    let kind = PromotionKind::parse(&form.kind);
    if kind.is_none() {
        wrong("kind", "promotion_kind_invalid");
    }
    let starts = parse_local(&form.starts_at, tz);
    if starts.is_none() {
        wrong("starts_at", "offer_period_invalid");
    }
    let ends = parse_local(&form.ends_at, tz);
    if ends.is_none() {
        wrong("ends_at", "offer_period_invalid");
    }
    let store = match form.store.trim() {
        "" => Ok(None),
        s => s.parse::<i64>().map(|s| Some(StoreId::new(s))),
    };
    if store.is_err() {
        wrong("store", "store_unknown");
    }
    let (Some(kind), Some(starts_at), Some(ends_at), Ok(store_id)) = (kind, starts, ends, store)
    else {
        return promotions_page(&state, visitor, &staff, (id, Some(form)), errors, None).await;
    };
    let promotion = Promotion {
        id: 0,
        kind,
        title: form.title.clone(),
        description: form.description.clone(),
        city: Some(form.city.clone()),
        store_id,
        starts_at,
        ends_at,
    };
    match state.kopilka.save_promotion(&staff, id, promotion).await {
        Ok(_) => to("/admin/promotions?done=saved", visitor),
        Err(ServiceError::Domain(DomainError::Validation(fields))) => {
            let errors = fields
                .iter()
                .map(|f| {
                    let field = ["title", "description", "city", "starts_at", "ends_at"]
                        .into_iter()
                        .find(|k| *k == f.field)
                        .unwrap_or("store");
                    FieldMessage {
                        field,
                        message: t.render(&f.message),
                        label: Some(t.get(&format!("promotions_field_{field}")).to_owned()),
                    }
                })
                .collect();
            promotions_page(&state, visitor, &staff, (id, Some(form)), errors, None).await
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

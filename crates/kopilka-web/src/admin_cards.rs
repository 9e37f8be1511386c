//! Plastic cards in the back office: batches issued for the printer (and how many of each
//! went out), and the paper form a customer filled in at a store, keyed in with its card.

use crate::admin::failed;
use crate::format::date_time;
use crate::guard::Signed;
use crate::pages::{error_for, form_status, respond, to, FieldMessage};
use crate::register::{later_fields, profile, text_fields, Draft, TextField};
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Form;
use kopilka_domain::card::CardBatchId;
use kopilka_domain::{CardNumber, DomainError, Phone};
use kopilka_service::cards::{batch_csv, CARD_BATCH_MAX};
use kopilka_service::paper_forms::PaperForm;
use kopilka_service::staff::Caller;
use kopilka_service::ServiceError;
use kopilka_store::StaffMember;
use kopilka_text::Message;
use serde::Deserialize;

struct BatchLine {
    id: i64,
    issued_at: String,
    issued_by: String,
    cards: u64,
    bound: u64,
}

#[derive(Template)]
#[template(path = "admin_cards.html")]
struct CardsPage {
    page: Chrome,
    batches: Vec<BatchLine>,
    notice: Option<String>,
    errors: Vec<FieldMessage>,
    count: String,
    max: usize,
}

impl CardsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CardsQuery {
    issued: Option<i64>,
}

async fn cards_page(
    state: &WebState,
    visitor: crate::session::Visitor,
    staff: &StaffMember,
    notice: Option<String>,
    (count, errors): (String, Vec<FieldMessage>),
) -> Response {
    let batches = match state.kopilka.card_batches(staff).await {
        Ok(batches) => batches,
        Err(e) => return failed(state, visitor, &e),
    };
    let tz = state.kopilka.rules().timezone;
    let names = match state
        .kopilka
        .actor_names(
            &batches
                .iter()
                .map(|b| b.issued_by.as_str())
                .collect::<Vec<_>>(),
        )
        .await
    {
        Ok(names) => names,
        Err(e) => return failed(state, visitor, &e),
    };
    let mut lines = Vec::with_capacity(batches.len());
    for b in batches {
        let issued_by = names.get(&b.issued_by).cloned().unwrap_or(b.issued_by);
        lines.push(BatchLine {
            id: b.id.get(),
            issued_at: date_time(b.issued_at, tz),
            issued_by,
            cards: b.cards,
            bound: b.bound,
        });
    }
    let status = form_status(&errors);
    let page = CardsPage {
        page: Chrome::for_staff(state, &visitor, staff),
        batches: lines,
        notice,
        errors,
        count,
        max: CARD_BATCH_MAX,
    };
    respond(visitor, &page, status)
}

pub async fn cards(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(query): Query<CardsQuery>,
) -> Response {
    let notice = query.issued.map(|id| {
        visitor
            .texts
            .render(&Message::new("cards_batch_issued").with("id", id))
    });
    cards_page(&state, visitor, &staff, notice, (String::new(), Vec::new())).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct IssueForm {
    csrf: String,
    count: String,
}

pub async fn issue(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Form(form): Form<IssueForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let count = form.count.trim().parse::<usize>().unwrap_or(0);
    match state
        .kopilka
        .issue_cards(Caller::Staff(&staff), count)
        .await
    {
        Ok(batch) => to(&format!("/admin/cards?issued={}", batch.id), visitor),
        Err(ServiceError::Domain(DomainError::Validation(fields))) => {
            let errors = fields
                .iter()
                .map(|f| FieldMessage {
                    field: "count",
                    message: visitor.texts.render(&f.message),
                    label: None,
                })
                .collect();
            cards_page(&state, visitor, &staff, None, (form.count, errors)).await
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

/// `GET /admin/cards/{id}/cards.csv`: the batch for the printer, with each card's status.
pub async fn batch_file(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Path(id): Path<i64>,
) -> Response {
    match state
        .kopilka
        .batch_cards(&staff, CardBatchId::new(id))
        .await
    {
        Ok(cards) => crate::csv_attachment(&format!("cards-{id}.csv"), batch_csv(&cards)),
        Err(e) => failed(&state, visitor, &e),
    }
}

/// What the paper form carries besides the profile.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct PaperFormFields {
    card_number: String,
    phone: String,
    #[serde(flatten)]
    draft: Draft,
}

#[derive(Template)]
#[template(path = "admin_paper_form.html")]
struct PaperFormPage {
    page: Chrome,
    errors: Vec<FieldMessage>,
    card_number: String,
    phone: String,
    draft: Draft,
    text_fields: Vec<TextField>,
    later_fields: Vec<TextField>,
}

impl PaperFormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

fn paper_form_page(
    state: &WebState,
    visitor: crate::session::Visitor,
    staff: &StaffMember,
    form: PaperFormFields,
    errors: Vec<FieldMessage>,
) -> Response {
    let status = form_status(&errors);
    let page = PaperFormPage {
        page: Chrome::for_staff(state, &visitor, staff),
        errors,
        card_number: form.card_number,
        phone: form.phone,
        text_fields: text_fields(&form.draft),
        later_fields: later_fields(&form.draft),
        draft: form.draft,
    };
    respond(visitor, &page, status)
}

pub async fn paper_form(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
) -> Response {
    if let Err(e) =
        kopilka_service::staff::authorize(&staff, kopilka_domain::staff::Permission::KeyPaperForms)
    {
        return failed(&state, visitor, &e.into());
    }
    paper_form_page(
        &state,
        visitor,
        &staff,
        PaperFormFields::default(),
        Vec::new(),
    )
}

pub async fn key_in(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Form(form): Form<PaperFormFields>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.draft.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let t = visitor.texts;
    let mut errors = Vec::new();
    let mut field = |field: &'static str, label: &str, message: Message| {
        errors.push(FieldMessage {
            field,
            message: t.render(&message),
            label: Some(t.get(label).to_owned()),
        });
    };
    let card = CardNumber::parse(&form.card_number);
    if let Err(e) = &card {
        field("card_number", "paper_form_card", Message::from(e.clone()));
    }
    let phone = Phone::parse(&form.phone);
    if let Err(e) = &phone {
        field("phone", "paper_form_phone", Message::from(e.clone()));
    }
    let profile = match profile(&visitor, &state, &form.draft) {
        Ok(profile) => Some(profile),
        Err(messages) => {
            errors.extend(messages);
            None
        }
    };
    // In the form's order: the consent comes last.
    if form.draft.personal_data != "yes" {
        errors.push(FieldMessage {
            field: "personal_data",
            message: t.render(&Message::new("consent_required")),
            label: Some(t.get("paper_form_consent_personal").to_owned()),
        });
    }
    let (Ok(card), Ok(phone), Some(profile), true) = (card, phone, profile, errors.is_empty())
    else {
        return paper_form_page(&state, visitor, &staff, form, errors);
    };
    let keyed = state
        .kopilka
        .key_in_paper_form(
            &staff,
            PaperForm {
                card,
                phone,
                profile,
                newsletters: form.draft.newsletters == "yes",
            },
        )
        .await;
    let refused = |field: &'static str, message: Message| FieldMessage {
        field,
        message: t.render(&message),
        label: None,
    };
    let errors = match keyed {
        Ok(member) => return to(&format!("/admin/members/{}?done=keyed", member.id), visitor),
        Err(ServiceError::Domain(DomainError::PhoneTaken)) => {
            vec![refused("phone", Message::new("problem_phone_taken_detail"))]
        }
        Err(ServiceError::Domain(DomainError::CardAlreadyBound)) => vec![refused(
            "card_number",
            Message::new("problem_card_already_bound_detail"),
        )],
        Err(ServiceError::Domain(DomainError::Validation(fields))) => fields
            .iter()
            .map(|f| refused("card_number", f.message.clone()))
            .collect(),
        Err(e) => return failed(&state, visitor, &e),
    };
    paper_form_page(&state, visitor, &staff, form, errors)
}

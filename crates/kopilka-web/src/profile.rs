//! `/account/profile`: the customer's own details, checked as the registration checks them.

use crate::guard::Signed;
use crate::pages::{error_for, failure, respond, FieldMessage};
use crate::register::{later_fields, text_fields, Draft, TextField};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kopilka_domain::member::Member;
use kopilka_domain::DomainError;
use kopilka_service::auth::CustomerSession;
use kopilka_service::profile::ProfilePatch;
use kopilka_service::ServiceError;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    page: Chrome,
    saved: bool,
    /// Sent here because the profile lacks what most of the account needs.
    incomplete: bool,
    errors: Vec<FieldMessage>,
    draft: Draft,
    text_fields: Vec<TextField>,
    later_fields: Vec<TextField>,
}

impl ProfilePage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }

    fn new(state: &WebState, visitor: &Visitor, draft: Draft, errors: Vec<FieldMessage>) -> Self {
        Self {
            page: Chrome::new(state, visitor, true),
            saved: false,
            incomplete: false,
            errors,
            text_fields: text_fields(&draft),
            later_fields: later_fields(&draft),
            draft,
        }
    }
}

/// The form as the member's profile fills it.
fn draft_of(member: &Member) -> Draft {
    let p = &member.profile;
    Draft {
        last_name: p.last_name.clone().unwrap_or_default(),
        first_name: p.first_name.clone().unwrap_or_default(),
        gender: p.gender.map(|g| g.as_str().to_owned()).unwrap_or_default(),
        birth_date: p.birth_date.map(|d| d.to_string()).unwrap_or_default(),
        city: p.city.clone().unwrap_or_default(),
        email: p.email.clone().unwrap_or_default(),
        newsletters: if member.consents.newsletters {
            "yes"
        } else {
            ""
        }
        .to_owned(),
        ..Draft::default()
    }
}

#[derive(Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    incomplete: Option<String>,
}

pub async fn show(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
    Query(q): Query<Saved>,
) -> Response {
    let mut page = ProfilePage::new(&state, &visitor, draft_of(&session.member), Vec::new());
    page.saved = q.saved.is_some();
    page.incomplete =
        q.incomplete.is_some() && !session.member.profile.missing_required().is_empty();
    respond(visitor, &page, StatusCode::OK)
}

pub async fn save(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(draft): Form<Draft>,
) -> Response {
    let Signed {
        visitor,
        who: session,
    } = match Signed::<CustomerSession>::form(&state, visitor, &draft.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let profile = match crate::register::profile(&visitor, &state, &draft) {
        Ok(profile) => profile,
        Err(errors) => {
            let page = ProfilePage::new(&state, &visitor, draft, errors);
            return respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let patch = ProfilePatch {
        last_name: profile.last_name,
        first_name: Some(profile.first_name),
        gender: profile.gender,
        birth_date: profile.birth_date,
        city: profile.city,
        email: Some(profile.email),
        newsletters: Some(draft.newsletters == "yes"),
        ..ProfilePatch::default()
    };
    match state.kopilka.update_profile(&session.member, patch).await {
        Ok(_) => visitor.finish(Redirect::to("/account/profile?saved=1").into_response()),
        Err(ServiceError::Domain(DomainError::Validation(fields))) => {
            let errors = fields
                .iter()
                .map(|f| FieldMessage {
                    field: "last_name",
                    message: visitor.texts.render(&f.message),
                    label: Some(f.field.clone()),
                })
                .collect();
            let page = ProfilePage::new(&state, &visitor, draft, errors);
            respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => failure(&state, visitor, &e, true),
    }
}

//! `/register`: the seed's wizard. The phone and its code are the sign-in form's (a phone
//! with no account goes on here, its verified phone in a registration cookie); then the
//! profile, the consents, the password twice and the favourite category, one page each.
//! Earlier answers travel in the form as hidden fields and are checked again at every step;
//! the password travels only as a hash sealed to the registration by the service.

use crate::guard::Audience;
use crate::pages::{error_for, form_status, refused, respond, FieldMessage};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kopilka_domain::member::{self, Gender, Profile};
use kopilka_domain::password::NewPassword;
use kopilka_domain::DomainError;
use kopilka_service::auth::CustomerSession;
use kopilka_service::registration::{RegistrationForm, RegistrationPassword};
use kopilka_service::ServiceError;
use kopilka_text::Message;
use serde::Deserialize;

/// What the form carries from step to step.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct Draft {
    pub(crate) csrf: String,
    pub(crate) step: String,
    pub(crate) last_name: String,
    pub(crate) first_name: String,
    pub(crate) gender: String,
    pub(crate) birth_date: String,
    pub(crate) city: String,
    pub(crate) email: String,
    pub(crate) personal_data: String,
    pub(crate) newsletters: String,
    pub(crate) sealed: String,
    pub(crate) password: String,
    pub(crate) password_again: String,
    pub(crate) category: String,
}

/// (name, label key, type, value, autocomplete)
pub(crate) type TextField = (
    &'static str,
    &'static str,
    &'static str,
    String,
    &'static str,
);

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    page: Chrome,
    step: &'static str,
    step_label: String,
    heading: String,
    errors: Vec<FieldMessage>,
    draft: Draft,
    /// The text inputs before the gender, and after it.
    text_fields: Vec<TextField>,
    later_fields: Vec<TextField>,
    categories: Vec<(i64, String)>,
}

impl RegisterPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// The profile's text inputs before the gender, in the seed's order.
pub(crate) fn text_fields(draft: &Draft) -> Vec<TextField> {
    vec![
        (
            "last_name",
            "register_last_name",
            "text",
            draft.last_name.clone(),
            "family-name",
        ),
        (
            "first_name",
            "register_first_name",
            "text",
            draft.first_name.clone(),
            "given-name",
        ),
    ]
}

/// …and after it.
pub(crate) fn later_fields(draft: &Draft) -> Vec<TextField> {
    vec![
        (
            "birth_date",
            "register_birth_date",
            "date",
            draft.birth_date.clone(),
            "bday",
        ),
        (
            "city",
            "register_city",
            "text",
            draft.city.clone(),
            "address-level2",
        ),
        (
            "email",
            "register_email",
            "email",
            draft.email.clone(),
            "email",
        ),
    ]
}

const STEPS: [(&str, &str); 4] = [
    ("profile", "register_profile"),
    ("consents", "register_consents"),
    ("password", "register_password"),
    ("category", "register_category"),
];

async fn page(
    state: &WebState,
    visitor: &Visitor,
    step: &'static str,
    draft: Draft,
    errors: Vec<FieldMessage>,
) -> RegisterPage {
    let t = visitor.texts;
    let number = STEPS.iter().position(|(s, _)| *s == step).unwrap_or(0) + 1;
    let heading = STEPS
        .iter()
        .find(|(s, _)| *s == step)
        .map_or("", |(_, key)| t.get(key))
        .to_owned();
    let categories = if step == "category" {
        state
            .kopilka
            .favourite_candidates()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect()
    } else {
        Vec::new()
    };
    RegisterPage {
        page: Chrome::new(state, visitor, false),
        step,
        step_label: t.seconds("register_step", number as u64),
        heading,
        errors,
        text_fields: text_fields(&draft),
        later_fields: later_fields(&draft),
        draft,
        categories,
    }
}

fn show(page: &RegisterPage, visitor: Visitor) -> Response {
    respond(visitor, page, form_status(&page.errors))
}

/// `GET /register`: the profile step for a verified phone, else the phone first.
pub async fn start(State(state): State<WebState>, visitor: Visitor) -> Response {
    if CustomerSession::find(&state, &visitor).await.is_some() {
        return visitor.finish(Redirect::to("/account").into_response());
    }
    if visitor.registration.is_none() {
        return visitor.finish(Redirect::to("/login").into_response());
    }
    let page = page(&state, &visitor, "profile", Draft::default(), Vec::new()).await;
    show(&page, visitor)
}

/// The profile as the draft has it, or a message for each field that is wrong.
pub(crate) fn profile(
    visitor: &Visitor,
    state: &WebState,
    draft: &Draft,
) -> Result<Profile, Vec<FieldMessage>> {
    let rules = state.kopilka.rules();
    let mut errors = Vec::new();
    let t = visitor.texts;
    let mut check = |field: &'static str, result: Result<(), Message>| {
        if let Err(message) = result {
            let label = t.get(&format!("register_{field}")).to_owned();
            errors.push(FieldMessage {
                field,
                message: t.render(&message),
                label: Some(label),
            });
        }
    };
    let need = |s: &str| {
        if s.trim().is_empty() {
            Err(Message::new("error_required"))
        } else {
            Ok(())
        }
    };
    let last_name = member::parse_name(&draft.last_name);
    check(
        "last_name",
        need(&draft.last_name).and(last_name.clone().map(|_| ()).map_err(Message::from)),
    );
    let first_name =
        (!draft.first_name.trim().is_empty()).then(|| member::parse_name(&draft.first_name));
    check(
        "first_name",
        first_name
            .clone()
            .transpose()
            .map(|_| ())
            .map_err(Message::from),
    );
    let gender = Gender::parse(&draft.gender);
    check(
        "gender",
        need(&draft.gender).and(gender.map(|_| ()).map_err(Message::from)),
    );
    let birth_date = member::parse_birth_date(
        &draft.birth_date,
        state.kopilka.today(),
        rules.min_age_years,
    );
    check(
        "birth_date",
        need(&draft.birth_date).and(birth_date.clone().map(|_| ())),
    );
    let city = member::parse_city(&draft.city);
    check(
        "city",
        need(&draft.city).and(city.clone().map(|_| ()).map_err(Message::from)),
    );
    let email = (!draft.email.trim().is_empty()).then(|| member::parse_email(&draft.email));
    check(
        "email",
        email.clone().transpose().map(|_| ()).map_err(Message::from),
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Profile {
        last_name: last_name.ok(),
        first_name: first_name.and_then(Result::ok),
        gender: gender.ok(),
        birth_date: birth_date.ok(),
        city: city.ok(),
        email: email.and_then(Result::ok),
        ..Profile::default()
    })
}

/// `POST /register`: one step of the wizard.
pub async fn step(
    State(state): State<WebState>,
    mut visitor: Visitor,
    Form(mut draft): Form<Draft>,
) -> Response {
    if !visitor.csrf_ok(&state, &draft.csrf) {
        return refused(&state, visitor);
    }
    let Some(token) = visitor.registration.clone() else {
        return visitor.finish(Redirect::to("/login").into_response());
    };
    // Every step checks again what came before it: the hidden fields are the client's.
    let profile = match profile(&visitor, &state, &draft) {
        Ok(profile) => profile,
        Err(errors) => {
            let page = page(&state, &visitor, "profile", draft, errors).await;
            return show(&page, visitor);
        }
    };
    if draft.step == "profile" {
        let page = page(&state, &visitor, "consents", draft, Vec::new()).await;
        return show(&page, visitor);
    }
    if draft.personal_data != "yes" {
        let errors = vec![FieldMessage {
            field: "personal_data",
            message: visitor.texts.get("register_consent_required").to_owned(),
            label: None,
        }];
        let page = page(&state, &visitor, "consents", draft, errors).await;
        return show(&page, visitor);
    }
    if draft.step == "consents" {
        let page = page(&state, &visitor, "password", draft, Vec::new()).await;
        return show(&page, visitor);
    }
    if draft.step == "password" {
        let errors = match NewPassword::parse(
            &draft.password,
            state.kopilka.rules().password_min_chars,
            &[],
        ) {
            Err(e) => vec![FieldMessage {
                field: "password",
                message: visitor.texts.render(&e.into()),
                label: None,
            }],
            Ok(_) if draft.password != draft.password_again => vec![FieldMessage {
                field: "password_again",
                message: visitor.texts.get("register_password_mismatch").to_owned(),
                label: None,
            }],
            Ok(password) => match state
                .kopilka
                .seal_registration_password(&token, &password)
                .await
            {
                Ok(sealed) => {
                    draft.sealed = sealed;
                    Vec::new()
                }
                Err(e) => return step_failure(&state, visitor, "password", draft, &e).await,
            },
        };
        draft.password.clear();
        draft.password_again.clear();
        let next = if errors.is_empty() {
            "category"
        } else {
            "password"
        };
        let page = page(&state, &visitor, next, draft, errors).await;
        return show(&page, visitor);
    }
    // The last step: the favourite category, and the registration itself.
    let Ok(category) = draft.category.parse::<i64>() else {
        let errors = vec![FieldMessage {
            field: "category",
            message: visitor.texts.get("error_required").to_owned(),
            label: None,
        }];
        let page = page(&state, &visitor, "category", draft, errors).await;
        return show(&page, visitor);
    };
    let form = RegistrationForm {
        profile: Profile {
            favourite_category_id: Some(category),
            ..profile
        },
        newsletters: draft.newsletters == "yes",
        password: RegistrationPassword::Sealed(draft.sealed.clone()),
    };
    let client = kopilka_service::auth::Client::new(visitor.ip.clone(), visitor.user_agent.clone());
    match state.kopilka.register(&token, form, &client).await {
        Ok(done) => {
            visitor.end_registration();
            visitor.start_session(&done.token);
            let page = RegisterPage {
                page: Chrome::new(&state, &visitor, true),
                step: "done",
                step_label: String::new(),
                heading: String::new(),
                errors: Vec::new(),
                draft: Draft::default(),
                text_fields: Vec::new(),
                later_fields: Vec::new(),
                categories: Vec::new(),
            };
            respond(visitor, &page, StatusCode::OK)
        }
        Err(e) => step_failure(&state, visitor, "category", draft, &e).await,
    }
}

/// A refusal from the service at a step: a field's message where it names one, else a
/// fresh start (the registration's time ran out, or the phone joined meanwhile).
async fn step_failure(
    state: &WebState,
    mut visitor: Visitor,
    step: &'static str,
    draft: Draft,
    error: &ServiceError,
) -> Response {
    match error {
        ServiceError::Domain(DomainError::Validation(fields)) => {
            let errors = fields
                .iter()
                .map(|f| FieldMessage {
                    field: if f.field == "password" {
                        "password"
                    } else {
                        "category"
                    },
                    message: visitor.texts.render(&f.message),
                    label: None,
                })
                .collect();
            let step = if fields.iter().any(|f| f.field == "password") {
                "password"
            } else {
                step
            };
            let page = page(state, &visitor, step, draft, errors).await;
            show(&page, visitor)
        }
        _ => {
            visitor.end_registration();
            let page = crate::pages::MessagePage {
                page: Chrome::new(state, &visitor, false),
                heading: visitor.texts.get("register_expired").to_owned(),
                message: String::new(),
            };
            respond(visitor, &page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

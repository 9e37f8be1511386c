//! `/contacts` and `/feedback`: how to reach the chain, and the public feedback forms (a
//! customer's, or an employee's or contractor's), checked as the API checks them.

use crate::guard::Audience;
use crate::pages::{error_for, message_for, refused, respond, FieldMessage};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use kopilka_domain::DomainError;
use kopilka_service::auth::CustomerSession;
use kopilka_service::support::{Feedback, FeedbackInput};
use kopilka_service::ServiceError;
use serde::Deserialize;

/// How to reach the chain, from the settings.
#[derive(Debug, Clone, Default)]
pub struct Contacts {
    pub hotline: String,
    pub messenger: String,
    pub claims_email: String,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    page: Chrome,
    hotline: String,
    hotline_tel: String,
    messenger: String,
    claims_email: String,
}

pub async fn contacts(State(state): State<WebState>, visitor: Visitor) -> Response {
    let signed_in = CustomerSession::find(&state, &visitor).await.is_some();
    let c = &state.contacts;
    let page = ContactsPage {
        page: Chrome::new(&state, &visitor, signed_in),
        hotline: c.hotline.clone(),
        hotline_tel: c
            .hotline
            .chars()
            .filter(|ch| ch.is_ascii_digit() || *ch == '+')
            .collect(),
        messenger: c.messenger.clone(),
        claims_email: c.claims_email.clone(),
    };
    respond(visitor, &page, StatusCode::OK)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FeedbackForm {
    csrf: String,
    channel: String,
    name: String,
    phone: String,
    email: String,
    subject: String,
    body: String,
}

#[derive(Template)]
#[template(path = "feedback.html")]
struct FeedbackPage {
    page: Chrome,
    sent: Option<String>,
    errors: Vec<FieldMessage>,
    /// (name, label key, type, value)
    fields: Vec<(&'static str, &'static str, &'static str, String)>,
    form: FeedbackForm,
}

impl FeedbackPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }

    fn new(
        page: Chrome,
        form: FeedbackForm,
        errors: Vec<FieldMessage>,
        sent: Option<String>,
    ) -> Self {
        Self {
            page,
            sent,
            errors,
            fields: vec![
                ("name", "feedback_name", "text", form.name.clone()),
                ("phone", "feedback_phone", "tel", form.phone.clone()),
                ("email", "feedback_email", "email", form.email.clone()),
                ("subject", "feedback_subject", "text", form.subject.clone()),
            ],
            form,
        }
    }
}

pub async fn feedback_form(State(state): State<WebState>, visitor: Visitor) -> Response {
    let signed_in = CustomerSession::find(&state, &visitor).await.is_some();
    let page = FeedbackPage::new(
        Chrome::new(&state, &visitor, signed_in),
        FeedbackForm::default(),
        Vec::new(),
        None,
    );
    respond(visitor, &page, StatusCode::OK)
}

/// The field a problem names, as the form knows it.
fn field_of(name: &str) -> &'static str {
    match name {
        "channel" => "channel",
        "name" => "name",
        "phone" => "phone",
        "email" => "email",
        "subject" => "subject",
        _ => "body",
    }
}

pub async fn send_feedback(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<FeedbackForm>,
) -> Response {
    if !visitor.csrf_ok(&state, &form.csrf) {
        return refused(&state, visitor);
    }
    let signed_in = CustomerSession::find(&state, &visitor).await.is_some();
    let parsed = Feedback::parse(&FeedbackInput {
        channel: &form.channel,
        name: &form.name,
        phone: &form.phone,
        email: &form.email,
        subject: &form.subject,
        body: &form.body,
    });
    let result = match parsed {
        Ok(feedback) => state.kopilka.feedback(feedback, &visitor.ip).await,
        Err(e) => Err(e.into()),
    };
    let (status, page) = match result {
        Ok(ticket) => {
            let sent = visitor
                .texts
                .seconds("feedback_sent", ticket.id.get().unsigned_abs());
            let page = FeedbackPage::new(
                Chrome::new(&state, &visitor, signed_in),
                FeedbackForm::default(),
                Vec::new(),
                Some(sent),
            );
            (StatusCode::OK, page)
        }
        Err(e) => {
            let errors = match &e {
                ServiceError::Domain(DomainError::Validation(fields)) => fields
                    .iter()
                    .map(|f| FieldMessage {
                        field: field_of(&f.field),
                        message: visitor.texts.render(&f.message),
                        label: None,
                    })
                    .collect(),
                other => vec![FieldMessage {
                    field: "body",
                    message: message_for(&visitor, other),
                    label: None,
                }],
            };
            let page =
                FeedbackPage::new(Chrome::new(&state, &visitor, signed_in), form, errors, None);
            (StatusCode::UNPROCESSABLE_ENTITY, page)
        }
    };
    respond(visitor, &page, status)
}

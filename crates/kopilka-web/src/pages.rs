//! The page handlers: read the form, call the service, render. Each error becomes a message
//! beside its field and in the summary at the top, in the page's language.

use crate::guard::{Audience, Signed};
use crate::session::Visitor;
use crate::{barcode, Chrome, WebState};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kopilka_domain::{CardStatus, DomainError, OtpCode, Phone};
use kopilka_service::auth::{Client, CodeVerified, CustomerSession, Login};
use kopilka_service::ServiceError;
use kopilka_store::TokenKind;
use serde::Deserialize;

/// A message for one field.
pub(crate) struct FieldMessage {
    pub field: &'static str,
    pub message: String,
    /// The field's label, for the summary at the top (the message beside the field needs none).
    pub label: Option<String>,
}

/// The page, with the cookies this visit decided on.
pub(crate) fn respond(visitor: Visitor, template: &impl Template, status: StatusCode) -> Response {
    let response = render(template, status);
    visitor.finish(response)
}

/// Sends the visitor on to `path`, with the cookies this visit set.
pub(crate) fn to(path: &str, visitor: Visitor) -> Response {
    visitor.finish(Redirect::to(path).into_response())
}

/// A form page's status: 422 while it shows errors.
pub(crate) fn form_status(errors: &[FieldMessage]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The message for `field` among a form's errors, for the template beside the field.
pub(crate) fn error_for<'a>(errors: &'a [FieldMessage], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

pub(crate) fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The message a service error shows a person, in the page's language.
pub(crate) fn message_for(visitor: &Visitor, error: &ServiceError) -> String {
    let t = visitor.texts;
    match error {
        ServiceError::Domain(DomainError::InvalidCredentials) => {
            t.get("error_invalid_credentials").to_owned()
        }
        ServiceError::Domain(DomainError::OtpInvalid) => t.get("error_otp_invalid").to_owned(),
        ServiceError::Domain(DomainError::OtpExpired) => t.get("error_otp_expired").to_owned(),
        ServiceError::Domain(DomainError::OtpAttemptsExceeded) => {
            t.get("error_otp_attempts_exceeded").to_owned()
        }
        ServiceError::Domain(DomainError::RateLimited { retry_after_s }) => {
            t.seconds("error_rate_limited", *retry_after_s)
        }
        ServiceError::Domain(DomainError::Validation(fields)) => fields.first().map_or_else(
            || t.get("error_generic").to_owned(),
            |f| t.render(&f.message),
        ),
        other => {
            tracing::error!(error = %other, "page request failed");
            t.get("error_generic").to_owned()
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: Chrome,
}

pub async fn home(State(state): State<WebState>, visitor: Visitor) -> Response {
    let signed_in = CustomerSession::find(&state, &visitor).await.is_some();
    let page = HomePage {
        page: Chrome::new(&state, &visitor, signed_in),
    };
    respond(visitor, &page, StatusCode::OK)
}

/// Where a customer lands after signing in: the account, or first the form while the
/// profile lacks what most of the account needs (the seed's FAQ: fill in the form in the
/// account).
pub(crate) fn landing(member: &kopilka_domain::member::Member) -> &'static str {
    if member.profile.missing_required().is_empty() {
        "/account"
    } else {
        INCOMPLETE_PROFILE
    }
}

/// The profile form, saying why it is shown.
pub(crate) const INCOMPLETE_PROFILE: &str = "/account/profile?incomplete=1";

/// A page that needs the whole profile leads to the form; anything else is a failure page.
pub(crate) fn unless_incomplete(
    state: &WebState,
    visitor: Visitor,
    error: &ServiceError,
) -> Response {
    match error {
        ServiceError::Domain(DomainError::ProfileIncomplete { .. }) => {
            visitor.finish(Redirect::to(INCOMPLETE_PROFILE).into_response())
        }
        other => failure(state, visitor, other, true),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Chrome,
    errors: Vec<FieldMessage>,
    notice: Option<String>,
    phone: String,
    login: String,
    code_sent_to: Option<String>,
    resend_hint: String,
    /// Seconds until a new code may be asked for, for the script's countdown.
    resend_after_s: u64,
}

impl LoginPage {
    fn new(state: &WebState, visitor: &Visitor) -> Self {
        Self {
            page: Chrome::new(state, visitor, false),
            errors: Vec::new(),
            notice: None,
            phone: String::new(),
            login: String::new(),
            code_sent_to: None,
            resend_hint: String::new(),
            resend_after_s: 0,
        }
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }

    fn with_error(mut self, field: &'static str, message: String) -> Self {
        self.errors.push(FieldMessage {
            field,
            message,
            label: None,
        });
        self
    }

    fn code_form(mut self, visitor: &Visitor, phone: &Phone, resend_after_s: u64) -> Self {
        self.code_sent_to = Some(phone.as_str().to_owned());
        self.resend_hint = visitor
            .texts
            .seconds("login_code_resend_after", resend_after_s);
        self.resend_after_s = resend_after_s;
        self
    }
}

fn page_response(page: &LoginPage, visitor: Visitor) -> Response {
    respond(visitor, page, form_status(&page.errors))
}

pub async fn login(State(state): State<WebState>, visitor: Visitor) -> Response {
    if CustomerSession::find(&state, &visitor).await.is_some() {
        return visitor.finish(Redirect::to("/account").into_response());
    }
    let page = LoginPage::new(&state, &visitor);
    page_response(&page, visitor)
}

#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
}

/// A form whose CSRF token is not this visitor's: a 403 page, nothing done.
pub(crate) fn refused(state: &WebState, visitor: Visitor) -> Response {
    let page = MessagePage {
        page: Chrome::new(state, &visitor, false),
        heading: visitor.texts.get("error_csrf").to_owned(),
        message: String::new(),
    };
    respond(visitor, &page, StatusCode::FORBIDDEN)
}

pub async fn login_phone(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<PhoneForm>,
) -> Response {
    if !visitor.csrf_ok(&state, &form.csrf) {
        return refused(&state, visitor);
    }
    let mut page = LoginPage::new(&state, &visitor);
    page.phone = form.phone.clone();
    let phone = match Phone::parse(&form.phone) {
        Ok(phone) => phone,
        Err(e) => {
            let page = page.with_error("phone", visitor.texts.render(&e.into()));
            return page_response(&page, visitor);
        }
    };
    match state
        .kopilka
        .request_sign_in_code(&phone, &visitor.ip)
        .await
    {
        Ok(sent) => {
            let page = page.code_form(&visitor, &phone, sent.resend_after_s);
            page_response(&page, visitor)
        }
        Err(e) => {
            let page = page.with_error("phone", message_for(&visitor, &e));
            page_response(&page, visitor)
        }
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
}

pub async fn login_code(
    State(state): State<WebState>,
    mut visitor: Visitor,
    Form(form): Form<CodeForm>,
) -> Response {
    if !visitor.csrf_ok(&state, &form.csrf) {
        return refused(&state, visitor);
    }
    let page = LoginPage::new(&state, &visitor);
    let Ok(phone) = Phone::parse(&form.phone) else {
        return visitor.finish(Redirect::to("/login").into_response());
    };
    let resend = state
        .kopilka
        .rules()
        .otp_resend_cooldown
        .num_seconds()
        .max(0) as u64;
    let code = match OtpCode::parse(&form.code) {
        Ok(code) => code,
        Err(e) => {
            let page = page
                .code_form(&visitor, &phone, resend)
                .with_error("code", visitor.texts.render(&e.into()));
            return page_response(&page, visitor);
        }
    };
    let client = Client::new(visitor.ip.clone(), visitor.user_agent.clone());
    match state
        .kopilka
        .verify_sign_in_code(&phone, &code, &client)
        .await
    {
        Ok(CodeVerified::SignedIn { token, member }) => {
            visitor.start_session(&token);
            visitor.finish(Redirect::to(landing(&member)).into_response())
        }
        // A phone with no account goes on into registration, verified.
        Ok(CodeVerified::RegistrationRequired { registration_token }) => {
            visitor.start_registration(&registration_token);
            visitor.finish(Redirect::to("/register").into_response())
        }
        Err(e) => {
            let message = message_for(&visitor, &e);
            let page = page
                .code_form(&visitor, &phone, resend)
                .with_error("code", message);
            page_response(&page, visitor)
        }
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

pub async fn login_password(
    State(state): State<WebState>,
    mut visitor: Visitor,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !visitor.csrf_ok(&state, &form.csrf) {
        return refused(&state, visitor);
    }
    let mut page = LoginPage::new(&state, &visitor);
    page.login = form.login.clone();
    let login = Login::parse(&form.login);
    if let Err(message) = &login {
        page = page.with_error("login", visitor.texts.render(message));
    }
    if form.password.is_empty() {
        page = page.with_error("password", visitor.texts.get("error_required").to_owned());
    }
    let (Ok(login), true) = (login, page.errors.is_empty()) else {
        return page_response(&page, visitor);
    };
    let client = Client::new(visitor.ip.clone(), visitor.user_agent.clone());
    match state
        .kopilka
        .sign_in_with_password(&login, form.password, &client)
        .await
    {
        Ok((token, member)) => {
            visitor.start_session(&token);
            visitor.finish(Redirect::to(landing(&member)).into_response())
        }
        Err(e) => {
            let page = page.with_error("password", message_for(&visitor, &e));
            page_response(&page, visitor)
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<WebState>,
    mut visitor: Visitor,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !visitor.csrf_ok(&state, &form.csrf) {
        return refused(&state, visitor);
    }
    if let Some(token) = visitor.session.clone() {
        if let Err(e) = state.kopilka.sign_out(TokenKind::Customer, &token).await {
            tracing::warn!(error = %e, "signing out failed");
        }
    }
    visitor.end_session();
    visitor.finish(Redirect::to("/").into_response())
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub page: Chrome,
    pub heading: String,
    pub message: String,
}

/// A page saying that something is not there (a receipt, a question, an address), with a
/// 404: `heading` and `text` are catalogue keys.
pub(crate) fn not_found(
    state: &WebState,
    visitor: Visitor,
    heading: &str,
    text: Option<&str>,
    signed_in: bool,
) -> Response {
    let page = MessagePage {
        page: Chrome::new(state, &visitor, signed_in),
        heading: visitor.texts.get(heading).to_owned(),
        message: text.map_or(String::new(), |key| visitor.texts.get(key).to_owned()),
    };
    respond(visitor, &page, StatusCode::NOT_FOUND)
}

/// A service failure as a page: its message, and a 503 (what a person can do is wait).
pub(crate) fn failure(
    state: &WebState,
    visitor: Visitor,
    error: &ServiceError,
    signed_in: bool,
) -> Response {
    let page = MessagePage {
        page: Chrome::new(state, &visitor, signed_in),
        heading: message_for(&visitor, error),
        message: String::new(),
    };
    respond(visitor, &page, StatusCode::SERVICE_UNAVAILABLE)
}

pub(crate) struct HistoryLine {
    pub(crate) when: String,
    pub(crate) description: String,
    pub(crate) points: i64,
}

impl HistoryLine {
    pub(crate) fn new(
        entry: &kopilka_domain::ledger::HistoryEntry,
        tz: chrono_tz::Tz,
        texts: &kopilka_text::Texts,
    ) -> Self {
        Self {
            when: entry.at.with_timezone(&tz).format("%d.%m.%Y").to_string(),
            description: texts.render_stored(&entry.description),
            points: entry.points.get(),
        }
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: Chrome,
    available: i64,
    pending: i64,
    /// (date, points)
    expiring: Vec<(String, i64)>,
    card: Option<String>,
    history: Vec<HistoryLine>,
    profile_incomplete: bool,
    /// When the figures were read: an offline copy says how old it is.
    as_of: String,
}

/// How many history lines the first screen shows.
const HISTORY_ON_ACCOUNT: u32 = 10;

pub async fn account(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: session,
    }: Signed<CustomerSession>,
) -> Response {
    match account_page(&state, &visitor, &session).await {
        Ok(page) => respond(visitor, &page, StatusCode::OK),
        Err(e) => failure(&state, visitor, &e, true),
    }
}

async fn account_page(
    state: &WebState,
    visitor: &Visitor,
    session: &CustomerSession,
) -> Result<AccountPage, ServiceError> {
    let member = &session.member;
    let kopilka = &state.kopilka;
    let balance = kopilka.balance(member.id).await?;
    let cards = kopilka.cards(member.id).await?;
    let history = kopilka
        .history(member.id, Some(HISTORY_ON_ACCOUNT), None)
        .await?;
    let tz = kopilka.rules().timezone;
    let date =
        |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&tz).format("%d.%m.%Y").to_string();
    Ok(AccountPage {
        page: Chrome::new(state, visitor, true),
        available: balance.available.get(),
        pending: balance.pending.get(),
        expiring: balance
            .expiring
            .iter()
            .map(|e| (date(e.expires_at), e.points.get()))
            .collect(),
        card: cards
            .iter()
            .find(|c| c.status == CardStatus::Active)
            .map(|c| c.number.as_str().to_owned()),
        history: history
            .items
            .iter()
            .map(|h| HistoryLine::new(h, tz, &visitor.texts))
            .collect(),
        profile_incomplete: !member.profile.missing_required().is_empty(),
        as_of: kopilka
            .now()
            .with_timezone(&tz)
            .format("%d.%m.%Y %H:%M")
            .to_string(),
    })
}

/// `/account/card/{number}.svg`: the signed-in customer's own card only.
pub async fn card_barcode(
    State(state): State<WebState>,
    visitor: Visitor,
    Path(file): Path<String>,
) -> Response {
    let Some(session) = CustomerSession::find(&state, &visitor).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(number) = file.strip_suffix(".svg") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let own = match state.kopilka.cards(session.member.id).await {
        Ok(cards) => cards.iter().any(|c| c.number.as_str() == number),
        Err(_) => false,
    };
    match barcode::ean13_svg(number).filter(|_| own) {
        Some(svg) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("image/svg+xml"),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                ),
            ],
            svg,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

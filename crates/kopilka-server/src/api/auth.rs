//! `/auth/*`: sign-in by SMS code or password, registration, recovery, logout.

use super::views::*;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, BearerToken, ClientInfo, ClientIp, SignedIn};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kopilka_domain::member::StoreId;
use kopilka_domain::member::{self, Gender, Profile};
use kopilka_domain::password::NewPassword;
use kopilka_domain::{OtpCode, Phone, Validation};
use kopilka_service::auth::{CodeVerified, Login};
use kopilka_service::registration::RegistrationForm;
use kopilka_store::TokenKind;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_code))
        .routes(routes!(verify_code))
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(password_reset))
        .routes(routes!(password_reset_confirm))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PhoneBody {
    /// As typed: `+7 (999) 123-45-67`, `89991234567`, `79991234567`.
    #[schema(example = "+7 (999) 123-45-67")]
    #[serde(default)]
    phone: String,
}

/// Send a sign-in code by SMS. The answer is the same whether or not the phone is registered.
#[utoipa::path(post, path = "/auth/otp", tag = "auth", request_body = PhoneBody,
    responses((status = 202, body = CodeSentView),
              (status = 422, body = Problem, description = "validation_failed"),
              (status = 429, body = Problem, description = "rate_limited, with Retry-After")))]
async fn request_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<PhoneBody>,
) -> ApiResult<(StatusCode, Json<CodeSentView>)> {
    let mut v = Validation::default();
    let Some(phone) = v.check("phone", Phone::parse(&body.phone)) else {
        return Err(v.into_error().into());
    };
    let sent = state.kopilka.request_sign_in_code(&phone, &ip).await?;
    Ok((StatusCode::ACCEPTED, Json(sent.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyBody {
    #[serde(default)]
    phone: String,
    /// The six digits from the SMS.
    #[schema(example = "123456")]
    #[serde(default)]
    code: String,
}

/// Check a sign-in code: a known phone is signed in, a new one continues to registration.
#[utoipa::path(post, path = "/auth/otp/verify", tag = "auth", request_body = VerifyBody,
    responses((status = 200, body = CodeVerifiedView),
              (status = 400, body = Problem, description = "otp_invalid, otp_expired or otp_attempts_exceeded"),
              (status = 422, body = Problem, description = "validation_failed")))]
async fn verify_code(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<VerifyBody>,
) -> ApiResult<Json<CodeVerifiedView>> {
    let mut v = Validation::default();
    let phone = v.check("phone", Phone::parse(&body.phone));
    let code = v.check("code", OtpCode::parse(&body.code));
    let (Some(phone), Some(code)) = (phone, code) else {
        return Err(v.into_error().into());
    };
    Ok(Json(
        match state
            .kopilka
            .verify_sign_in_code(&phone, &code, &client)
            .await?
        {
            CodeVerified::SignedIn { token, member } => CodeVerifiedView {
                status: "signed_in",
                token: Some(token),
                member: Some(member.as_ref().into()),
                registration_token: None,
            },
            CodeVerified::RegistrationRequired { registration_token } => CodeVerifiedView {
                status: "registration_required",
                token: None,
                member: None,
                registration_token: Some(registration_token),
            },
        },
    ))
}

#[derive(Debug, Default, Deserialize, serde::Serialize, ToSchema)]
#[serde(default)]
pub struct ConsentsBody {
    /// Must be true: processing of personal data.
    pub(crate) personal_data: bool,
    pub(crate) newsletters: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(default)]
#[derive(Default)]
pub struct RegisterBody {
    registration_token: String,
    #[serde(flatten)]
    person: PersonBody,
    email: Option<String>,
    favourite_store_id: Option<i64>,
    favourite_category_id: Option<i64>,
    consents: ConsentsBody,
    /// At least 6 characters, not a common password.
    password: String,
}

/// The fields of the registration form and of a paper form that say who someone is.
#[derive(Debug, Default, Deserialize, serde::Serialize, ToSchema)]
#[serde(default)]
pub struct PersonBody {
    last_name: Option<String>,
    first_name: Option<String>,
    /// `male` or `female`.
    gender: Option<String>,
    /// `YYYY-MM-DD`.
    birth_date: Option<String>,
    city: Option<String>,
}

impl PersonBody {
    /// The profile these fields make, the errors in `v`; `None` if any is wrong.
    pub(crate) fn parse(self, v: &mut Validation, state: &AppState) -> Option<Profile> {
        let rules = state.kopilka.rules();
        let today = state.kopilka.today();
        let last_name = required(v, "last_name", self.last_name)
            .and_then(|s| v.check("last_name", member::parse_name(&s)));
        let first_name = v.check_opt(
            "first_name",
            self.first_name
                .filter(|s| !s.trim().is_empty())
                .map(|s| member::parse_name(&s)),
        );
        let gender =
            required(v, "gender", self.gender).and_then(|s| v.check("gender", Gender::parse(&s)));
        let birth_date = required(v, "birth_date", self.birth_date).and_then(|s| {
            v.check(
                "birth_date",
                member::parse_birth_date(&s, today, rules.min_age_years),
            )
        });
        let city =
            required(v, "city", self.city).and_then(|s| v.check("city", member::parse_city(&s)));
        Some(Profile {
            last_name: Some(last_name?),
            first_name: first_name?,
            gender: Some(gender?),
            birth_date: Some(birth_date?),
            city: Some(city?),
            ..Profile::default()
        })
    }
}

fn required<T>(v: &mut Validation, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        v.add(field, "field_required");
    }
    value
}

impl RegisterBody {
    fn parse(self, state: &AppState) -> Result<RegistrationForm, kopilka_domain::DomainError> {
        let rules = state.kopilka.rules();
        let mut v = Validation::default();
        let person = self.person.parse(&mut v, state);
        let email = v.check_opt(
            "email",
            self.email
                .filter(|s| !s.trim().is_empty())
                .map(|s| member::parse_email(&s)),
        );
        let favourite_category_id =
            required(&mut v, "favourite_category_id", self.favourite_category_id);
        if !self.consents.personal_data {
            v.add("consents.personal_data", "consent_required");
        }
        let password = v.check(
            "password",
            NewPassword::parse(&self.password, rules.password_min_chars, &[]),
        );
        if self.registration_token.is_empty() {
            v.add("registration_token", "field_required");
        }
        let (Some(person), Some(email), Some(password), true) =
            (person, email, password, v.is_ok())
        else {
            return Err(v.into_error());
        };
        Ok(RegistrationForm {
            profile: Profile {
                email,
                favourite_store_id: self.favourite_store_id.map(StoreId::new),
                favourite_category_id,
                ..person
            },
            newsletters: self.consents.newsletters,
            password: password.into(),
        })
    }
}

/// Complete registration with the token from a verified code: creates the member, a virtual
/// card and the welcome points.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterBody,
    responses((status = 201, body = RegisteredView),
              (status = 401, body = Problem, description = "unauthorized: the registration token is unknown, used or expired"),
              (status = 409, body = Problem, description = "phone_taken"),
              (status = 422, body = Problem, description = "validation_failed")))]
async fn register(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<RegisterBody>,
) -> ApiResult<(StatusCode, Json<RegisteredView>)> {
    let token = body.registration_token.clone();
    let form = body.parse(&state)?;
    let done = state.kopilka.register(&token, form, &client).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredView {
            token: done.token,
            member: (&done.member).into(),
            card: (&done.card).into(),
            balance: (&done.balance).into(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// A phone number or a 13-digit card number.
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

fn parse_login(v: &mut Validation, input: &str) -> Option<Login> {
    v.check("login", Login::parse(input))
}

/// Sign in with a phone or card number and a password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = SignedInView),
              (status = 401, body = Problem, description = "invalid_credentials"),
              (status = 429, body = Problem, description = "rate_limited after repeated failures")))]
async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Json<SignedInView>> {
    let mut v = Validation::default();
    let login = parse_login(&mut v, &body.login);
    if body.password.is_empty() {
        v.add("password", "field_required");
    }
    let (Some(login), true) = (login, v.is_ok()) else {
        return Err(v.into_error().into());
    };
    let (token, member) = state
        .kopilka
        .sign_in_with_password(&login, body.password, &client)
        .await?;
    Ok(Json(SignedInView {
        token,
        member: (&member).into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetBody {
    /// A phone number or a 13-digit card number.
    #[serde(default)]
    login: String,
}

/// Send a recovery code to the phone on file. The answer is the same whether or not the login exists.
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = ResetBody,
    responses((status = 202, body = CodeSentView),
              (status = 429, body = Problem, description = "rate_limited")))]
async fn password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ResetBody>,
) -> ApiResult<(StatusCode, Json<CodeSentView>)> {
    let mut v = Validation::default();
    let Some(login) = parse_login(&mut v, &body.login) else {
        return Err(v.into_error().into());
    };
    let sent = state.kopilka.request_password_reset(&login, &ip).await?;
    Ok((StatusCode::ACCEPTED, Json(sent.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirmBody {
    #[serde(default)]
    login: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

/// Set a new password with the recovery code; every other session is signed out.
#[utoipa::path(post, path = "/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmBody,
    responses((status = 200, body = SignedInView),
              (status = 400, body = Problem, description = "otp_invalid, otp_expired or otp_attempts_exceeded"),
              (status = 422, body = Problem, description = "validation_failed")))]
async fn password_reset_confirm(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> ApiResult<Json<SignedInView>> {
    let rules = state.kopilka.rules();
    let mut v = Validation::default();
    let login = parse_login(&mut v, &body.login);
    let code = v.check("code", OtpCode::parse(&body.code));
    let logins: Vec<&str> = login
        .iter()
        .map(|l| match l {
            Login::Phone(p) => p.as_str(),
            Login::Card(c) => c.as_str(),
        })
        .collect();
    let password = v.check(
        "password",
        NewPassword::parse(&body.password, rules.password_min_chars, &logins),
    );
    let (Some(login), Some(code), Some(password)) = (login, code, password) else {
        return Err(v.into_error().into());
    };
    let (token, member) = state
        .kopilka
        .confirm_password_reset(&login, &code, &password, &client)
        .await?;
    Ok(Json(SignedInView {
        token,
        member: (&member).into(),
    }))
}

/// Sign out: the token stops working.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("customer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout(
    State(state): State<AppState>,
    BearerToken(token): BearerToken,
) -> ApiResult<StatusCode> {
    state.kopilka.authenticate_customer(&token).await?;
    state.kopilka.sign_out(TokenKind::Customer, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign out everywhere: every session of this customer ends, this one included.
#[utoipa::path(post, path = "/auth/logout-all", tag = "auth", security(("customer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn logout_all(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> ApiResult<StatusCode> {
    state.kopilka.sign_out_everywhere(session.member.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

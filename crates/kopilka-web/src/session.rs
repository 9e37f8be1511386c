//! What a page knows about its visitor, from cookies: the language, the CSRF seed, and the
//! customer's session. Cookies are HttpOnly and SameSite=Lax, and Secure when the service's
//! public address is https. Each form carries a token derived from the CSRF seed with the
//! server's key (signed double submit), so another site can neither read nor forge it.

use crate::i18n::{Lang, Texts};
use crate::WebState;
use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kopilka_service::security::ClientAddress;
use rand::RngCore;
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "kp_session";
pub const CSRF_COOKIE: &str = "kp_csrf";
pub const LANG_COOKIE: &str = "kp_lang";
/// An employee's session, apart from any customer's on the same browser.
pub const EMPLOYEE_COOKIE: &str = "kp_employee";
/// A staff member's session in the back office.
pub const STAFF_COOKIE: &str = "kp_staff";
/// The registration token of a verified phone, between its code and the end of the wizard.
pub const REGISTRATION_COOKIE: &str = "kp_reg";

/// How long the browser keeps the session cookie; the session itself ends sooner if idle.
const SESSION_COOKIE_DAYS: i64 = 30;
const LANG_COOKIE_DAYS: i64 = 365;
/// A registration token lives half an hour; a day is an upper bound for the cookie.
const REGISTRATION_COOKIE_DAYS: i64 = 1;

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The visitor as a page handler sees them.
pub struct Visitor {
    pub lang: Lang,
    pub texts: Texts,
    /// The session token from the cookie, if any (not yet checked).
    pub session: Option<String>,
    /// The registration token of a verified phone, if a registration is under way.
    pub registration: Option<String>,
    /// The employee's session token from its cookie, if any (not yet checked).
    pub employee_session: Option<String>,
    /// The staff member's session token from its cookie, if any (not yet checked).
    pub staff_session: Option<String>,
    pub ip: String,
    pub user_agent: String,
    csrf_seed: String,
    /// Cookies this response must set (a new CSRF seed, a remembered language).
    pending: Vec<String>,
    secure: bool,
}

impl FromRequestParts<WebState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let mut pending = Vec::new();
        let secure = state.secure_cookies;
        let asked = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| *k == "lang")
                .and_then(|(_, v)| Lang::parse(v))
        });
        let lang = match asked {
            Some(lang) => {
                pending.push(set_cookie(
                    LANG_COOKIE,
                    lang.code(),
                    LANG_COOKIE_DAYS,
                    secure,
                ));
                lang
            }
            None => cookie(parts, LANG_COOKIE)
                .and_then(Lang::parse)
                .or_else(|| {
                    parts
                        .headers
                        .get(ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(Lang::from_accept_language)
                })
                .unwrap_or(Lang::Ru),
        };
        let csrf_seed = match cookie(parts, CSRF_COOKIE) {
            Some(seed)
                if seed.len() >= 32
                    && seed
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                seed.to_owned()
            }
            _ => {
                let seed = kopilka_service::crypto::new_token("c");
                pending.push(set_cookie(CSRF_COOKIE, &seed, SESSION_COOKIE_DAYS, secure));
                seed
            }
        };
        let ip = parts
            .extensions
            .get::<ClientAddress>()
            .map_or_else(|| "unknown".to_owned(), |ClientAddress(ip)| ip.to_string());
        // Browsers send ASCII; anything else is shown as well as it can be, not dropped.
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        Ok(Visitor {
            lang,
            texts: lang.texts(),
            session: cookie(parts, SESSION_COOKIE).map(str::to_owned),
            registration: cookie(parts, REGISTRATION_COOKIE).map(str::to_owned),
            employee_session: cookie(parts, EMPLOYEE_COOKIE).map(str::to_owned),
            staff_session: cookie(parts, STAFF_COOKIE).map(str::to_owned),
            ip,
            user_agent,
            csrf_seed,
            pending,
            secure,
        })
    }
}

impl Visitor {
    /// The token this visitor's forms carry.
    ///
    /// Masked afresh for every page (a random pad, then the token XOR the pad), so no two
    /// pages carry the same bytes: pages are compressed, and a secret repeated beside text an
    /// attacker chose (a search query) would otherwise leak through the compressed size
    /// (BREACH).
    pub fn csrf_token(&self, state: &WebState) -> String {
        let token = self.unmasked_csrf(state);
        let mut pad = vec![0u8; token.len()];
        rand::thread_rng().fill_bytes(&mut pad);
        let mut masked = pad.clone();
        masked.extend(token.bytes().zip(&pad).map(|(t, p)| t ^ p));
        URL_SAFE_NO_PAD.encode(masked)
    }

    fn unmasked_csrf(&self, state: &WebState) -> String {
        state.kopilka.keyed_hash(&["csrf", &self.csrf_seed])
    }

    /// Whether a submitted form's token is this visitor's.
    pub fn csrf_ok(&self, state: &WebState, submitted: &str) -> bool {
        let Ok(masked) = URL_SAFE_NO_PAD.decode(submitted) else {
            return false;
        };
        let expected = self.unmasked_csrf(state);
        if masked.len() != 2 * expected.len() {
            return false;
        }
        let (pad, xored) = masked.split_at(expected.len());
        let token: Vec<u8> = xored.iter().zip(pad).map(|(x, p)| x ^ p).collect();
        expected.as_bytes().ct_eq(&token).into()
    }

    pub fn start_session(&mut self, token: &str) {
        self.pending.push(set_cookie(
            SESSION_COOKIE,
            token,
            SESSION_COOKIE_DAYS,
            self.secure,
        ));
    }

    pub fn start_registration(&mut self, token: &str) {
        self.pending.push(set_cookie(
            REGISTRATION_COOKIE,
            token,
            REGISTRATION_COOKIE_DAYS,
            self.secure,
        ));
    }

    pub fn end_registration(&mut self) {
        self.pending
            .push(set_cookie(REGISTRATION_COOKIE, "", 0, self.secure));
    }

    pub fn start_employee_session(&mut self, token: &str) {
        self.pending.push(set_cookie(
            EMPLOYEE_COOKIE,
            token,
            SESSION_COOKIE_DAYS,
            self.secure,
        ));
    }

    /// Staff sessions end when idle; the cookie lasts no longer than a staff session may.
    pub fn start_staff_session(&mut self, token: &str) {
        self.pending
            .push(set_cookie(STAFF_COOKIE, token, 1, self.secure));
    }

    pub fn end_staff_session(&mut self) {
        self.pending
            .push(set_cookie(STAFF_COOKIE, "", 0, self.secure));
    }

    pub fn end_employee_session(&mut self) {
        self.pending
            .push(set_cookie(EMPLOYEE_COOKIE, "", 0, self.secure));
    }

    pub fn end_session(&mut self) {
        self.pending
            .push(set_cookie(SESSION_COOKIE, "", 0, self.secure));
    }

    /// Sets the cookies this visit decided on.
    pub fn finish(self, mut response: Response) -> Response {
        for c in self.pending {
            if let Ok(value) = HeaderValue::from_str(&c) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        response
    }
}

fn set_cookie(name: &str, value: &str, days: i64, secure: bool) -> String {
    let max_age = days * 24 * 3600;
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

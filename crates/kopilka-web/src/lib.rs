//! The web pages (API.md "Web pages"): server-rendered with askama over the same service the
//! API uses, Russian first, every form working without script. Sessions are cookies; every
//! form carries a CSRF token; every page is served with a Content-Security-Policy that allows
//! nothing from another host, no inline script and no framing.

mod admin;
mod admin_audit;
mod admin_cards;
mod admin_catalog;
pub use admin_catalog::catalog_export;
mod admin_care;
mod admin_marketing;
mod admin_nav;
mod admin_people;
mod admin_reports;
mod admin_tickets;
mod admin_tills;
mod barcode;
mod cards;
mod charts;
mod contacts;
mod controls;
mod discover;
mod employee;
mod format;
mod guard;
mod history;
mod i18n;
mod offers;
mod pages;
mod profile;
mod purchases;
mod register;
mod session;
mod threads;
mod tickets;
mod verify;

use crate::guard::Audience;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
pub use contacts::Contacts;
pub use i18n::Lang;
use kopilka_service::auth::CustomerSession;
use kopilka_service::privacy::PersonalData;
use kopilka_service::Kopilka;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tower_http::compression::CompressionLayer;

/// Largest payroll file or attached PDF a staff member uploads: a month of a large chain's
/// payroll is a few megabytes.
pub const UPLOAD_LIMIT_BYTES: usize = 32 * 1024 * 1024;
/// A CSV file to download: the answer of every export, from a page or through the API.
pub fn csv_attachment(
    filename: &str,
    body: impl Into<axum::body::Body>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body.into(),
    )
        .into_response()
}

/// The largest catalogue file taken: a million products are about 60 MB.
pub const CATALOG_UPLOAD_MAX_BYTES: usize = 256 * 1024 * 1024;

/// A PDF answered as a download under `name`.pdf: the employee's and HR's pages and the API
/// all answer documents so.
pub fn pdf_attachment(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}.pdf\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// What every page handler can reach.
#[derive(Clone)]
pub struct WebState {
    pub kopilka: Kopilka,
    /// Cookies are `Secure` when the public address is https.
    pub secure_cookies: bool,
    contacts: Arc<Contacts>,
    assets: Arc<Assets>,
    export: Arc<ExportDocument>,
}

/// Writes the customer's data export as the API's `GET /me/export` does, so the page's
/// download and the API's are one document.
pub type ExportDocument = dyn Fn(PersonalData) -> serde_json::Value + Send + Sync;

/// Static files, embedded in the binary under content-hashed names so that a browser may keep
/// them for a year and still never see a stale one.
struct Assets {
    css_path: String,
    icon_path: String,
    js_path: String,
}

const CSS: &str = include_str!("../static/web.css");
const ICON: &str = include_str!("../static/icon.svg");
const APP_JS: &str = include_str!("../static/app.js");
/// Served at the root, where a service worker must live to look after `/account`; never
/// cached long, so that a new one is found.
const SERVICE_WORKER: &str = include_str!("../static/sw.js");
const MANIFEST: &str = include_str!("../static/manifest.webmanifest");

/// `/assets/{name}.{first 12 hex digits of its SHA-256}.{ext}`.
fn hashed_path(name: &str, ext: &str, content: &str) -> String {
    let hash = Sha256::digest(content.as_bytes());
    let short: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("/assets/{name}.{short}.{ext}")
}

/// The pages' policy: everything from this host only, no inline script or style, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

impl WebState {
    pub fn new(
        kopilka: Kopilka,
        public_url_is_https: bool,
        contacts: Contacts,
        export: Arc<ExportDocument>,
    ) -> Self {
        Self {
            kopilka,
            secure_cookies: public_url_is_https,
            contacts: Arc::new(contacts),
            export,
            assets: Arc::new(Assets {
                css_path: hashed_path("web", "css", CSS),
                icon_path: hashed_path("icon", "svg", ICON),
                js_path: hashed_path("app", "js", APP_JS),
            }),
        }
    }
}

/// Every page, with its security headers, ready to merge into the service's router.
pub fn router<S: Clone + Send + Sync + 'static>(state: WebState) -> Router<S> {
    let css_path = state.assets.css_path.clone();
    let icon_path = state.assets.icon_path.clone();
    let js_path = state.assets.js_path.clone();
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login))
        .route("/login/phone", post(pages::login_phone))
        .route("/login/code", post(pages::login_code))
        .route("/login/password", post(pages::login_password))
        .route("/logout", post(pages::logout))
        .route("/register", get(register::start).post(register::step))
        .route("/account", get(pages::account))
        .route("/contacts", get(contacts::contacts))
        .route("/admin", get(admin::home))
        .route(
            "/admin/login",
            get(admin::sign_in_form).post(admin::sign_in),
        )
        .route("/admin/logout", post(admin::sign_out))
        .route("/admin/documents", get(admin::queue))
        .route(
            "/admin/employees",
            get(admin_people::employees).post(admin_people::create),
        )
        .route(
            "/admin/employees/{id}/deactivate",
            get(admin_people::confirm_deactivate).post(admin_people::deactivate),
        )
        .route("/admin/employees/{id}/{action}", post(admin_people::act))
        .route(
            "/admin/payroll",
            get(admin_people::payroll)
                .post(admin_people::import)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES)),
        )
        .route("/admin/members", get(admin_care::members))
        .route("/admin/members/{id}", get(admin_care::member))
        .route("/admin/members/{id}/adjust", post(admin_care::adjust))
        .route(
            "/admin/members/{id}/sessions/end",
            post(admin_care::end_sessions),
        )
        .route(
            "/admin/members/{id}/cards/{number}/{action}",
            post(admin_care::card),
        )
        .route(
            "/admin/tills",
            get(admin_tills::tills).post(admin_tills::open),
        )
        .route(
            "/admin/cards",
            get(admin_cards::cards).post(admin_cards::issue),
        )
        .route("/admin/cards/{id}/cards.csv", get(admin_cards::batch_file))
        .route("/admin/catalog", get(admin_catalog::catalog))
        .route(
            "/admin/catalog/{file}",
            get(admin_catalog::export)
                .post(admin_catalog::import)
                .layer(DefaultBodyLimit::max(CATALOG_UPLOAD_MAX_BYTES)),
        )
        .route("/admin/audit", get(admin_audit::audit))
        .route("/admin/audit.csv", get(admin_audit::csv))
        .route("/admin/reports", get(admin_reports::reports))
        .route("/admin/reports/points.csv", get(admin_reports::csv))
        .route("/admin/offers", get(admin_marketing::offers))
        .route("/admin/offers/reach", post(admin_marketing::live_reach))
        .route(
            "/admin/offers/{id}",
            get(admin_marketing::offer).post(admin_marketing::save),
        )
        .route(
            "/admin/promotions",
            get(admin_marketing::promotions).post(admin_marketing::save_promotion),
        )
        .route(
            "/admin/promotions/{id}",
            post(admin_marketing::save_promotion),
        )
        .route(
            "/admin/paper-forms",
            get(admin_cards::paper_form).post(admin_cards::key_in),
        )
        .route(
            "/admin/tills/{id}/revoke",
            get(admin_tills::confirm_revoke).post(admin_tills::revoke),
        )
        .route("/admin/tickets", get(admin_tickets::tickets))
        .route("/admin/tickets/{id}", get(admin_tickets::ticket))
        .route("/admin/tickets/{id}/{action}", post(admin_tickets::act))
        .route("/admin/adjustments", get(admin_care::adjustments))
        .route(
            "/admin/adjustments/{id}/{decision}",
            post(admin_care::decide),
        )
        .route("/admin/documents/{id}", get(admin::request))
        .route("/admin/documents/{id}/document.pdf", get(admin::document))
        .route(
            "/admin/documents/{id}/attach",
            post(admin::attach).layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES)),
        )
        .route("/admin/documents/{id}/{action}", post(admin::act))
        .route("/admin/messages", get(threads::staff_threads))
        .route(
            "/admin/messages/{id}",
            get(threads::staff_thread).post(threads::staff_reply),
        )
        .route(
            "/employee/messages",
            get(threads::employee_threads).post(threads::employee_write),
        )
        .route(
            "/employee/messages/{id}",
            get(threads::employee_thread).post(threads::employee_reply),
        )
        .route("/employee", get(employee::show))
        .route("/employee/login", post(employee::sign_in))
        .route("/employee/password", post(employee::change_password))
        .route("/employee/requests", post(employee::order))
        .route(
            "/employee/requests/{id}/document.pdf",
            get(employee::download),
        )
        .route("/employee/logout", post(employee::sign_out))
        .route("/verify", get(verify::form))
        .route("/verify/{code}", get(verify::check))
        .route(
            "/feedback",
            get(contacts::feedback_form).post(contacts::send_feedback),
        )
        .route("/account/card/{file}", get(pages::card_barcode))
        .route("/account/history", get(history::history))
        .route("/account/purchases", get(purchases::list))
        .route("/account/purchases/{id}", get(purchases::receipt))
        .route(
            "/account/favourite",
            get(purchases::favourite).post(purchases::choose_favourite),
        )
        .route("/account/offers", get(offers::list))
        .route("/account/offers/{id}/activate", post(offers::activate))
        .route("/account/support", get(tickets::list).post(tickets::open))
        .route(
            "/account/support/{id}",
            get(tickets::show).post(tickets::reply),
        )
        .route("/account/export", get(controls::export))
        .route("/stores", get(discover::stores))
        .route("/catalog", get(discover::catalog))
        .route("/promotions", get(discover::promotions))
        .route("/account/cards", get(cards::list).post(cards::bind))
        .route("/account/cards/virtual", post(cards::new_virtual))
        .route("/account/card-token", post(cards::card_token))
        .route("/account/cards/{number}/block", post(cards::block))
        .route("/account/profile", get(profile::show).post(profile::save))
        .route("/account/sessions", get(controls::sessions))
        .route("/account/sessions/{id}/end", post(controls::end_session))
        .route("/account/sessions/end-all", post(controls::end_all))
        .route(
            "/account/delete",
            get(controls::delete_form).post(controls::delete),
        )
        .route(
            &css_path,
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(&icon_path, get(|| async { asset("image/svg+xml", ICON) }))
        .route(
            &js_path,
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route("/icon.svg", get(|| async { fresh("image/svg+xml", ICON) }))
        .route(
            "/sw.js",
            get(|| async { fresh("text/javascript; charset=utf-8", SERVICE_WORKER) }),
        )
        .route(
            "/manifest.webmanifest",
            get(|| async { fresh("application/manifest+json", MANIFEST) }),
        )
        .layer(axum::middleware::from_fn(page_headers))
        // Pages, styles and script gzipped for a phone on a slow network (the CSRF tokens in
        // them are masked per page, see `Visitor::csrf_token`); the API is left alone, where
        // tills on a LAN would pay the CPU for nothing.
        .layer(CompressionLayer::new())
        .with_state(state)
}

fn asset(content_type: &'static str, content: &'static str) -> Response {
    let mut response = Response::new(content.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

/// A file whose name stays the same, so browsers must ask again before using it.
fn fresh(content_type: &'static str, content: &'static str) -> Response {
    let mut response = Response::new(content.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    set_page_headers(&mut response);
    response
}

/// A page for an address that has none, in the visitor's language, with the pages' headers:
/// the service's fallback for every path outside the API.
pub async fn not_found(state: WebState, request: Request) -> Response {
    use axum::extract::FromRequestParts;
    let (mut parts, _) = request.into_parts();
    let Ok(visitor) = session::Visitor::from_request_parts(&mut parts, &state).await;
    let signed_in = CustomerSession::find(&state, &visitor).await.is_some();
    let mut response = pages::not_found(
        &state,
        visitor,
        "not_found_title",
        Some("not_found_text"),
        signed_in,
    );
    set_page_headers(&mut response);
    response
}

fn set_page_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// What the layout needs on every page.
pub(crate) struct Chrome {
    pub t: i18n::Texts,
    pub lang: &'static str,
    pub css: String,
    pub icon: String,
    pub js: String,
    pub csrf: String,
    pub signed_in: bool,
    /// The back office's sections this staff member's roles open; empty elsewhere.
    pub staff_nav: Vec<admin_nav::NavLink>,
}

impl Chrome {
    pub(crate) fn new(state: &WebState, visitor: &session::Visitor, signed_in: bool) -> Self {
        Self {
            t: visitor.texts,
            lang: visitor.lang.code(),
            css: state.assets.css_path.clone(),
            icon: state.assets.icon_path.clone(),
            js: state.assets.js_path.clone(),
            csrf: visitor.csrf_token(state),
            signed_in,
            staff_nav: Vec::new(),
        }
    }

    /// A back-office page, with the sections `staff` may open.
    pub(crate) fn for_staff(
        state: &WebState,
        visitor: &session::Visitor,
        staff: &kopilka_store::StaffMember,
    ) -> Self {
        Self {
            staff_nav: admin_nav::sections(&visitor.texts, &staff.roles),
            ..Self::new(state, visitor, true)
        }
    }
}

//! The `kopilka` server: settings, the HTTP API, SMS senders and the commands, over the
//! service crate.

pub mod api;
pub mod barcode;
pub mod client_ip;
mod connections;
pub mod docs;
pub mod error;
pub mod extract;
pub mod metrics;
mod middleware;
mod problem;
pub mod seed;
pub mod settings;
mod shed;
pub mod sms;

use axum::extract::State;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use kopilka_domain::Clock;
use kopilka_service::sms::SmsSender;
use kopilka_service::{Kopilka, ServiceError};
use kopilka_store::{Store, StoreError};
use settings::{Settings, SettingsError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub kopilka: Kopilka,
    pub contacts: Arc<api::public::ContactsView>,
    pub metrics: Arc<metrics::Metrics>,
    pub openapi: Arc<utoipa::openapi::OpenApi>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("settings: {0}")]
    Settings(#[from] SettingsError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    DatabaseUrl(String),
}

/// What tests replace: the clock and the SMS sender.
pub struct Dependencies {
    pub clock: Arc<dyn Clock>,
    pub sms: Option<Arc<dyn SmsSender>>,
}

impl Default for Dependencies {
    fn default() -> Self {
        Self {
            clock: Arc::new(kopilka_domain::SystemClock),
            sms: None,
        }
    }
}

/// Opens the store the URL names, creating and migrating it.
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    let url = settings.database_url.as_str();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = kopilka_postgres::PostgresStore::connect(
            url,
            settings.pg_max_connections,
            std::time::Duration::from_secs(settings.pg_session_cache_s),
            std::time::Duration::from_secs(settings.card_cache_s),
        )
        .await?;
        Ok(Arc::new(store))
    } else if let Some(path) = kopilka_sqlite::path_from_url(url) {
        let options = kopilka_sqlite::SqliteOptions {
            synchronous: settings.sqlite_synchronous.clone(),
            readers: settings.sqlite_readers,
            cache_mib: settings.sqlite_cache_mib,
            card_cache: std::time::Duration::from_secs(settings.card_cache_s),
        };
        let store =
            tokio::task::spawn_blocking(move || kopilka_sqlite::SqliteStore::open(&path, &options))
                .await
                .map_err(StoreError::unavailable)??;
        Ok(Arc::new(store))
    } else {
        Err(AppError::DatabaseUrl(url.to_owned()))
    }
}

/// The outbox if one is set, else the webhook if one is set, else the log.
pub fn sms_sender(settings: &Settings) -> Result<Arc<dyn SmsSender>, AppError> {
    if let Some(path) = &settings.sms_outbox {
        return Ok(Arc::new(sms::OutboxSms::new(path.clone())));
    }
    if let Some(url) = &settings.sms_webhook_url {
        let token = settings
            .sms_webhook_token
            .as_ref()
            .map(|t| t.expose().to_owned());
        return Ok(Arc::new(
            sms::WebhookSms::new(url.clone(), token).map_err(ServiceError::from)?,
        ));
    }
    Ok(Arc::new(sms::LogSms))
}

/// The service core over the configured store.
pub async fn kopilka(settings: &Settings, deps: Dependencies) -> Result<Kopilka, AppError> {
    let store = open_store(settings).await?;
    let sms = match deps.sms {
        Some(sms) => sms,
        None => sms_sender(settings)?,
    };
    Ok(Kopilka::new(store, deps.clock, sms, settings.rules()?).await?)
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    /// `/metrics` on an address of its own, when one is set.
    metrics_listener: Option<(TcpListener, Router)>,
    kopilka: Kopilka,
    expiry_interval_s: u64,
    report_rollup_interval_s: u64,
    max_connections: usize,
    idle_connection: Duration,
}

impl Application {
    /// Opens the store and binds the listener (port 0 picks a free port).
    pub async fn build(settings: &Settings, deps: Dependencies) -> Result<Self, AppError> {
        let kopilka = kopilka(settings, deps).await?;
        let listener = TcpListener::bind(settings.listen).await?;
        let metrics = metrics::Metrics::new();
        kopilka.observe_security(metrics.clone());
        let router = router(kopilka.clone(), settings, metrics.clone())?;
        let metrics_listener = match settings.metrics_listen {
            Some(address) => Some((
                TcpListener::bind(address).await?,
                Router::new()
                    .route("/metrics", get(metrics::serve))
                    .with_state(metrics),
            )),
            None => None,
        };
        Ok(Self {
            listener,
            router,
            metrics_listener,
            kopilka,
            expiry_interval_s: settings.expiry_interval_s,
            report_rollup_interval_s: settings.report_rollup_interval_s,
            max_connections: settings.max_connections,
            // A connection waiting for its answer is not idle: never shorter than a request.
            idle_connection: Duration::from_secs(
                settings
                    .idle_connection_s
                    .max(settings.request_timeout_s + 1),
            ),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn kopilka(&self) -> &Kopilka {
        &self.kopilka
    }

    /// The port `/metrics` has to itself, when `metrics_listen` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        tokio::spawn(housekeeping(self.kopilka.clone()));
        if let Some((listener, router)) = self.metrics_listener {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            });
        }
        if self.expiry_interval_s > 0 {
            tokio::spawn(expiry_job(
                self.kopilka.clone(),
                Duration::from_secs(self.expiry_interval_s),
            ));
        }
        if self.report_rollup_interval_s > 0 {
            tokio::spawn(report_rollup(
                self.kopilka.clone(),
                Duration::from_secs(self.report_rollup_interval_s),
            ));
        }
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        if self.max_connections == 0 {
            return axum::serve(self.listener, service)
                .with_graceful_shutdown(shutdown_signal())
                .await;
        }
        // Through `tap_io`, whose connections axum knows how to give a `SocketAddr` for.
        let listener = connections::BoundedListener::new(
            self.listener,
            self.max_connections,
            self.idle_connection,
        )
        .tap_io(|_| {});
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown_signal())
            .await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

/// Periodic clean-up: forgets rate-limit counters, codes and sessions that can no longer matter.
async fn housekeeping(kopilka: Kopilka) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let before = kopilka.now() - chrono::Duration::days(2);
        if let Err(e) = kopilka.purge_expired(before).await {
            tracing::warn!(error = %e, "purging rate limits failed");
        }
    }
}

/// The expiry job (SPEC §3.6): every node may run it; each lot expires once because the
/// stores expire only lots that still have points, under lock.
async fn expiry_job(kopilka: Kopilka, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = kopilka.expire_points().await {
            tracing::warn!(error = %e, "expiry job failed");
        }
    }
}

/// Keeps the reports' daily aggregates up to date, so that reading a report only adds the
/// last minute's transfers; every node may run it (a batch applies once).
async fn report_rollup(kopilka: Kopilka, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = kopilka.roll_up_reports().await {
            tracing::warn!(error = %e, "reports' roll-up failed");
        }
    }
}

/// The whole HTTP surface with its middleware.
pub fn router(
    kopilka: Kopilka,
    settings: &Settings,
    metrics: Arc<metrics::Metrics>,
) -> Result<Router, SettingsError> {
    let (api, openapi) = api::router().split_for_parts();
    let state = AppState {
        kopilka,
        contacts: Arc::new(api::public::ContactsView {
            hotline: settings.hotline_phone.clone(),
            messenger: settings.messenger_phone.clone(),
            claims_email: settings.claims_email.clone(),
        }),
        metrics: metrics.clone(),
        openapi: Arc::new(openapi),
    };
    let request_id = header::HeaderName::from_static("x-request-id");
    let api = match settings.max_in_flight {
        0 => api,
        n => api.layer(axum::middleware::from_fn_with_state(
            Arc::new(tokio::sync::Semaphore::new(n)),
            shed::shed,
        )),
    };
    let https = settings
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    let contacts = kopilka_web::Contacts {
        hotline: settings.hotline_phone.clone(),
        messenger: settings.messenger_phone.clone(),
        claims_email: settings.claims_email.clone(),
    };
    let export: Arc<kopilka_web::ExportDocument> = Arc::new(|data| {
        serde_json::to_value(api::privacy::ExportView::from(data)).unwrap_or_default()
    });
    let web = kopilka_web::WebState::new(state.kopilka.clone(), https, contacts, export);
    let pages = kopilka_web::router(web.clone());
    let mut router = Router::new()
        .merge(pages)
        .nest("/api/v1", api)
        .route("/api/v1/openapi.json", get(docs::openapi_json))
        .route("/api/docs", get(docs::page))
        .route("/static/kopilka.css", get(docs::stylesheet))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    // With an address of its own, `/metrics` is not served to the API's clients.
    if settings.metrics_listen.is_none() {
        router = router.route("/metrics", get(metrics_text));
    }
    let edge = Arc::new(middleware::Edge {
        kopilka: state.kopilka.clone(),
        proxies: settings.trusted_proxies()?,
        time_limit: Duration::from_secs(settings.request_timeout_s),
        upload_time_limit: Duration::from_secs(settings.upload_timeout_s),
    });
    // An address outside the API asked for by a browser is a person's mistyped link: a page.
    // Anything else (a client, curl, an ops probe) gets the problem document.
    let fallback = move |request: Request<axum::body::Body>| {
        let web = web.clone();
        async move {
            let wants_page = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"));
            if wants_page && !request.uri().path().starts_with("/api/") {
                kopilka_web::not_found(web, request).await
            } else {
                not_found().await
            }
        }
    };
    Ok(router
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(edge, middleware::edge))
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                            // The route's template, never the path: paths carry card numbers and ids.
                            let route = req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |p| p.as_str());
                            tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id, ip = tracing::field::Empty, member_id = tracing::field::Empty)
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CatchPanicLayer::custom(|_| {
                    error::ApiError::new(error::ProblemCode::Internal).into_response()
                }))
                .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
                .layer(axum::extract::DefaultBodyLimit::max(settings.body_limit_bytes)),
        )
        .with_state(state))
}

async fn not_found() -> Response {
    error::ApiError::not_found().into_response()
}

async fn method_not_allowed() -> Response {
    error::ApiError::new(error::ProblemCode::MethodNotAllowed).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.kopilka.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "store not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store not reachable").into_response()
        }
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    metrics::serve(State(state.metrics)).await
}

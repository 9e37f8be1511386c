//! One typed settings struct. Each setting is a flag, an environment variable and a key in
//! `kopilka.toml`; flags win over the environment, which wins over the file, which wins over
//! the defaults (the spec's).

use kopilka_service::Rules;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A secret setting: never printed, not even by `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

macro_rules! settings {
    (
        values { $( #[doc = $doc:literal] $name:ident : $ty:ty = $default:expr, $env:literal; )* }
        optional { $( #[doc = $odoc:literal] $oname:ident : $oty:ty, $oenv:literal; )* }
    ) => {
        #[derive(Debug, Clone)]
        pub struct Settings {
            $( #[doc = $doc] pub $name: $ty, )*
            $( #[doc = $odoc] pub $oname: Option<$oty>, )*
        }

        impl Default for Settings {
            fn default() -> Self {
                Self { $( $name: $default, )* $( $oname: None, )* }
            }
        }

        /// The settings as flags (and their environment variables).
        #[derive(Debug, Clone, Default, clap::Args)]
        pub struct SettingsArgs {
            $( #[doc = $doc] #[arg(long, env = $env, global = true)] pub $name: Option<$ty>, )*
            $( #[doc = $odoc] #[arg(long, env = $oenv, global = true, hide_env_values = true)] pub $oname: Option<$oty>, )*
        }

        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FileSettings {
            $( $name: Option<$ty>, )*
            $( $oname: Option<$oty>, )*
        }

        impl Settings {
            fn merge(args: SettingsArgs, file: FileSettings) -> Self {
                let defaults = Settings::default();
                Self {
                    $( $name: args.$name.or(file.$name).unwrap_or(defaults.$name), )*
                    $( $oname: args.$oname.or(file.$oname), )*
                }
            }
        }
    };
}

settings! {
    values {
        /// Address to listen on.
        listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080)), "KOPILKA_LISTEN";
        /// `sqlite://PATH` (created and migrated on start) or `postgres://…`.
        database_url: String = "sqlite://kopilka.db".to_owned(), "KOPILKA_DATABASE_URL";
        /// PostgreSQL pool size (default: four per core).
        pg_max_connections: u32 = kopilka_postgres::default_connections(), "KOPILKA_PG_MAX_CONNECTIONS";
        /// PostgreSQL: seconds a node caches a customer session at most (0: off); changes reach every node on commit.
        pg_session_cache_s: u64 = 300, "KOPILKA_PG_SESSION_CACHE_S";
        /// Seconds a scanned card is cached with its holder, for the till's identify, quote and purchase of one sale (0: off); both stores forget a changed member on commit (PostgreSQL on every node).
        card_cache_s: u64 = 30, "KOPILKA_CARD_CACHE_S";
        /// SQLite `synchronous` pragma: `full` survives power loss, `normal` only a process crash.
        sqlite_synchronous: String = "full".to_owned(), "KOPILKA_SQLITE_SYNCHRONOUS";
        /// SQLite reader threads (default: two per core).
        sqlite_readers: usize = kopilka_sqlite::default_readers(), "KOPILKA_SQLITE_READERS";
        /// SQLite page cache of each connection, MiB.
        sqlite_cache_mib: u32 = 2, "KOPILKA_SQLITE_CACHE_MIB";
        /// Log format: `text` or `json`.
        log_format: String = "text".to_owned(), "KOPILKA_LOG_FORMAT";
        /// The chain's time zone (IANA name): calendar months and days are counted in it.
        timezone: String = "Europe/Moscow".to_owned(), "KOPILKA_TIMEZONE";
        /// Points credited at registration.
        welcome_points: i64 = 300, "KOPILKA_WELCOME_POINTS";
        /// Days until welcome points expire.
        welcome_lifetime_days: u32 = 90, "KOPILKA_WELCOME_LIFETIME_DAYS";
        /// Seconds an SMS code stays valid.
        otp_ttl_s: u64 = 300, "KOPILKA_OTP_TTL_S";
        /// Wrong tries that kill an SMS code.
        otp_max_attempts: u32 = 5, "KOPILKA_OTP_MAX_ATTEMPTS";
        /// Seconds before another code may be sent to the same phone.
        otp_resend_cooldown_s: u64 = 60, "KOPILKA_OTP_RESEND_COOLDOWN_S";
        /// Codes one phone may receive per day.
        otp_per_phone_daily: u32 = 10, "KOPILKA_OTP_PER_PHONE_DAILY";
        /// SMS-sending requests one IP address may make per hour.
        sms_per_ip_hourly: u32 = 60, "KOPILKA_SMS_PER_IP_HOURLY";
        /// Shortest customer password accepted (never below 6).
        password_min_chars: usize = 8, "KOPILKA_PASSWORD_MIN_CHARS";
        /// Shortest staff password accepted.
        staff_password_min_chars: usize = 12, "KOPILKA_STAFF_PASSWORD_MIN_CHARS";
        /// Failed password attempts on one account (phone and card share it) per window before it is paused.
        login_max_failures: u32 = 5, "KOPILKA_LOGIN_MAX_FAILURES";
        /// Failed password attempts from one IP address per window.
        login_ip_max_failures: u32 = 50, "KOPILKA_LOGIN_IP_MAX_FAILURES";
        /// Failed password attempts across all accounts per window (against password spraying).
        login_global_max_failures: u32 = 2000, "KOPILKA_LOGIN_GLOBAL_MAX_FAILURES";
        /// Seconds a window of failed logins lasts.
        login_failure_window_s: u64 = 900, "KOPILKA_LOGIN_FAILURE_WINDOW_S";
        /// Days a customer's session lasts.
        customer_session_days: u32 = 30, "KOPILKA_CUSTOMER_SESSION_DAYS";
        /// Days a customer's session ends after without a request.
        customer_session_idle_days: u32 = 14, "KOPILKA_CUSTOMER_SESSION_IDLE_DAYS";
        /// Hours a staff session lasts at most.
        staff_session_hours: u32 = 12, "KOPILKA_STAFF_SESSION_HOURS";
        /// Minutes a staff session ends after without a request.
        staff_session_idle_min: u32 = 30, "KOPILKA_STAFF_SESSION_IDLE_MIN";
        /// Staff roles (comma-separated) that must enrol a second factor (`kopilka staff totp`) to sign in.
        totp_required_roles: String = String::new(), "KOPILKA_TOTP_REQUIRED_ROLES";
        /// Card binding attempts one customer may make per day.
        card_bindings_daily: u32 = 5, "KOPILKA_CARD_BINDINGS_DAILY";
        /// Points a support operator may adjust in one call; above it, an administrator approves.
        support_adjustment_max: i64 = 5000, "KOPILKA_SUPPORT_ADJUSTMENT_MAX";
        /// Points (both directions added up) a support operator may adjust a day; beyond, approval.
        support_adjustment_daily: i64 = 20000, "KOPILKA_SUPPORT_ADJUSTMENT_DAILY";
        /// Points an administrator may adjust in one call; above it, another administrator approves.
        admin_adjustment_max: i64 = 100000, "KOPILKA_ADMIN_ADJUSTMENT_MAX";
        /// Tries to deliver one SMS before it is given up (the queue retries with growing pauses).
        sms_attempts: u32 = 5, "KOPILKA_SMS_ATTEMPTS";
        /// Milliseconds before the first retry of an SMS; each further pause doubles.
        sms_retry_ms: u64 = 1000, "KOPILKA_SMS_RETRY_MS";
        /// Seconds between a verified phone and the end of its registration form.
        registration_ttl_s: u64 = 1800, "KOPILKA_REGISTRATION_TTL_S";
        /// Version of the consent texts customers agree to.
        consent_version: String = "2026-11".to_owned(), "KOPILKA_CONSENT_VERSION";
        /// The balance lists points that expire within this many days.
        expiring_window_days: u32 = 90, "KOPILKA_EXPIRING_WINDOW_DAYS";
        /// Youngest age at which one may join.
        min_age_years: u32 = 14, "KOPILKA_MIN_AGE_YEARS";
        /// Reverse proxies (addresses or CIDRs, comma-separated) whose `X-Forwarded-For` is believed: the client is the rightmost hop not among them.
        trusted_proxies: String = String::new(), "KOPILKA_TRUSTED_PROXIES";
        /// With no trusted proxies listed: believe exactly one `X-Forwarded-For` hop (the rightmost) from any peer.
        trust_forwarded_for: bool = false, "KOPILKA_TRUST_FORWARDED_FOR";
        /// Largest request body accepted, in bytes.
        body_limit_bytes: usize = 64 * 1024, "KOPILKA_BODY_LIMIT_BYTES";
        /// Seconds a request may take before it is answered 503.
        request_timeout_s: u64 = 30, "KOPILKA_REQUEST_TIMEOUT_S";
        /// Seconds a catalogue file's upload may take, read and written (a million rows).
        upload_timeout_s: u64 = 300, "KOPILKA_UPLOAD_TIMEOUT_S";
        /// API requests served at once; more are refused with 503 `overloaded` (0: no limit).
        max_in_flight: usize = 1024, "KOPILKA_MAX_IN_FLIGHT";
        /// Client connections held open at once; more wait to be accepted (0: no limit).
        max_connections: usize = 4096, "KOPILKA_MAX_CONNECTIONS";
        /// Seconds a bounded connection may stay idle before it is closed (at least a request's timeout).
        idle_connection_s: u64 = 75, "KOPILKA_IDLE_CONNECTION_S";
        /// Kopecks paid in money per point earned (1000: 1 point per 10 roubles).
        kopecks_per_point: i64 = 1000, "KOPILKA_KOPECKS_PER_POINT";
        /// Earning multiplier in the customer's favourite category.
        favourite_multiplier: i64 = 2, "KOPILKA_FAVOURITE_MULTIPLIER";
        /// Kopecks one point pays (100: 1 point = 1 rouble).
        kopecks_per_redeemed_point: i64 = 100, "KOPILKA_KOPECKS_PER_REDEEMED_POINT";
        /// Share of a receipt points may pay, in percent.
        max_redeem_percent: i64 = 99, "KOPILKA_MAX_REDEEM_PERCENT";
        /// Receipts per card per day that earn points.
        earning_receipts_per_day: u32 = 5, "KOPILKA_EARNING_RECEIPTS_PER_DAY";
        /// Whether self-checkout tills earn points.
        self_checkout_earns: bool = false, "KOPILKA_SELF_CHECKOUT_EARNS";
        /// Whether points may be spent at self-checkout tills.
        self_checkout_redeems: bool = true, "KOPILKA_SELF_CHECKOUT_REDEEMS";
        /// Category ids (comma-separated) whose lines earn nothing, with their subcategories.
        excluded_categories: String = "8".to_owned(), "KOPILKA_EXCLUDED_CATEGORIES";
        /// Months until earned points expire.
        points_lifetime_months: u32 = 12, "KOPILKA_POINTS_LIFETIME_MONTHS";
        /// Days earned points stay pending before they can be spent (0: available at once).
        accrual_pending_days: u32 = 0, "KOPILKA_ACCRUAL_PENDING_DAYS";
        /// Days after a card is bound during which its points cannot be spent.
        spend_lock_days: u32 = 0, "KOPILKA_SPEND_LOCK_DAYS";
        /// Seconds a one-time card code works.
        card_token_ttl_s: u64 = 120, "KOPILKA_CARD_TOKEN_TTL_S";
        /// Days a till that was offline has to upload a receipt.
        offline_receipt_max_age_days: u32 = 7, "KOPILKA_OFFLINE_RECEIPT_MAX_AGE_DAYS";
        /// Seconds between runs of the expiry job in `serve` (0: never).
        expiry_interval_s: u64 = 3600, "KOPILKA_EXPIRY_INTERVAL_S";
        /// Lots expired per transaction.
        expiry_batch: u32 = 5000, "KOPILKA_EXPIRY_BATCH";
        /// Expiry workers at once, each over its own share of the members (SQLite: always one).
        expiry_workers: u32 = 2, "KOPILKA_EXPIRY_WORKERS";
        /// Public feedback forms accepted per hour from one IP address or one contact.
        feedback_per_hour: u32 = 5, "KOPILKA_FEEDBACK_PER_HOUR";
        /// Seconds a checked till key is trusted without asking the store (0: always ask).
        till_key_cache_s: u64 = 1, "KOPILKA_TILL_KEY_CACHE_S";
        /// Seconds a report waits for ledger writes in flight (PostgreSQL; 0: reads at once).
        report_settle_s: u64 = 60, "KOPILKA_REPORT_SETTLE_S";
        /// Seconds between runs of the reports' roll-up in `serve` (0: only when read).
        report_rollup_interval_s: u64 = 60, "KOPILKA_REPORT_ROLLUP_INTERVAL_S";
        /// The hotline number shown in contacts.
        hotline_phone: String = "8 800 100-00-00".to_owned(), "KOPILKA_HOTLINE_PHONE";
        /// The messenger number shown in contacts.
        messenger_phone: String = "+7 900 100-00-00".to_owned(), "KOPILKA_MESSENGER_PHONE";
        /// The e-mail address for claims shown in contacts.
        claims_email: String = "claims@kopilka.example".to_owned(), "KOPILKA_CLAIMS_EMAIL";
        /// The employer's name on employees' documents.
        company_name: String = "ООО «Копилка»".to_owned(), "KOPILKA_COMPANY_NAME";
        /// The employer's INN.
        company_inn: String = "7700000000".to_owned(), "KOPILKA_COMPANY_INN";
        /// The employer's KPP.
        company_kpp: String = "770001001".to_owned(), "KOPILKA_COMPANY_KPP";
        /// The employer's OGRN.
        company_ogrn: String = "1027700000000".to_owned(), "KOPILKA_COMPANY_OGRN";
        /// The employer's legal address.
        company_address: String = "123000, г. Москва, ул. Примерная, д. 1".to_owned(), "KOPILKA_COMPANY_ADDRESS";
        /// Who signs employees' documents: `position: name` pairs separated by `;`.
        company_signatories: String = "Генеральный директор: И. И. Иванов; Главный бухгалтер: М. П. Петрова".to_owned(), "KOPILKA_COMPANY_SIGNATORIES";
        /// Working days HR has to make a document (art. 62 of the Labour Code: 3).
        document_deadline_days: u32 = 3, "KOPILKA_DOCUMENT_DEADLINE_DAYS";
        /// Weekdays off (holidays and days moved by decree), `YYYY-MM-DD`, comma-separated: the production calendar.
        days_off: String = DAYS_OFF_2026.to_owned(), "KOPILKA_DAYS_OFF";
        /// Weekends that are working days by decree, `YYYY-MM-DD`, comma-separated.
        working_weekends: String = String::new(), "KOPILKA_WORKING_WEEKENDS";
        /// Document types made at once from the data when an employee asks (comma-separated).
        documents_made_at_once: String = "payslip".to_owned(), "KOPILKA_DOCUMENTS_MADE_AT_ONCE";
    }
    optional {
        /// Append every SMS to this file as a JSON line instead of sending it.
        sms_outbox: PathBuf, "KOPILKA_SMS_OUTBOX";
        /// Send SMS by POSTing `{phone, text}` as JSON to this URL.
        sms_webhook_url: String, "KOPILKA_SMS_WEBHOOK_URL";
        /// Bearer token for the SMS webhook.
        sms_webhook_token: Secret, "KOPILKA_SMS_WEBHOOK_TOKEN";
        /// The service's public base URL (default: `http://` and the listen address); `https://` makes cookies `Secure`.
        public_url: String, "KOPILKA_PUBLIC_URL";
        /// Serve `/metrics` on this address only (not on the API's listener).
        metrics_listen: SocketAddr, "KOPILKA_METRICS_LISTEN";
        /// Key for hashing SMS codes (at least 32 characters); without it the store keeps one, which suits a single box.
        secret_key: Secret, "KOPILKA_SECRET_KEY";
    }
}

/// The weekdays off of 2026 by the government's decree (New Year holidays, 23 February,
/// 9 March for the 8th, 1 May, 11 May for the 9th, 12 June, 4 November, 31 December).
const DAYS_OFF_2026: &str = "2026-01-01,2026-01-02,2026-01-05,2026-01-06,2026-01-07,2026-01-08,\
     2026-01-09,2026-02-23,2026-03-09,2026-05-01,2026-05-11,2026-06-12,2026-11-04,2026-12-31";

fn dates(
    name: &str,
    list: &str,
) -> Result<std::collections::BTreeSet<chrono::NaiveDate>, SettingsError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                SettingsError::Invalid(format!("{name}: {s:?} is not a YYYY-MM-DD date"))
            })
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Settings {
    /// Merges flags and environment (`args`) over the file at `config` (or `kopilka.toml`
    /// if it exists) over the defaults.
    pub fn load(args: SettingsArgs, config: Option<&Path>) -> Result<Self, SettingsError> {
        let default_path = Path::new("kopilka.toml");
        let path = match config {
            Some(p) => Some(p),
            None => default_path.exists().then_some(default_path),
        };
        let file = match path {
            None => FileSettings::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| SettingsError::Parse {
                    path: path.to_owned(),
                    source,
                })?
            }
        };
        let settings = Self::merge(args, file);
        settings.rules()?;
        settings.trusted_proxies()?;
        Ok(settings)
    }

    /// Whose `X-Forwarded-For` to believe.
    pub fn trusted_proxies(&self) -> Result<crate::client_ip::TrustedProxies, SettingsError> {
        crate::client_ip::TrustedProxies::new(&self.trusted_proxies, self.trust_forwarded_for)
            .map_err(|e| SettingsError::Invalid(format!("trusted_proxies: {e}")))
    }

    /// Employees' documents: the employer, the calendar, the deadline.
    fn document_rules(&self) -> Result<kopilka_service::documents::DocumentRules, SettingsError> {
        use kopilka_domain::employee::{DocumentType, WorkCalendar};
        let signatories = self
            .company_signatories
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (position, name) = s.split_once(':').ok_or_else(|| {
                    SettingsError::Invalid(format!(
                        "company_signatories: {s:?} is not «position: name»"
                    ))
                })?;
                Ok(kopilka_documents::Signatory {
                    position: position.trim().to_owned(),
                    name: name.trim().to_owned(),
                })
            })
            .collect::<Result<_, SettingsError>>()?;
        let made_at_once = self
            .documents_made_at_once
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                DocumentType::parse(s)
                    .filter(|t| t.made_from_data())
                    .ok_or_else(|| {
                        SettingsError::Invalid(format!(
                            "documents_made_at_once: {s:?} is not a type made from data"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(kopilka_service::documents::DocumentRules {
            deadline_working_days: self.document_deadline_days,
            calendar: WorkCalendar {
                days_off: dates("days_off", &self.days_off)?,
                working_weekends: dates("working_weekends", &self.working_weekends)?,
            },
            made_at_once,
            company: kopilka_documents::Company {
                name: self.company_name.clone(),
                inn: self.company_inn.clone(),
                kpp: self.company_kpp.clone(),
                ogrn: self.company_ogrn.clone(),
                address: self.company_address.clone(),
                signatories,
            },
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.listen)),
        })
    }

    /// The business rules these settings describe.
    pub fn rules(&self) -> Result<Rules, SettingsError> {
        let timezone = self.timezone.parse().map_err(|_| {
            SettingsError::Invalid(format!("unknown time zone {:?}", self.timezone))
        })?;
        let seconds =
            |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
        Ok(Rules {
            timezone,
            welcome_points: self.welcome_points,
            welcome_lifetime_days: self.welcome_lifetime_days,
            otp_ttl: seconds(self.otp_ttl_s),
            otp_max_attempts: self.otp_max_attempts.max(1),
            otp_resend_cooldown: seconds(self.otp_resend_cooldown_s),
            otp_per_phone_daily: self.otp_per_phone_daily,
            sms_per_ip_hourly: self.sms_per_ip_hourly,
            password_min_chars: self.password_min_chars,
            login_max_failures: self.login_max_failures.max(1),
            login_ip_max_failures: self.login_ip_max_failures.max(1),
            login_global_max_failures: self.login_global_max_failures.max(1),
            staff_password_min_chars: self
                .staff_password_min_chars
                .max(kopilka_domain::password::MIN_CHARS_FLOOR),
            customer_session_idle: chrono::Duration::days(i64::from(
                self.customer_session_idle_days.max(1),
            )),
            staff_session_idle: chrono::Duration::minutes(i64::from(
                self.staff_session_idle_min.max(1),
            )),
            totp_required_roles: self
                .totp_required_roles
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse()
                        .map_err(|e| SettingsError::Invalid(format!("totp_required_roles: {e}")))
                })
                .collect::<Result<_, _>>()?,
            card_bindings_daily: self.card_bindings_daily,
            sms_retries: kopilka_service::sms::Retries {
                attempts: self.sms_attempts.max(1),
                first_pause: std::time::Duration::from_millis(self.sms_retry_ms),
            },
            support_adjustment_max: self.support_adjustment_max.max(0),
            support_adjustment_daily: self.support_adjustment_daily.max(0),
            admin_adjustment_max: self.admin_adjustment_max.max(0),
            secret_key: match &self.secret_key {
                None => None,
                Some(key) if key.expose().len() >= 32 => Some(
                    kopilka_service::crypto::SecretKey::from_setting(key.expose()),
                ),
                Some(_) => {
                    return Err(SettingsError::Invalid(
                        "secret_key must be at least 32 characters".into(),
                    ))
                }
            },
            login_failure_window: seconds(self.login_failure_window_s),
            customer_session_ttl: chrono::Duration::days(i64::from(self.customer_session_days)),
            staff_session_ttl: chrono::Duration::hours(i64::from(self.staff_session_hours)),
            registration_ttl: seconds(self.registration_ttl_s),
            consent_version: self.consent_version.clone(),
            expiring_window_days: self.expiring_window_days,
            min_age_years: self.min_age_years,
            earning: kopilka_domain::earning::EarningRules {
                kopecks_per_point: positive(self.kopecks_per_point, "kopecks_per_point")?,
                favourite_multiplier: self.favourite_multiplier.max(1),
                kopecks_per_redeemed_point: positive(
                    self.kopecks_per_redeemed_point,
                    "kopecks_per_redeemed_point",
                )?,
                max_redeem_percent: self.max_redeem_percent.clamp(0, 100),
                earning_receipts_per_day: self.earning_receipts_per_day,
                self_checkout_earns: self.self_checkout_earns,
                self_checkout_redeems: self.self_checkout_redeems,
            },
            excluded_categories: self
                .excluded_categories
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse().map_err(|_| {
                        SettingsError::Invalid(format!(
                            "excluded_categories: {s:?} is not a category id"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            points_lifetime_months: self.points_lifetime_months,
            spend_lock_days: self.spend_lock_days,
            accrual_pending: chrono::Duration::days(i64::from(self.accrual_pending_days)),
            card_token_ttl: seconds(self.card_token_ttl_s),
            offline_receipt_max_age: chrono::Duration::days(i64::from(
                self.offline_receipt_max_age_days,
            )),
            expiry_batch: self.expiry_batch.max(1),
            expiry_workers: self.expiry_workers.max(1),
            feedback_per_hour: self.feedback_per_hour,
            till_key_cache: std::time::Duration::from_secs(self.till_key_cache_s),
            // No transaction runs for a day: a day caps what chrono can hold anyway.
            report_settle: chrono::Duration::seconds(
                i64::try_from(self.report_settle_s.min(SECONDS_A_DAY)).unwrap_or_default(),
            ),
            documents: self.document_rules()?,
            ..Rules::default()
        })
    }
}

const SECONDS_A_DAY: u64 = 86_400;

fn positive(value: i64, name: &str) -> Result<i64, SettingsError> {
    if value > 0 {
        Ok(value)
    } else {
        Err(SettingsError::Invalid(format!("{name} must be positive")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(
            &path,
            "welcome_points = 500\notp_ttl_s = 120\nsms_outbox = \"/tmp/o.jsonl\"\n",
        )
        .unwrap();
        let args = SettingsArgs {
            otp_ttl_s: Some(60),
            ..Default::default()
        };
        let s = Settings::load(args, Some(&path)).unwrap();
        assert_eq!(s.welcome_points, 500);
        assert_eq!(s.otp_ttl_s, 60);
        assert_eq!(s.otp_max_attempts, 5);
        assert_eq!(s.sms_outbox, Some(PathBuf::from("/tmp/o.jsonl")));
        assert_eq!(s.database_url, "sqlite://kopilka.db");
    }

    #[test]
    fn unknown_keys_and_bad_zones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(&path, "welcome_pionts = 500\n").unwrap();
        assert!(Settings::load(SettingsArgs::default(), Some(&path)).is_err());
        let args = SettingsArgs {
            timezone: Some("Mars/Olympus".into()),
            ..Default::default()
        };
        assert!(Settings::load(args, None).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let s: Secret = "hunter2".parse().unwrap();
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}

use chrono::Duration;
use chrono_tz::Tz;

/// The business settings the use cases follow. Built from the server's settings; the defaults
/// are the spec's.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The chain's time zone: calendar months and days are counted in it (SPEC §1.6).
    pub timezone: Tz,
    pub welcome_points: i64,
    pub welcome_lifetime_days: u32,
    pub otp_ttl: Duration,
    pub otp_max_attempts: u32,
    pub otp_resend_cooldown: Duration,
    pub otp_per_phone_daily: u32,
    pub sms_per_ip_hourly: u32,
    pub password_min_chars: usize,
    /// Password attempts one account (customer or staff) may fail per window; phone and card
    /// number share the account's budget.
    pub login_max_failures: u32,
    /// Failed password attempts from one IP address per window.
    pub login_ip_max_failures: u32,
    /// Failed password attempts across all accounts per window, against spraying.
    pub login_global_max_failures: u32,
    pub login_failure_window: Duration,
    pub customer_session_ttl: Duration,
    pub staff_session_ttl: Duration,
    /// A staff session ends after this long without a request.
    pub staff_session_idle: Duration,
    /// A customer session ends after this long without a request.
    pub customer_session_idle: Duration,
    /// Shortest staff password.
    pub staff_password_min_chars: usize,
    /// Roles that must enrol a second factor before they may sign in.
    pub totp_required_roles: Vec<kopilka_domain::staff::Role>,
    /// Card binding attempts one customer may make per day.
    pub card_bindings_daily: u32,
    /// Points a support operator may adjust in one call, and in one day.
    pub support_adjustment_max: i64,
    pub support_adjustment_daily: i64,
    /// The most points an administrator adjusts alone; beyond it another administrator approves.
    pub admin_adjustment_max: i64,
    /// How the SMS queue retries a message the provider refused.
    pub sms_retries: crate::sms::Retries,
    /// The key one-time codes are hashed with, from the settings; the store's own otherwise.
    pub secret_key: Option<crate::crypto::SecretKey>,
    pub registration_ttl: Duration,
    pub consent_version: String,
    /// The balance lists points that expire within this many days.
    pub expiring_window_days: u32,
    pub min_age_years: u32,
    pub history_page_max: u32,
    /// How far back the favourite category's chooser looks at the customer's purchases.
    pub favourite_lookback_months: u32,
    pub earning: kopilka_domain::earning::EarningRules,
    /// Categories whose lines earn nothing (with everything below them).
    pub excluded_categories: Vec<i64>,
    /// Months until earned points expire (SPEC §3.6).
    pub points_lifetime_months: u32,
    /// Earned points wait this long before they can be spent (a return window; 0: never).
    pub accrual_pending: Duration,
    /// Spending is locked for this many days after a card is bound (SPEC §3.9).
    pub spend_lock_days: u32,
    /// How long a one-time card code works.
    pub card_token_ttl: Duration,
    /// How old a receipt uploaded by a till that was offline may be.
    pub offline_receipt_max_age: Duration,
    /// How far ahead of the server's clock a till's clock may run.
    pub till_clock_skew: Duration,
    /// Lots expired per transaction by the expiry job.
    pub expiry_batch: u32,
    /// Expiry workers running at once, each over its own share of the members.
    pub expiry_workers: u32,
    /// Public feedback forms accepted per hour from one IP address or one contact.
    pub feedback_per_hour: u32,
    /// How long a till key, once checked, is trusted without asking the store again.
    pub till_key_cache: std::time::Duration,
    /// Longer than any writer's transaction runs: the reports' roll-up reads ledger ids only
    /// once they were seen this long ago (`reports`), so none committed late is skipped.
    pub report_settle: Duration,
    /// Employees' documents: deadline, calendar, what is made at once, the employer.
    pub documents: crate::documents::DocumentRules,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            timezone: chrono_tz::Europe::Moscow,
            welcome_points: 300,
            welcome_lifetime_days: 90,
            otp_ttl: Duration::minutes(5),
            otp_max_attempts: 5,
            otp_resend_cooldown: Duration::seconds(60),
            otp_per_phone_daily: 10,
            sms_per_ip_hourly: 60,
            password_min_chars: 8,
            login_max_failures: 5,
            login_ip_max_failures: 50,
            login_global_max_failures: 2000,
            login_failure_window: Duration::minutes(15),
            customer_session_ttl: Duration::days(30),
            staff_session_ttl: Duration::hours(12),
            staff_session_idle: Duration::minutes(30),
            customer_session_idle: Duration::days(14),
            staff_password_min_chars: 12,
            totp_required_roles: Vec::new(),
            card_bindings_daily: 5,
            support_adjustment_max: 5_000,
            support_adjustment_daily: 20_000,
            admin_adjustment_max: 100_000,
            secret_key: None,
            sms_retries: crate::sms::Retries {
                attempts: 5,
                first_pause: std::time::Duration::from_secs(1),
            },
            registration_ttl: Duration::minutes(30),
            consent_version: "2026-11".to_owned(),
            expiring_window_days: 90,
            min_age_years: 14,
            history_page_max: 100,
            favourite_lookback_months: 3,
            earning: kopilka_domain::earning::EarningRules::default(),
            excluded_categories: vec![8],
            points_lifetime_months: 12,
            accrual_pending: Duration::zero(),
            spend_lock_days: 0,
            card_token_ttl: Duration::seconds(120),
            offline_receipt_max_age: Duration::days(7),
            till_clock_skew: Duration::minutes(5),
            expiry_batch: 5000,
            expiry_workers: 2,
            feedback_per_hour: 5,
            till_key_cache: std::time::Duration::from_secs(30),
            report_settle: Duration::seconds(60),
            documents: crate::documents::DocumentRules::default(),
        }
    }
}

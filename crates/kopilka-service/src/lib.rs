//! Kopilka's use cases: what a customer, a till or a staff member can do, as async functions
//! over the storage traits, an SMS sender and a clock. No HTTP here and no SQL: the server
//! crate turns requests into these calls, the store crates keep the data.

pub mod adjustments;
mod attempts;
pub mod auth;
pub mod cards;
pub mod care;
pub mod catalog;
mod catalog_cache;
pub mod catalog_files;
pub mod crypto;
pub mod documents;
pub mod employee_messages;
pub mod employees;
mod error;
pub mod marketing;
pub mod offers;
pub mod paper_forms;
pub mod payroll;
pub mod pos;
pub mod privacy;
pub mod profile;
pub mod purchases;
pub mod registration;
pub mod reports;
pub mod rules;
pub mod security;
pub mod seeding;
pub mod sms;
pub mod staff;
pub mod support;
mod till_cache;
pub mod tills;

pub use error::ServiceError;
pub use rules::Rules;

use kopilka_domain::Clock;
use kopilka_store::Store;
use std::sync::Arc;

pub type ServiceResult<T> = Result<T, ServiceError>;

/// The application core, cheap to clone: every handler holds one.
#[derive(Clone)]
pub struct Kopilka {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    sms: sms::SmsQueue,
    rules: Rules,
    /// Key for hashing one-time codes; shared by every node through the store.
    secret: crypto::SecretKey,
    categories: catalog_cache::CategoryCache,
    tills: till_cache::TillCache,
    security: std::sync::OnceLock<Arc<dyn security::SecurityObserver>>,
}

impl Kopilka {
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        sms: Arc<dyn sms::SmsSender>,
        rules: Rules,
    ) -> ServiceResult<Self> {
        let secret = match &rules.secret_key {
            Some(key) => key.clone(),
            None => crypto::SecretKey::load_or_create(store.as_ref()).await?,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                clock,
                sms: sms::SmsQueue::start(sms, rules.sms_retries),
                rules,
                secret,
                categories: catalog_cache::CategoryCache::default(),
                tills: till_cache::TillCache::default(),
                security: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Waits until every SMS queued so far was delivered or given up.
    pub async fn sms_flushed(&self) {
        self.inner.sms.flushed().await
    }

    pub fn rules(&self) -> &Rules {
        &self.inner.rules
    }

    /// The store is reached only through the use cases, which own authorization.
    pub(crate) fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    /// The store itself, for integration tests that set up states no use case makes.
    #[cfg(feature = "test-support")]
    pub fn store_for_tests(&self) -> &dyn Store {
        self.store()
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    /// Today's date in the chain's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now()
            .with_timezone(&self.inner.rules.timezone)
            .date_naive()
    }
}

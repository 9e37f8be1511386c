//! The storage seam. The service layer speaks only these traits; `kopilka-sqlite` and
//! `kopilka-postgres` implement all of them, and the integration suite runs every story on
//! both. Each method is one atomic unit: an implementation commits all of it or none of it.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::ledger::{Balance, HistoryEntry, LedgerTotals, TransferId};
use kopilka_domain::member::{CategoryId, Consents, Member, MemberId, Profile, StoreId};
use kopilka_domain::staff::{Role, StaffId};
use kopilka_domain::{CardKind, CardNumber, CardStatus, Phone};

pub mod approvals;
mod cards;
#[cfg(feature = "test-util")]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed contract
pub mod contract;
pub mod employee_messages;
pub mod employees;
mod marketing;
pub mod member_cache;
#[cfg(feature = "test-util")]
pub mod migrations;
mod pos;
mod privacy;
mod receipts;
mod records;
pub mod reports;
mod support;
#[cfg(feature = "test-util")]
pub mod test_database;
#[cfg(feature = "test-util")]
pub mod test_postgres;
pub use cards::*;
pub use marketing::*;
pub use pos::*;
pub use privacy::*;
pub use receipts::*;
pub use records::*;
pub use support::*;

/// Any error a database driver or the runtime gives, kept whole so its chain can be logged.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write; the name says which (`phone`, `card_number`, …).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The database cannot be reached, or is too busy to answer now: a client may retry.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The database failed in a way no retry fixes.
    #[error("store failure: {0}")]
    Backend(#[source] BoxError),
    /// A stored value does not read back as the type it was written from.
    #[error("stored data does not read back: {0}")]
    Corrupt(String),
    /// A rule checked inside the transaction refused the write.
    #[error(transparent)]
    Rule(#[from] kopilka_domain::DomainError),
}

impl StoreError {
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        StoreError::Unavailable(source.into())
    }

    pub fn backend(source: impl Into<BoxError>) -> Self {
        StoreError::Backend(source.into())
    }

    /// `source`, saying what was being done when it happened.
    pub fn unavailable_while(doing: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Unavailable(While::boxed(doing, source))
    }

    pub fn backend_while(doing: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Backend(While::boxed(doing, source))
    }
}

/// An error with what was being done when it happened; its source is the error itself.
#[derive(Debug, thiserror::Error)]
#[error("{doing}: {source}")]
struct While {
    doing: String,
    #[source]
    source: BoxError,
}

impl While {
    fn boxed(doing: impl Into<String>, source: impl Into<BoxError>) -> BoxError {
        Box::new(While {
            doing: doing.into(),
            source: source.into(),
        })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Members: Send + Sync {
    /// Creates the member, their card, their consents and ledger account, and credits the
    /// welcome lot, consuming the registration token. `NotFound` if the token is no longer
    /// valid; `Conflict("phone")` or `Conflict("card_number")` on a taken phone or number.
    async fn register(&self, registration: Registration) -> StoreResult<(Member, Card)>;
    /// `None` for a deleted account too: it is nobody's any more.
    async fn member(&self, id: MemberId) -> StoreResult<Option<Member>>;
    async fn member_by_phone(&self, phone: &Phone) -> StoreResult<Option<Member>>;
    /// The member a card belongs to, whatever the card's status.
    async fn member_by_card(&self, number: &CardNumber) -> StoreResult<Option<(Member, Card)>>;
    /// Members found by e-mail or by the start of their name, in (`name_key`, id) order after
    /// `after`, at most `limit`; deleted accounts are not found.
    async fn find_members(
        &self,
        search: &MemberSearch,
        after: Option<&MemberCursor>,
        limit: u32,
    ) -> StoreResult<Vec<Member>>;
    async fn password_hash(&self, id: MemberId) -> StoreResult<Option<String>>;
    async fn set_password(&self, id: MemberId, password_hash: &str) -> StoreResult<()>;
    /// Replaces the profile fields other than the favourite category, and the consents.
    async fn update_profile(
        &self,
        id: MemberId,
        profile: &Profile,
        consents: &Consents,
    ) -> StoreResult<Member>;
    /// Sets the favourite category unless it was already set at or after `locked_since`;
    /// returns whether it was set. Check and write are one step, so two requests in the same
    /// month cannot both win.
    async fn set_favourite_category(
        &self,
        id: MemberId,
        category: CategoryId,
        at: DateTime<Utc>,
        locked_since: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn cards(&self, member: MemberId) -> StoreResult<Vec<Card>>;
    /// Adds members in one transaction. Members whose phone is taken are skipped; a member
    /// whose card number is taken is added without a card (`None`), for the caller to give
    /// another. Returns the members added.
    async fn import_members(
        &self,
        members: Vec<ImportedMember>,
    ) -> StoreResult<Vec<(MemberId, Option<CardNumber>)>>;
    async fn member_count(&self) -> StoreResult<i64>;
    /// Brings the query planner's picture of the member tables up to date after a bulk
    /// import, so that the first queries afterwards are planned on the tables' real sizes.
    async fn refresh_statistics(&self) -> StoreResult<()>;
    /// For the member's data export: their consent history and every purchase with its
    /// lines. One read transaction, so the two agree.
    async fn member_records(&self, member: MemberId) -> StoreResult<MemberRecords>;
    /// Deletes the account, in one transaction: every customer session of the member ends,
    /// every card of theirs is blocked, the personal data (names, gender, birth date, city,
    /// e-mail, favourite store, the contacts on their tickets, the password) is erased and
    /// the phone freed for anyone to register with, the consents are withdrawn and logged,
    /// the available and pending points are forfeited to `system:forfeit` lot by lot (a debt
    /// stays as it is), and the audit row is written. The ledger keeps its rows, pointing at
    /// the member's id. `NotFound` without the member, or when already deleted; afterwards
    /// `member` finds nobody, while the till still finds the blocked cards.
    async fn erase_member(&self, erasure: Erasure) -> StoreResult<Erased>;
}

#[async_trait]
pub trait Sessions: Send + Sync {
    async fn create_session(&self, session: NewSession) -> StoreResult<()>;
    /// The session with this token hash if it is of `kind`, not revoked and not expired.
    async fn session(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>>;
    /// The member a live customer session (`TokenKind::Customer`) stands for, with the
    /// session: one read, since every customer request starts with it.
    async fn session_member(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(Member, Session)>>;
    /// Records that the session was used at `at` (callers do so at most once a minute or so).
    async fn touch_session(
        &self,
        kind: TokenKind,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The subject's sessions of `kind` that are neither revoked nor expired, newest first.
    async fn sessions_of(
        &self,
        kind: TokenKind,
        subject: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>>;
    async fn revoke_session(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Ends one of the subject's sessions by id; false if it was not theirs or already ended.
    async fn revoke_session_id(
        &self,
        kind: TokenKind,
        subject: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Ends every session of the subject, but the one with id `except`.
    async fn revoke_sessions_of(
        &self,
        kind: TokenKind,
        subject: i64,
        now: DateTime<Utc>,
        except: Option<i64>,
    ) -> StoreResult<u64>;
}

#[async_trait]
pub trait Otps: Send + Sync {
    /// Stores a new challenge and retires every earlier live one for the same phone and
    /// purpose, so only the newest code works.
    async fn create_otp(&self, otp: NewOtp) -> StoreResult<i64>;
    /// The newest challenge for the phone and purpose that was not used up.
    async fn latest_otp(
        &self,
        phone: &Phone,
        purpose: OtpPurpose,
    ) -> StoreResult<Option<OtpChallenge>>;
    /// Claims one try of the code before it is compared, unless `max` tries were claimed
    /// already: returns the tries so far including this one, or `None` (nothing counted).
    /// One statement, so concurrent tries cannot all be compared against a count read before.
    async fn claim_otp_attempt(&self, id: i64, max: u32) -> StoreResult<Option<u32>>;
    /// Marks the challenge used; false if it already was (a concurrent verify won).
    async fn consume_otp(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;
}

/// Counters for rate limits and cooldowns, kept in the store so that several app nodes
/// share them.
#[async_trait]
pub trait Limits: Send + Sync {
    /// Counts one event under `key` in the window that starts at `window_start`; returns the
    /// count including this one.
    async fn hit(&self, key: &str, window_start: DateTime<Utc>) -> StoreResult<u32>;
    /// Adds `amount` under `key` unless the window's count would pass `max`: returns the
    /// count including it, or `None` when the budget cannot take it (nothing counted). Check
    /// and count are one statement, so concurrent requests cannot overdraw the budget.
    async fn claim(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        amount: u32,
        max: u32,
    ) -> StoreResult<Option<u32>>;
    /// Gives back `amount` claimed under `key` (a claim that was not spent after all).
    async fn release(&self, key: &str, window_start: DateTime<Utc>, amount: u32)
        -> StoreResult<()>;
    /// The count under `key` in the window that starts at `window_start`, without adding.
    async fn peek(&self, key: &str, window_start: DateTime<Utc>) -> StoreResult<u32>;
    /// Starts a cooldown that lasts until `until`, unless one is running: then returns the
    /// running one's end and starts nothing.
    async fn start_cooldown(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// Forgets counters, cooldowns, one-time codes and sessions that ended before `before`
    /// (they cannot matter any more, and the tables would grow without end).
    async fn purge_expired(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

#[async_trait]
pub trait Ledger: Send + Sync {
    /// Available points (what lots available by `now` hold, or a debt) and pending points
    /// (lots not yet available), and the lots that expire by `expiring_before`
    /// grouped by expiry instant, soonest first.
    async fn ledger_balance(
        &self,
        member: MemberId,
        now: DateTime<Utc>,
        expiring_before: Option<DateTime<Utc>>,
    ) -> StoreResult<Balance>;
    /// Newest first; `before` is the id of the last item of the previous page.
    async fn history(
        &self,
        member: MemberId,
        limit: u32,
        before: Option<TransferId>,
    ) -> StoreResult<Vec<HistoryEntry>>;
    async fn totals(&self) -> StoreResult<LedgerTotals>;
}

#[async_trait]
pub trait Catalog: Send + Sync {
    /// Inserts or updates by id; used by the demo seed and catalogue imports.
    async fn upsert_categories(&self, categories: &[Category]) -> StoreResult<()>;
    async fn categories(&self) -> StoreResult<Vec<Category>>;
    async fn category_exists(&self, id: CategoryId) -> StoreResult<bool>;
    async fn upsert_stores(&self, stores: &[StoreLocation]) -> StoreResult<()>;
    async fn stores(&self) -> StoreResult<Vec<StoreLocation>>;
    async fn store_exists(&self, id: StoreId) -> StoreResult<bool>;
    /// Adds or replaces the rows of one catalogue file, all of them in one transaction with
    /// the audit row, or none; how many rows.
    async fn import_catalog(&self, rows: CatalogRows, audit: NewAuditEntry) -> StoreResult<u64>;
    /// Products in `sku` order (the database's own: its primary key's) after `after`, at most
    /// `limit`: the catalogue's export, a page at a time.
    async fn products_after(&self, after: Option<String>, limit: u32) -> StoreResult<Vec<Product>>;
}

/// The rows of one catalogue file, checked.
#[derive(Debug, Clone)]
pub enum CatalogRows {
    Products(Vec<IndexedProduct>),
    /// Parents before their children.
    Categories(Vec<Category>),
    Stores(Vec<StoreLocation>),
}

impl CatalogRows {
    pub fn len(&self) -> usize {
        match self {
            CatalogRows::Products(rows) => rows.len(),
            CatalogRows::Categories(rows) => rows.len(),
            CatalogRows::Stores(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
pub trait Staff: Send + Sync {
    /// `Conflict("login")` if the login is taken. The audit row is written in the same
    /// transaction, its subject completed with the new id.
    async fn create_staff(
        &self,
        login: &str,
        password_hash: &str,
        roles: &[Role],
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<StaffMember>;
    async fn staff_by_login(
        &self,
        login: &str,
    ) -> StoreResult<Option<(StaffMember, StaffCredentials)>>;
    /// Applies the change and writes its audit row in one transaction; false if no such staff.
    async fn change_staff(
        &self,
        id: StaffId,
        change: StaffChange,
        audit: NewAuditEntry,
    ) -> StoreResult<bool>;
    async fn staff_member(&self, id: StaffId) -> StoreResult<Option<StaffMember>>;
    async fn record_audit(&self, entry: NewAuditEntry) -> StoreResult<()>;
    /// Newest first, at most `limit`.
    async fn audit_log(&self, filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

#[async_trait]
pub trait Meta: Send + Sync {
    /// The store's secret for keyed hashes, created from `candidate` on first use, so that
    /// every app node over the same database agrees on it.
    async fn server_secret(&self, candidate: &str) -> StoreResult<String>;
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}

/// Everything the service needs from storage.
pub trait Store:
    Members
    + Sessions
    + Otps
    + Limits
    + Ledger
    + Catalog
    + Staff
    + Meta
    + Pos
    + Cards
    + employees::Employees
    + employee_messages::EmployeeMessages
    + Marketing
    + Support
    + Receipts
    + approvals::Approvals
    + reports::Reports
{
}
impl<T> Store for T where
    T: Members
        + Sessions
        + Otps
        + Limits
        + Ledger
        + Catalog
        + Staff
        + Meta
        + Pos
        + Cards
        + employees::Employees
        + employee_messages::EmployeeMessages
        + Marketing
        + Support
        + Receipts
        + approvals::Approvals
        + reports::Reports
{
}

/// Helpers both implementations use to keep their answers identical.
pub mod convert {
    use super::*;

    pub fn card_kind(s: &str) -> StoreResult<CardKind> {
        CardKind::from_db(s).ok_or_else(|| StoreError::Corrupt(format!("bad card kind {s:?}")))
    }
    pub fn card_status(s: &str) -> StoreResult<CardStatus> {
        CardStatus::from_db(s).ok_or_else(|| StoreError::Corrupt(format!("bad card status {s:?}")))
    }
    /// Cards as (number, status) rows read, with their statuses parsed.
    pub fn with_statuses(cards: Vec<(String, String)>) -> StoreResult<Vec<(String, CardStatus)>> {
        cards
            .into_iter()
            .map(|(number, status)| Ok((number, card_status(&status)?)))
            .collect()
    }
    pub fn phone(s: &str) -> StoreResult<Phone> {
        Phone::parse(s).map_err(|_| StoreError::Corrupt(format!("bad stored phone {s:?}")))
    }
    pub fn card_number(s: &str) -> StoreResult<CardNumber> {
        CardNumber::parse(s).map_err(|_| StoreError::Corrupt(format!("bad stored card {s:?}")))
    }
    pub fn date(s: &str) -> StoreResult<NaiveDate> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| StoreError::Corrupt(format!("bad stored date {s:?}")))
    }
    pub fn roles(s: &str) -> StoreResult<Vec<Role>> {
        s.split(',')
            .filter(|r| !r.is_empty())
            .map(|r| r.parse().map_err(|e| StoreError::Corrupt(format!("{e}"))))
            .collect()
    }
    pub fn roles_to_db(roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

//! Plain records that cross the storage seam.

use chrono::{DateTime, Utc};
use kopilka_domain::ledger::Credit;
use kopilka_domain::member::{CategoryId, Consents, MemberId, Profile, StoreId};
use kopilka_domain::staff::{Role, StaffId};
use kopilka_domain::{CardKind, CardNumber, CardStatus, Phone};

#[derive(Debug, Clone)]
pub struct Registration {
    pub phone: Phone,
    pub enrolment: Enrolment,
    pub profile: Profile,
    pub consents: Consents,
    pub card: CardNumber,
    pub card_kind: CardKind,
    pub welcome: Credit,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub number: CardNumber,
    pub kind: CardKind,
    pub status: CardStatus,
    pub member_id: Option<MemberId>,
    /// When it became the member's card: spending may be locked for its first days.
    pub bound_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Customer,
    Staff,
    Employee,
    /// Proves a verified phone between the SMS code and the registration form.
    Registration,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Customer => "customer",
            TokenKind::Staff => "staff",
            TokenKind::Employee => "employee",
            TokenKind::Registration => "registration",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Some(match s {
            "customer" => TokenKind::Customer,
            "staff" => TokenKind::Staff,
            "employee" => TokenKind::Employee,
            "registration" => TokenKind::Registration,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub kind: TokenKind,
    /// Member, staff or employee id; 0 for a registration token.
    pub subject: i64,
    /// The verified phone a registration token stands for.
    pub phone: Option<Phone>,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The client's address and user agent when it was opened, for the session list.
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub kind: TokenKind,
    pub subject: i64,
    pub phone: Option<Phone>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When it was last used (its opening if never since).
    pub last_seen_at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpPurpose {
    SignIn,
    PasswordReset,
}

impl OtpPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            OtpPurpose::SignIn => "sign_in",
            OtpPurpose::PasswordReset => "password_reset",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewOtp {
    pub phone: Phone,
    pub purpose: OtpPurpose,
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct OtpChallenge {
    pub id: i64,
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub failed_attempts: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub parent_id: Option<CategoryId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreLocation {
    pub id: StoreId,
    pub name: String,
    pub city: String,
    pub address: String,
    /// Degrees, WGS 84.
    pub lat: f64,
    pub lon: f64,
    pub hours: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: StaffId,
    pub login: String,
    pub roles: Vec<Role>,
    pub created_at: DateTime<Utc>,
    /// A disabled account signs nobody in.
    pub disabled: bool,
    /// Whether a second factor is enrolled (its secret is in [`StaffCredentials`]).
    pub totp_enrolled: bool,
}

/// What a staff sign-in is checked against. Never logged.
#[derive(Clone)]
pub struct StaffCredentials {
    pub password_hash: String,
    /// The TOTP secret, base32, once enrolled.
    pub totp_secret: Option<String>,
}

/// A change to a staff account, written with its audit row in one transaction.
#[derive(Clone)]
pub enum StaffChange {
    /// A new password hash; every session of theirs ends.
    Password(String),
    /// No more sign-ins; every session of theirs ends.
    Disable(DateTime<Utc>),
    /// A new second-factor secret (base32).
    Totp(String),
}

#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    /// `staff:<id>`, `cli` or `system`.
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// A JSON object, as text.
    pub details: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// A JSON object, as text.
    pub details: String,
    pub at: DateTime<Utc>,
}

/// A member added in bulk (`kopilka seed --members`): no password yet, an active card, the
/// welcome credit.
#[derive(Debug, Clone)]
pub struct ImportedMember {
    pub phone: Phone,
    pub profile: Profile,
    pub consents: Consents,
    pub card: CardNumber,
    pub card_kind: CardKind,
    pub welcome: Credit,
    pub at: DateTime<Utc>,
}

/// What staff search customers by besides a phone or a card (`Members::member_by_phone`,
/// `Members::member_by_card`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberSearch {
    /// Lowercase, matched whole.
    Email(String),
    /// The start of a `name_key`.
    NamePrefix(String),
}

impl MemberSearch {
    /// As both stores query it: the name keys' range `[low, high)` for a prefix, or the exact
    /// e-mail; the other side `None`.
    pub fn bounds(&self) -> (Option<(String, String)>, Option<String>) {
        match self {
            MemberSearch::Email(email) => (None, Some(email.clone())),
            MemberSearch::NamePrefix(prefix) => (
                Some((prefix.clone(), format!("{prefix}{}", char::MAX))),
                None,
            ),
        }
    }
}

/// Where a page of found members ends: the last one's name key (empty if none) and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCursor {
    pub name_key: String,
    pub id: MemberId,
}

impl MemberCursor {
    pub fn after(member: &kopilka_domain::member::Member) -> Self {
        Self {
            name_key: member.profile.name_key().unwrap_or_default(),
            id: member.id,
        }
    }
}

/// Which audit rows to read (`Staff::audit_log`); every field narrows, none reads all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// `staff:<id>`, `cli` or `system`, matched whole.
    pub actor: Option<String>,
    /// What the rows are about.
    pub subject: Option<AuditSubject>,
    /// From this time on, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// As both stores query it: a kind's subject prefix (`member:`), or one exact subject.
    pub fn subject_bounds(&self) -> (Option<String>, Option<String>) {
        match &self.subject {
            Some(AuditSubject::Kind(kind)) => (Some(format!("{kind}:")), None),
            Some(AuditSubject::Exact(subject)) => (None, Some(subject.clone())),
            None => (None, None),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSubject {
    /// Every row about one kind of thing: `member` matches `member:12`.
    Kind(String),
    /// One thing: `member:12`.
    Exact(String),
}

/// How a customer joins (`Members::register`).
#[derive(Debug, Clone)]
pub enum Enrolment {
    /// On the site or in the app: the verified phone's registration token is spent, the
    /// password set, and the card (a new virtual one) created.
    Online {
        registration_token_hash: String,
        password_hash: String,
    },
    /// A paper form keyed in by staff (SPEC 1.3): the card is an issued, unbound physical
    /// card, now bound; no password until the customer sets one through recovery. The audit
    /// row is written in the same transaction, its subject completed with the new id.
    PaperForm { audit: NewAuditEntry },
}

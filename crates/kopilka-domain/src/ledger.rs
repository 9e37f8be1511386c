//! The points ledger's vocabulary (SPEC §3.8): accounts, transfers between them, and lots.
//!
//! Every change of a balance is a transfer that debits one account and credits another by the
//! same positive integer amount, so the sum of all balances is zero at every instant. A
//! customer's balance is the credits minus the debits of their account. The points a customer
//! earns arrive as a lot with its own expiry; spending and expiry draw lots down oldest first.

use crate::Points;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub type TransferId = i64;
pub type AccountId = i64;

/// The chain's side of every movement. A member's account is the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemAccount {
    /// Source of welcome points given at registration.
    Welcome,
    /// Source of points earned on purchases.
    Accrual,
    /// Where spent points go.
    Redemption,
    /// Where expired points go.
    Expiry,
    /// Source and sink of manual adjustments.
    Adjustment,
    /// Where the points of a deleted account go: nobody can spend them any more.
    Forfeit,
}

impl SystemAccount {
    pub const ALL: [SystemAccount; 6] = [
        SystemAccount::Welcome,
        SystemAccount::Accrual,
        SystemAccount::Redemption,
        SystemAccount::Expiry,
        SystemAccount::Adjustment,
        SystemAccount::Forfeit,
    ];

    /// The stable code the account is stored under.
    pub fn code(self) -> &'static str {
        match self {
            SystemAccount::Welcome => "system:welcome",
            SystemAccount::Accrual => "system:accrual",
            SystemAccount::Redemption => "system:redemption",
            SystemAccount::Expiry => "system:expiry",
            SystemAccount::Adjustment => "system:adjustment",
            SystemAccount::Forfeit => "system:forfeit",
        }
    }
}

/// Why points moved; also the `kind` of a history item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    Welcome,
    Accrual,
    Redemption,
    Refund,
    Expiry,
    Adjustment,
    Offer,
    Transfer,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Welcome => "welcome",
            MovementKind::Accrual => "accrual",
            MovementKind::Redemption => "redemption",
            MovementKind::Refund => "refund",
            MovementKind::Expiry => "expiry",
            MovementKind::Adjustment => "adjustment",
            MovementKind::Offer => "offer",
            MovementKind::Transfer => "transfer",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [
            MovementKind::Welcome,
            MovementKind::Accrual,
            MovementKind::Redemption,
            MovementKind::Refund,
            MovementKind::Expiry,
            MovementKind::Adjustment,
            MovementKind::Offer,
            MovementKind::Transfer,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Points credited to a member that expire together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLot {
    pub points: Points,
    pub earned_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The part of a credit to a balance of `balance_before` that becomes a spendable lot: a debt
/// left by a refund is paid first (SPEC §3.5), so lots always add up to the positive balance.
pub fn lot_after_debt(balance_before: i64, credit: i64) -> i64 {
    (balance_before + credit).max(0) - balance_before.max(0)
}

/// The 300 points of SPEC §1.4, expiring after the welcome lifetime (SPEC §3.6).
pub fn welcome_lot(points: Points, lifetime_days: u32, now: DateTime<Utc>) -> NewLot {
    NewLot {
        points,
        earned_at: now,
        expires_at: now + Duration::days(i64::from(lifetime_days)),
    }
}

/// A credit to a member from a system account, carrying the lot it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub from: SystemAccount,
    pub kind: MovementKind,
    pub lot: NewLot,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expiring {
    pub points: Points,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub available: Points,
    pub pending: Points,
    pub expiring: Vec<Expiring>,
}

/// One line of a member's history: a transfer seen from their account, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub id: TransferId,
    pub kind: MovementKind,
    pub points: Points,
    pub at: DateTime<Utc>,
    pub store_id: Option<i64>,
    pub receipt_id: Option<String>,
    pub description: String,
}

/// Totals over every account: a healthy ledger has `debits == credits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerTotals {
    pub debits: i64,
    pub credits: i64,
    pub transfers: i64,
    /// What the chain owes its members: the sum of their balances.
    pub member_balances: i64,
    /// Points deleted accounts left behind, forfeited to `system:forfeit`.
    pub forfeited: i64,
}

//! The points ledger's vocabulary (SPEC §3.8): accounts, transfers between them, and lots.
//!
//! Every change of a balance is a transfer that debits one account and credits another by the
//! same positive integer amount, so the sum of all balances is zero at every instant. A
//! customer's balance is the credits minus the debits of their account. The points a customer
//! earns arrive as a lot with its own expiry; spending and expiry draw lots down oldest first.

use crate::lots::{self, Draw, LiveLot};
use crate::{DomainError, Points};
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

/// What a sale does to the member's lots and balance, decided from the account as the store
/// read it: the points it earned go into a new lot (what is left once a debt is paid), and
/// the customer can then spend the balance less what is pending, the new lot too while it
/// waits out its pending period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleOutcome {
    pub new_lot: i64,
    pub available_after: i64,
}

pub fn sale_outcome(
    balance: i64,
    pending: i64,
    redeemed: i64,
    earned: i64,
    new_lot_pending: bool,
) -> SaleOutcome {
    let new_lot = lot_after_debt(balance - redeemed, earned);
    let new_pending = if new_lot_pending { new_lot } else { 0 };
    SaleOutcome {
        new_lot,
        available_after: balance - redeemed + earned - pending - new_pending,
    }
}

/// What a manual adjustment does, decided from the member's account as the store reads it
/// under its lock: both stores carry this out and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdjustmentPlan {
    /// Credit the points; a new lot holds what is left once a debt is paid.
    Credit { points: i64, lot: i64 },
    /// Debit the points, drawn from these lots (`lots::draw`).
    Debit { points: i64, draws: Vec<Draw> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentDecision {
    pub plan: AdjustmentPlan,
    /// The points the member can spend afterwards.
    pub available_after: i64,
}

/// Decides an adjustment of `points` (non-zero, signed) at `now` against a `balance` held in
/// `lots`: a debit takes only available points.
pub fn decide_adjustment(
    balance: i64,
    lots: &[LiveLot],
    points: i64,
    now: DateTime<Utc>,
) -> Result<AdjustmentDecision, DomainError> {
    let pending = lots::pending(lots, now);
    let plan = if points >= 0 {
        AdjustmentPlan::Credit {
            points,
            lot: lot_after_debt(balance, points),
        }
    } else if balance - pending < -points {
        return Err(DomainError::InsufficientPoints);
    } else {
        AdjustmentPlan::Debit {
            points: -points,
            draws: lots::draw(lots, -points, None, now),
        }
    };
    Ok(AdjustmentDecision {
        plan,
        available_after: balance + points - pending,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sale_pays_a_debt_before_its_new_lot_and_a_pending_lot_is_not_spendable() {
        // 1,000 on the account, 100 pending; 300 spent, 50 earned.
        assert_eq!(
            sale_outcome(1_000, 100, 300, 50, false),
            SaleOutcome {
                new_lot: 50,
                available_after: 650
            }
        );
        assert_eq!(sale_outcome(1_000, 100, 300, 50, true).available_after, 600);
        // A debt of 30: the 50 earned pay it, 20 go into the lot.
        assert_eq!(sale_outcome(-30, 0, 0, 50, false).new_lot, 20);
    }

    #[test]
    fn a_debit_takes_only_available_points_and_a_credit_pays_a_debt_first() {
        // 500 on the account, 200 of them pending.
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let lot = |lot_id, remaining, available_at| LiveLot {
            lot_id,
            transfer_id: lot_id,
            available_at,
            expires_at: now + Duration::days(30),
            remaining,
        };
        let lots = [lot(1, 300, now), lot(2, 200, now + Duration::days(1))];
        assert_eq!(
            decide_adjustment(500, &lots, -300, now),
            Ok(AdjustmentDecision {
                plan: AdjustmentPlan::Debit {
                    points: 300,
                    draws: vec![Draw {
                        lot_id: 1,
                        points: 300
                    }]
                },
                available_after: 0,
            })
        );
        assert_eq!(
            decide_adjustment(500, &lots, -301, now),
            Err(DomainError::InsufficientPoints)
        );
        // A debt of 100 left by a return: the credit's lot holds what is left after it.
        assert_eq!(
            decide_adjustment(-100, &[], 250, now),
            Ok(AdjustmentDecision {
                plan: AdjustmentPlan::Credit {
                    points: 250,
                    lot: 150
                },
                available_after: 150,
            })
        );
    }
}

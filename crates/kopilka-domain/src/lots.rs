//! Which lots a debit draws on and which a return gives back to (SPEC §3.5, §3.8), decided here
//! from the member's live lots as a store read them. Each store then carries the draws and
//! restores out as they are, under the member's account: it decides nothing about lots.

use crate::ledger::{lot_after_debt, TransferId};
use chrono::{DateTime, Utc};

pub type LotId = i64;

/// A lot that still holds points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveLot {
    pub lot_id: LotId,
    /// The transfer that credited it: a return draws first on the lot its purchase earned.
    pub transfer_id: TransferId,
    pub available_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub remaining: i64,
}

/// Points taken from one lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    pub lot_id: LotId,
    pub points: i64,
}

/// What a purchase drew from one lot and has not yet had back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenUsage {
    pub usage_id: i64,
    /// The lot as it was created: it may since have been spent or expired to nothing.
    pub lot: LiveLot,
    pub open: i64,
}

/// Points given back to the lot of one usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restore {
    pub usage_id: i64,
    pub lot_id: LotId,
    pub points: i64,
}

/// Points of `lots` not yet available at `now` (the pending period, SPEC §3.3).
pub fn pending(lots: &[LiveLot], now: DateTime<Utc>) -> i64 {
    lots.iter()
        .filter(|l| l.available_at > now)
        .map(|l| l.remaining)
        .sum()
}

/// Draws up to `amount` from `lots`: first the lot that the transfer `prefer` credited (a
/// return takes back the purchase's own points), then lots available at `now` before pending
/// ones, soonest expiry first, older lot first. Draws less only when the lots hold less.
pub fn draw(
    lots: &[LiveLot],
    amount: i64,
    prefer: Option<TransferId>,
    now: DateTime<Utc>,
) -> Vec<Draw> {
    let mut order: Vec<&LiveLot> = lots.iter().filter(|l| l.remaining > 0).collect();
    order.sort_by_key(|l| {
        (
            Some(l.transfer_id) != prefer,
            l.available_at > now,
            l.expires_at,
            l.lot_id,
        )
    });
    let mut left = amount.max(0);
    let mut draws = Vec::new();
    for lot in order {
        if left == 0 {
            break;
        }
        let points = lot.remaining.min(left);
        draws.push(Draw {
            lot_id: lot.lot_id,
            points,
        });
        left -= points;
    }
    draws
}

/// Gives up to `amount` back to the lots a purchase drew on, latest expiry first.
pub fn restore(usages: &[OpenUsage], amount: i64) -> Vec<Restore> {
    let mut order: Vec<&OpenUsage> = usages.iter().filter(|u| u.open > 0).collect();
    order.sort_by_key(|u| std::cmp::Reverse((u.lot.expires_at, u.usage_id)));
    let mut left = amount.max(0);
    let mut restores = Vec::new();
    for usage in order {
        if left == 0 {
            break;
        }
        let points = usage.open.min(left);
        restores.push(Restore {
            usage_id: usage.usage_id,
            lot_id: usage.lot.lot_id,
            points,
        });
        left -= points;
    }
    restores
}

/// `lots` after `restores` (a lot spent to nothing comes back) and then `draws`.
pub fn after(
    lots: &[LiveLot],
    usages: &[OpenUsage],
    restores: &[Restore],
    draws: &[Draw],
) -> Vec<LiveLot> {
    let mut lots = lots.to_vec();
    for r in restores {
        match lots.iter_mut().find(|l| l.lot_id == r.lot_id) {
            Some(lot) => lot.remaining += r.points,
            None => {
                if let Some(u) = usages.iter().find(|u| u.usage_id == r.usage_id) {
                    lots.push(LiveLot {
                        remaining: r.points,
                        ..u.lot.clone()
                    });
                }
            }
        }
    }
    for d in draws {
        if let Some(lot) = lots.iter_mut().find(|l| l.lot_id == d.lot_id) {
            lot.remaining -= d.points;
        }
    }
    lots.retain(|l| l.remaining > 0);
    lots
}

/// What a return does to the member's lots and balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnOutcome {
    /// Points the purchase spent, given back to the lots it drew on.
    pub restores: Vec<Restore>,
    /// Points the purchase earned, taken back from the lots, its own lot first.
    pub draws: Vec<Draw>,
    /// The points the member can spend afterwards.
    pub available_after: i64,
}

/// Decides a return that gives back `returned` points the purchase spent and takes back
/// `taken_back` it earned (`earning::plan_refund`), from the member's account `balance`, live
/// `lots` and the purchase's open `usages`. What is returned pays a debt first; the rest goes
/// back to the lots it came from.
pub fn return_outcome(
    balance: i64,
    lots: &[LiveLot],
    usages: &[OpenUsage],
    returned: i64,
    taken_back: i64,
    purchase_lot: Option<TransferId>,
    at: DateTime<Utc>,
) -> ReturnOutcome {
    let restores = if returned > 0 {
        restore(usages, lot_after_debt(balance, returned))
    } else {
        Vec::new()
    };
    let restored = after(lots, usages, &restores, &[]);
    let draws = draw(&restored, taken_back, purchase_lot, at);
    let left = after(&restored, &[], &[], &draws);
    ReturnOutcome {
        restores,
        draws,
        available_after: balance + returned - taken_back - pending(&left, at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::days(n)
    }

    fn lot(lot_id: i64, remaining: i64, available: i64, expires: i64) -> LiveLot {
        LiveLot {
            lot_id,
            transfer_id: 100 + lot_id,
            available_at: day(available),
            expires_at: day(expires),
            remaining,
        }
    }

    #[test]
    fn a_debit_draws_available_lots_soonest_expiry_first_then_pending_ones() {
        let lots = [
            lot(1, 50, 0, 300),
            lot(2, 30, 0, 100),
            lot(3, 40, 20, 50), // pending until day 20
        ];
        assert_eq!(
            draw(&lots, 100, None, day(10)),
            [
                Draw {
                    lot_id: 2,
                    points: 30
                },
                Draw {
                    lot_id: 1,
                    points: 50
                },
                Draw {
                    lot_id: 3,
                    points: 20
                }
            ]
        );
        // A return takes the purchase's own lot first.
        assert_eq!(
            draw(&lots, 10, Some(101), day(10)),
            [Draw {
                lot_id: 1,
                points: 10
            }]
        );
        assert!(draw(&lots, 0, None, day(10)).is_empty());
    }

    #[test]
    fn a_return_gives_back_latest_expiry_first_after_paying_a_debt() {
        let usages = [
            OpenUsage {
                usage_id: 7,
                lot: lot(1, 50, 0, 300),
                open: 50,
            },
            OpenUsage {
                usage_id: 8,
                lot: lot(2, 30, 0, 100),
                open: 30,
            },
        ];
        // Lot 1 was spent to nothing, lot 2 still holds 5; a debt of 20 is paid first.
        let lots = [lot(2, 5, 0, 100)];
        let outcome = return_outcome(-20, &lots, &usages, 70, 0, None, day(10));
        assert_eq!(
            outcome.restores,
            [Restore {
                usage_id: 7,
                lot_id: 1,
                points: 50
            }]
        );
        assert_eq!(outcome.available_after, 50);
    }

    fn lots_strategy() -> impl Strategy<Value = Vec<LiveLot>> {
        prop::collection::vec((1i64..500, 0i64..30, 1i64..400), 0..12).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (points, available, expires))| {
                    lot(i as i64 + 1, points, available, expires)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn a_draw_takes_exactly_what_the_lots_can_give(lots in lots_strategy(), amount in 0i64..3_000, now in 0i64..30) {
            let draws = draw(&lots, amount, None, day(now));
            let held: i64 = lots.iter().map(|l| l.remaining).sum();
            prop_assert_eq!(draws.iter().map(|d| d.points).sum::<i64>(), amount.min(held));
            for d in &draws {
                let lot = lots.iter().find(|l| l.lot_id == d.lot_id).unwrap();
                prop_assert!(d.points > 0 && d.points <= lot.remaining);
            }
            // Only the last lot drawn on is drawn in part.
            for d in draws.iter().rev().skip(1) {
                let lot = lots.iter().find(|l| l.lot_id == d.lot_id).unwrap();
                prop_assert_eq!(d.points, lot.remaining);
            }
            // No available lot is left whole while a pending one is drawn.
            let pending_drawn = draws.iter().any(|d| lots.iter().any(|l| l.lot_id == d.lot_id && l.available_at > day(now)));
            if pending_drawn {
                let left = after(&lots, &[], &[], &draws);
                prop_assert!(left.iter().all(|l| l.available_at > day(now)));
            }
        }

        #[test]
        fn a_return_restores_what_was_spent_and_counts_the_balance(
            lots in lots_strategy(), spend in 0i64..2_000, give_back in 0i64..2_000, now in 0i64..30,
        ) {
            // A purchase spent `spend` from the available lots; the return gives back part.
            let held: i64 = lots.iter().filter(|l| l.available_at <= day(now)).map(|l| l.remaining).sum();
            let spend = spend.min(held);
            let draws = draw(&lots, spend, None, day(now));
            let usages: Vec<OpenUsage> = draws.iter().enumerate().map(|(i, d)| OpenUsage {
                usage_id: i as i64 + 1,
                lot: lots.iter().find(|l| l.lot_id == d.lot_id).unwrap().clone(),
                open: d.points,
            }).collect();
            let spent_lots = after(&lots, &[], &[], &draws);
            let balance: i64 = spent_lots.iter().map(|l| l.remaining).sum();
            let returned = give_back.min(spend);
            let outcome = return_outcome(balance, &spent_lots, &usages, returned, 0, None, day(now));
            prop_assert_eq!(outcome.restores.iter().map(|r| r.points).sum::<i64>(), returned);
            let restored = after(&spent_lots, &usages, &outcome.restores, &[]);
            prop_assert_eq!(restored.iter().map(|l| l.remaining).sum::<i64>(), balance + returned);
            prop_assert_eq!(outcome.available_after, balance + returned - pending(&restored, day(now)));
            // Giving back everything leaves the lots as they were before the purchase.
            if returned == spend {
                let mut before = lots.clone();
                before.retain(|l| l.remaining > 0);
                let mut back = restored.clone();
                back.sort_by_key(|l| l.lot_id);
                prop_assert_eq!(back, before);
            }
        }
    }
}

//! Reports over the ledger (SPEC §8): what every day brought, per store, kept as daily
//! aggregates so that a report reads a row a day, never the ledger. The day a movement
//! belongs to, and what counts as earned, spent or active, are decided here; the stores only
//! add the figures up.

use crate::ledger::MovementKind;
use crate::member::{MemberId, StoreId};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, BTreeSet};

/// One ledger transfer as the roll-up reads it: between a member's account and a system one
/// (or two members').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementFact {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: MovementKind,
    pub store_id: Option<StoreId>,
    pub member_id: MemberId,
    pub amount: i64,
    /// Points went to a member (else from one).
    pub to_member: bool,
}

/// A purchase as the roll-up reads it: who bought, where and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseFact {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub store_id: StoreId,
    pub member_id: MemberId,
}

/// Points that moved on one day, at one store (none: not at a till), of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyPoints {
    pub day: NaiveDate,
    pub store_id: Option<StoreId>,
    pub kind: MovementKind,
    /// To members.
    pub credited: i64,
    /// From members.
    pub debited: i64,
}

/// What a batch of movements and purchases adds to the aggregates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollup {
    pub points: Vec<DailyPoints>,
    /// Customers who bought something, with the days they did, in day order.
    pub buyers: Vec<(NaiveDate, Vec<MemberId>)>,
}

/// The chain's calendar day of a moment.
pub fn day_of(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Adds up a batch: movements by (day, store, kind), buyers by day.
pub fn roll_up(movements: &[MovementFact], purchases: &[PurchaseFact], tz: Tz) -> Rollup {
    let mut points: BTreeMap<(NaiveDate, Option<StoreId>, &'static str), DailyPoints> =
        BTreeMap::new();
    for m in movements {
        let day = day_of(m.at, tz);
        let row = points
            .entry((day, m.store_id, m.kind.as_str()))
            .or_insert(DailyPoints {
                day,
                store_id: m.store_id,
                kind: m.kind,
                credited: 0,
                debited: 0,
            });
        if m.to_member {
            row.credited += m.amount;
        } else {
            row.debited += m.amount;
        }
    }
    let mut buyers: BTreeMap<NaiveDate, BTreeSet<MemberId>> = BTreeMap::new();
    for p in purchases {
        buyers
            .entry(day_of(p.at, tz))
            .or_default()
            .insert(p.member_id);
    }
    Rollup {
        points: points.into_values().collect(),
        buyers: buyers
            .into_iter()
            .map(|(day, members)| (day, members.into_iter().collect()))
            .collect(),
    }
}

/// One day of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayFigures {
    /// Earned at the tills, offers included.
    pub earned: i64,
    pub welcome: i64,
    /// Spent at the tills, less what returns gave back.
    pub spent: i64,
    pub expired: i64,
    /// Adjustments by staff, credits less debits.
    pub adjusted: i64,
    /// Taken back by returns, less what they gave back of points spent.
    pub returned: i64,
    /// What the chain owed its members at the end of the day.
    pub liability: i64,
    /// Customers who bought something that day.
    pub active: u64,
}

impl DayFigures {
    /// Adds one aggregate row to the day's figures.
    pub fn add(&mut self, row: &DailyPoints) {
        let net = row.credited - row.debited;
        match row.kind {
            MovementKind::Accrual | MovementKind::Offer => self.earned += net,
            MovementKind::Welcome => self.welcome += net,
            MovementKind::Redemption => self.spent -= net,
            MovementKind::Expiry => self.expired -= net,
            MovementKind::Adjustment => self.adjusted += net,
            MovementKind::Refund => self.returned -= net,
            // Between two members: nothing the chain owes changes.
            MovementKind::Transfer => {}
        }
    }

    /// What the day changed in what the chain owes.
    pub fn net(&self) -> i64 {
        self.earned + self.welcome + self.adjusted - self.spent - self.expired - self.returned
    }
}

/// Per day from `from` to `to` (both included), with the liability at the end of each day
/// worked back from `liability_now` by the movements of the days after it (`rows` must hold
/// every day from `from` to today).
pub fn daily_figures(
    rows: &[DailyPoints],
    active: &BTreeMap<NaiveDate, u64>,
    from: NaiveDate,
    to: NaiveDate,
    liability_now: i64,
) -> Vec<(NaiveDate, DayFigures)> {
    let mut days: BTreeMap<NaiveDate, DayFigures> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.day >= from) {
        days.entry(row.day).or_default().add(row);
    }
    let mut day = from;
    while day <= to {
        days.entry(day).or_default();
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    // Backwards from now: each day ends owing what the next day started with.
    let mut owed = liability_now;
    for (day, figures) in days.iter_mut().rev() {
        figures.liability = owed;
        figures.active = active.get(day).copied().unwrap_or(0);
        owed -= figures.net();
    }
    days.into_iter()
        .filter(|(day, _)| *day >= from && *day <= to)
        .collect()
}

/// Points spent for every hundred issued (earned and welcome), in tenths of a per cent; none
/// when nothing was issued.
pub fn redemption_per_mille(spent: i64, issued: i64) -> Option<i64> {
    (issued > 0).then(|| spent * 1000 / issued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fact(id: i64, hour: u32, kind: MovementKind, amount: i64, to_member: bool) -> MovementFact {
        MovementFact {
            id,
            at: Utc.with_ymd_and_hms(2026, 3, 10, hour, 0, 0).unwrap(),
            kind,
            store_id: Some(StoreId::new(1)),
            member_id: MemberId::new(7),
            amount,
            to_member,
        }
    }

    #[test]
    fn a_movement_belongs_to_the_chains_calendar_day() {
        let tz = chrono_tz::Europe::Moscow;
        // 22:00 UTC is 01:00 the next day in Moscow.
        let rollup = roll_up(
            &[
                fact(1, 10, MovementKind::Accrual, 30, true),
                fact(2, 22, MovementKind::Accrual, 5, true),
                fact(3, 11, MovementKind::Redemption, 10, false),
            ],
            &[],
            tz,
        );
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let accrual: Vec<(NaiveDate, i64)> = rollup
            .points
            .iter()
            .filter(|p| p.kind == MovementKind::Accrual)
            .map(|p| (p.day, p.credited))
            .collect();
        assert_eq!(accrual, [(day(10), 30), (day(11), 5)]);
    }

    #[test]
    fn the_liability_is_worked_back_from_now_day_by_day() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let row = |d, kind, credited, debited| DailyPoints {
            day: day(d),
            store_id: None,
            kind,
            credited,
            debited,
        };
        let rows = [
            row(1, MovementKind::Welcome, 100, 0),
            row(2, MovementKind::Accrual, 50, 0),
            row(2, MovementKind::Redemption, 0, 30),
            row(3, MovementKind::Expiry, 0, 20),
        ];
        let days = daily_figures(&rows, &BTreeMap::new(), day(1), day(3), 100);
        let owed: Vec<i64> = days.iter().map(|(_, f)| f.liability).collect();
        assert_eq!(owed, [100, 120, 100]);
        assert_eq!(days[1].1.spent, 30);
        assert_eq!(redemption_per_mille(30, 150), Some(200));
        assert_eq!(redemption_per_mille(0, 0), None);
    }
}

//! Reports for accounting and administrators (SPEC §8): the points liability day by day,
//! points earned and spent per day and store, active customers and the redemption rate,
//! read from daily aggregates that a roll-up keeps up to date.
//!
//! The roll-up reads ledger transfers and purchases by id past a watermark. On PostgreSQL an
//! id is taken before its transaction commits, so a smaller id may appear after a larger
//! one: the roll-up reads only up to the newest ids it saw at least `report_settle` ago,
//! longer than any writer's transaction runs. SQLite writes one transaction at a time.

use crate::staff::authorize;
use crate::{Kopilka, ServiceResult};
use chrono::NaiveDate;
use kopilka_domain::member::StoreId;
use kopilka_domain::reports::{daily_figures, redemption_per_mille, roll_up, DayFigures};
use kopilka_domain::staff::Permission;
use kopilka_domain::Validation;
use kopilka_store::reports::{RollupBatch, Watermark};
use kopilka_store::StaffMember;
use std::collections::BTreeMap;

/// Transfers (and purchases) the roll-up adds in one transaction.
const ROLLUP_BATCH: u32 = 20_000;
/// The longest period one report covers.
pub const REPORT_DAYS_MAX: i64 = 366;

/// What one store (or no till: welcome points, adjustments, expiry) did in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFigures {
    pub store_id: Option<StoreId>,
    pub figures: DayFigures,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointsReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<(NaiveDate, DayFigures)>,
    /// Per store and day, for the CSV.
    pub store_days: Vec<(NaiveDate, StoreFigures)>,
    /// The whole period per store, the busiest first.
    pub stores: Vec<StoreFigures>,
    /// The period's sums; `liability` is the last day's.
    pub totals: DayFigures,
    /// Points spent per thousand issued (earned and welcome) in the period.
    pub redemption_per_mille: Option<i64>,
}

impl Kopilka {
    /// Brings the daily aggregates up to date; how many transfers it added. Any node may run
    /// it at any time: a batch applies only if the watermark is still where it was read.
    pub async fn roll_up_reports(&self) -> ServiceResult<u64> {
        let store = self.store();
        let tz = self.rules().timezone;
        let mut added = 0;
        loop {
            let state = store.rollup_state().await?;
            let now = self.now();
            let settle = self.rules().report_settle;
            let upto = if store.concurrent_writes() == 1 || settle.is_zero() {
                state.newest
            } else {
                let settled = now - state.seen_at >= settle;
                // A new look starts when the last one has settled, or was all read already.
                if (settled || state.seen == state.done) && state.newest != state.seen {
                    store.note_seen(state.newest, now).await?;
                }
                if settled {
                    state.seen
                } else {
                    state.done
                }
            };
            if upto.transfer_id <= state.done.transfer_id
                && upto.purchase_id <= state.done.purchase_id
            {
                return Ok(added);
            }
            let (movements, purchases) = store.rollup_input(state.done, upto, ROLLUP_BATCH).await?;
            let full = |n: usize| n >= ROLLUP_BATCH as usize;
            let to = Watermark {
                transfer_id: match movements.last() {
                    Some(last) if full(movements.len()) => last.id,
                    _ => upto.transfer_id.max(state.done.transfer_id),
                },
                purchase_id: match purchases.last() {
                    Some(last) if full(purchases.len()) => last.id,
                    _ => upto.purchase_id.max(state.done.purchase_id),
                },
            };
            let rollup = roll_up(&movements, &purchases, tz);
            let applied = store
                .apply_rollup(RollupBatch {
                    from: state.done,
                    to,
                    points: rollup.points,
                    buyers: rollup.buyers,
                })
                .await?;
            if applied {
                added += movements.len() as u64;
            }
        }
    }

    /// The points report of the days `from` to `to` (administrators, accounting).
    pub async fn points_report(
        &self,
        staff: &StaffMember,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ServiceResult<PointsReport> {
        authorize(staff, Permission::ReadReports)?;
        let today = self.today();
        let mut v = Validation::default();
        if to < from {
            v.add("to", "report_period_order");
        } else if (to - from).num_days() >= REPORT_DAYS_MAX {
            v.add(
                "from",
                kopilka_text::Message::new("report_period_long").with("days", REPORT_DAYS_MAX),
            );
        }
        if from > today {
            v.add("from", "report_period_future");
        }
        v.finish()?;
        let to = to.min(today);
        self.roll_up_reports().await?;
        let store = self.store();
        // Every day from `from` to today: the liability is worked back from now.
        let rows = store.daily_points(from, today).await?;
        let active: BTreeMap<NaiveDate, u64> =
            store.daily_active(from, to).await?.into_iter().collect();
        let liability = store.liability_at_watermark().await?;
        let days = daily_figures(&rows, &active, from, to, liability);
        let mut per_store: BTreeMap<Option<StoreId>, DayFigures> = BTreeMap::new();
        let mut per_store_day: BTreeMap<(NaiveDate, Option<StoreId>), DayFigures> = BTreeMap::new();
        for row in rows.iter().filter(|r| r.day <= to) {
            per_store.entry(row.store_id).or_default().add(row);
            per_store_day
                .entry((row.day, row.store_id))
                .or_default()
                .add(row);
        }
        let mut totals = DayFigures::default();
        for (_, d) in &days {
            totals.earned += d.earned;
            totals.welcome += d.welcome;
            totals.spent += d.spent;
            totals.expired += d.expired;
            totals.adjusted += d.adjusted;
            totals.returned += d.returned;
            totals.active += d.active;
        }
        totals.liability = days.last().map_or(liability, |(_, d)| d.liability);
        let mut stores: Vec<StoreFigures> = per_store
            .into_iter()
            .map(|(store_id, figures)| StoreFigures { store_id, figures })
            .collect();
        stores.sort_by_key(|s| std::cmp::Reverse(s.figures.earned + s.figures.spent));
        Ok(PointsReport {
            from,
            to,
            redemption_per_mille: redemption_per_mille(
                totals.spent,
                totals.earned + totals.welcome,
            ),
            days,
            store_days: per_store_day
                .into_iter()
                .map(|((day, store_id), figures)| (day, StoreFigures { store_id, figures }))
                .collect(),
            stores,
            totals,
        })
    }
}

/// The report a day a line: `day,earned,welcome,spent,expired,adjusted,returned,liability,
/// active_customers`.
pub fn daily_csv(report: &PointsReport) -> String {
    let mut csv = String::from(
        "day,earned,welcome,spent,expired,adjusted,returned,liability,active_customers\n",
    );
    for (day, d) in &report.days {
        csv.push_str(&format!(
            "{day},{},{},{},{},{},{},{},{}\n",
            d.earned, d.welcome, d.spent, d.expired, d.adjusted, d.returned, d.liability, d.active
        ));
    }
    csv
}

/// Points per day and store: `day,store_id,earned,spent,returned` (an empty store: not at a
/// till).
pub fn stores_csv(report: &PointsReport) -> String {
    let mut csv = String::from("day,store_id,earned,spent,returned\n");
    for (day, s) in &report.store_days {
        let store = s.store_id.map(|id| id.to_string()).unwrap_or_default();
        csv.push_str(&format!(
            "{day},{store},{},{},{}\n",
            s.figures.earned, s.figures.spent, s.figures.returned
        ));
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_hold_every_figure_of_a_day() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
        let report = PointsReport {
            from: day,
            to: day,
            days: vec![(
                day,
                DayFigures {
                    earned: 10,
                    welcome: 300,
                    spent: 5,
                    expired: 1,
                    adjusted: -2,
                    returned: 0,
                    liability: 302,
                    active: 1,
                },
            )],
            store_days: Vec::new(),
            stores: Vec::new(),
            totals: DayFigures::default(),
            redemption_per_mille: None,
        };
        assert_eq!(
            daily_csv(&report).lines().nth(1),
            Some("2026-03-01,10,300,5,1,-2,0,302,1")
        );
    }
}

//! Personal offers (SPEC §5.2): who an offer is for, what it adds to a purchase, and how that
//! is added to a priced basket so that returns take it back line by line like any earning.

use crate::earning::{split, EarnRule, EarningRules, Priced};
use crate::member::{city_key, CategoryId, Member};
use crate::Points;
use chrono::{DateTime, Datelike, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

id_type!(
    /// A personal offer's id.
    OfferId
);

/// What an offer adds to a purchase, on top of the points the purchase earns anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfferReward {
    /// `extra_multiplier` times the base rate more on lines of the category and below it.
    CategoryPoints {
        category_id: CategoryId,
        extra_multiplier: i64,
    },
    /// `extra_multiplier` times the base rate more on lines of one product.
    ProductPoints { sku: String, extra_multiplier: i64 },
    /// A fixed bonus for a receipt that pays at least `min_paid_kop` in money.
    ReceiptBonus { min_paid_kop: i64, points: i64 },
}

/// Who may see and activate an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfferTarget {
    Everyone,
    FavouriteCategory {
        category_id: CategoryId,
    },
    City {
        city: String,
    },
    /// Customers whose birthday falls in the current month.
    BirthdayMonth,
    /// Customers who bought nothing for at least `days` days.
    Inactive {
        days: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub title: String,
    pub description: String,
    pub reward: OfferReward,
    pub target: OfferTarget,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// How many purchases of one customer it may add to.
    pub per_customer_limit: u32,
}

/// Limits of what marketing may write into an offer: a title fits a card on a phone, a reward
/// stays within what a promotion budget means.
pub const TITLE_MAX_CHARS: usize = 120;
pub const DESCRIPTION_MAX_CHARS: usize = 1000;
pub const MULTIPLIER_MAX: i64 = 10;
pub const BONUS_POINTS_MAX: i64 = 10_000;
pub const PER_CUSTOMER_LIMIT_MAX: u32 = 100;
pub const INACTIVE_DAYS_MAX: u32 = 3650;

/// A title and description as marketing may write them; every wrong field into `v`.
pub fn check_text(v: &mut crate::Validation, title: &str, description: &str) {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX_CHARS {
        v.add("title", "offer_title_invalid");
    }
    if description.chars().count() > DESCRIPTION_MAX_CHARS {
        v.add("description", "offer_description_invalid");
    }
}

/// Where a schedule stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Scheduled,
    Running,
    Ended,
}

impl Schedule {
    pub fn at(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if now < starts_at {
            Schedule::Scheduled
        } else if now < ends_at {
            Schedule::Running
        } else {
            Schedule::Ended
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::Scheduled => "scheduled",
            Schedule::Running => "running",
            Schedule::Ended => "ended",
        }
    }
}

/// A schedule: it must end after it starts.
pub fn check_period(v: &mut crate::Validation, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) {
    if ends_at <= starts_at {
        v.add("ends_at", "offer_period_invalid");
    }
}

impl Offer {
    /// Every field marketing got wrong, at once; `categories` are the catalogue's ids.
    pub fn check(&self, categories: &HashSet<CategoryId>) -> Result<(), crate::DomainError> {
        let mut v = crate::Validation::default();
        check_text(&mut v, &self.title, &self.description);
        check_period(&mut v, self.starts_at, self.ends_at);
        if !(1..=PER_CUSTOMER_LIMIT_MAX).contains(&self.per_customer_limit) {
            v.add("per_customer_limit", "offer_limit_invalid");
        }
        let multiplier_ok = |m: &i64| (1..=MULTIPLIER_MAX).contains(m);
        let reward_ok = match &self.reward {
            OfferReward::CategoryPoints {
                category_id,
                extra_multiplier,
            } => categories.contains(category_id) && multiplier_ok(extra_multiplier),
            OfferReward::ProductPoints {
                sku,
                extra_multiplier,
            } => !sku.trim().is_empty() && multiplier_ok(extra_multiplier),
            OfferReward::ReceiptBonus {
                min_paid_kop,
                points,
            } => *min_paid_kop >= 0 && (1..=BONUS_POINTS_MAX).contains(points),
        };
        if !reward_ok {
            v.add("reward", "offer_reward_invalid");
        }
        let target_ok = match &self.target {
            OfferTarget::Everyone | OfferTarget::BirthdayMonth => true,
            OfferTarget::FavouriteCategory { category_id } => categories.contains(category_id),
            OfferTarget::City { city } => crate::member::parse_city(city).is_ok(),
            OfferTarget::Inactive { days } => (1..=INACTIVE_DAYS_MAX).contains(days),
        };
        if !target_ok {
            v.add("target", "offer_target_invalid");
        }
        v.finish()
    }

    pub fn is_running(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    /// Whether the offer is meant for this customer now. Checked when offers are listed and
    /// activated, not at the till: buying again must not switch off a win-back offer.
    pub fn is_for(
        &self,
        member: &Member,
        last_purchase_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> bool {
        let profile = &member.profile;
        match &self.target {
            OfferTarget::Everyone => true,
            OfferTarget::FavouriteCategory { category_id } => {
                profile.favourite_category_id == Some(*category_id)
            }
            OfferTarget::City { city } => profile.city_key() == Some(city_key(city)),
            OfferTarget::BirthdayMonth => profile
                .birth_date
                .is_some_and(|b| b.month() == now.with_timezone(&tz).month()),
            OfferTarget::Inactive { days } => {
                let since = last_purchase_at.unwrap_or(member.created_at);
                now - since >= Duration::days(i64::from(*days))
            }
        }
    }
}

/// The customers a target reaches now, as a store can count them: the same rule as
/// [`Offer::is_for`], with its moving parts (this month, the cut-off day) fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    FavouriteCategory(CategoryId),
    /// Customers whose `city_key` is this.
    CityKey(String),
    /// Customers born in this month (1–12).
    BirthMonth(u32),
    /// Customers who joined at or before this moment and bought nothing after it.
    NoPurchaseSince(DateTime<Utc>),
}

impl OfferTarget {
    pub fn audience(&self, now: DateTime<Utc>, tz: Tz) -> Audience {
        match self {
            OfferTarget::Everyone => Audience::Everyone,
            OfferTarget::FavouriteCategory { category_id } => {
                Audience::FavouriteCategory(*category_id)
            }
            OfferTarget::City { city } => Audience::CityKey(city_key(city)),
            OfferTarget::BirthdayMonth => Audience::BirthMonth(now.with_timezone(&tz).month()),
            OfferTarget::Inactive { days } => {
                Audience::NoPurchaseSince(now - Duration::days(i64::from(*days)))
            }
        }
    }
}

/// An activated offer as the till applies it: the offer, the categories it covers (its
/// category and everything below), and how often this customer has used it.
#[derive(Debug, Clone)]
pub struct ActivatedOffer {
    pub offer: Offer,
    pub categories: HashSet<CategoryId>,
    pub uses: u32,
}

/// What one offer added to one purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferAward {
    pub offer_id: OfferId,
    pub title: String,
    pub points: Points,
}

impl OfferAward {
    /// The line in the customer's history, stored to be read in each reader's language.
    pub fn description(&self, receipt_id: &str) -> String {
        kopilka_text::Message::new("history_offer")
            .with("title", &self.title)
            .with("receipt", receipt_id)
            .to_stored()
    }
}

/// Adds what the running, unused-up offers give to a priced basket. Only lines that earn get
/// anything (not excluded categories, not self-checkout, not past the daily receipt limit);
/// each award is spread over the lines it came from, so a return takes it back in proportion.
pub fn apply_offers(
    priced: &mut Priced,
    offers: &[ActivatedOffer],
    at: DateTime<Utc>,
    rules: &EarningRules,
) {
    let earns = |rule: EarnRule| matches!(rule, EarnRule::Base | EarnRule::Favourite);
    let paid: Vec<i64> = priced
        .lines
        .iter()
        .map(|l| {
            if earns(l.rule) {
                l.amount.get() - l.discount.get()
            } else {
                0
            }
        })
        .collect();
    for activated in offers {
        let offer = &activated.offer;
        if !offer.is_running(at) || activated.uses >= offer.per_customer_limit {
            continue;
        }
        // What each line paid in money, on the lines the offer covers.
        let weights: Vec<i64> = priced
            .lines
            .iter()
            .zip(&paid)
            .map(|(l, p)| {
                let covered = match &offer.reward {
                    OfferReward::CategoryPoints { .. } => {
                        activated.categories.contains(&l.category_id)
                    }
                    OfferReward::ProductPoints { sku, .. } => &l.sku == sku,
                    OfferReward::ReceiptBonus { .. } => true,
                };
                if covered {
                    *p
                } else {
                    0
                }
            })
            .collect();
        let base: i64 = weights.iter().sum();
        let points = match &offer.reward {
            OfferReward::CategoryPoints {
                extra_multiplier, ..
            }
            | OfferReward::ProductPoints {
                extra_multiplier, ..
            } => base * extra_multiplier.max(&0) / rules.kopecks_per_point,
            OfferReward::ReceiptBonus {
                min_paid_kop,
                points,
            } if base > 0 && priced.payable.get() >= *min_paid_kop => (*points).max(0),
            OfferReward::ReceiptBonus { .. } => 0,
        };
        if points == 0 {
            continue;
        }
        for (line, share) in priced.lines.iter_mut().zip(split(points, &weights)) {
            line.earned = Points::new(line.earned.get() + share);
        }
        priced.earn = Points::new(priced.earn.get() + points);
        priced.offers.push(OfferAward {
            offer_id: offer.id,
            title: offer.title.clone(),
            points: Points::new(points),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::earning::{price, Basket, Line, PurchaseContext, TillKind};
    use crate::Kopecks;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0)
            .single()
            .expect("date")
    }

    fn offer(id: OfferId, reward: OfferReward) -> ActivatedOffer {
        ActivatedOffer {
            offer: Offer {
                id,
                title: format!("offer {id}"),
                description: String::new(),
                reward,
                target: OfferTarget::Everyone,
                starts_at: at(1),
                ends_at: at(20),
                per_customer_limit: 1,
            },
            categories: HashSet::from([10, 11]),
            uses: 0,
        }
    }

    fn priced(till: TillKind) -> Priced {
        let basket = Basket::parse(vec![
            Line {
                line_id: "1".into(),
                sku: "milk".into(),
                category_id: 11,
                amount: Kopecks::new(50_000),
            },
            Line {
                line_id: "2".into(),
                sku: "cigs".into(),
                category_id: 8,
                amount: Kopecks::new(30_000),
            },
            Line {
                line_id: "3".into(),
                sku: "bread".into(),
                category_id: 14,
                amount: Kopecks::new(20_000),
            },
        ])
        .expect("basket");
        let ctx = PurchaseContext {
            available: Points::ZERO,
            till,
            favourite_categories: HashSet::new(),
            excluded_categories: HashSet::from([8]),
            earning_receipts_today: 0,
            redemption_locked: false,
        };
        price(&basket, Points::ZERO, &ctx, &EarningRules::default())
    }

    #[test]
    fn category_points_go_to_the_category_lines_only() {
        let mut p = priced(TillKind::Staffed);
        assert_eq!(p.earn, Points::new(70));
        let offers = [offer(
            OfferId::new(1),
            OfferReward::CategoryPoints {
                category_id: 10,
                extra_multiplier: 2,
            },
        )];
        apply_offers(&mut p, &offers, at(5), &EarningRules::default());
        assert_eq!(p.earn, Points::new(170));
        assert_eq!(p.lines[0].earned, Points::new(150));
        assert_eq!(p.lines[1].earned, Points::ZERO);
        assert_eq!(p.offers.len(), 1);
        assert_eq!(p.offers[0].points, Points::new(100));
    }

    #[test]
    fn a_receipt_bonus_needs_the_amount_and_skips_excluded_lines() {
        let mut p = priced(TillKind::Staffed);
        let big = [offer(
            OfferId::new(1),
            OfferReward::ReceiptBonus {
                min_paid_kop: 200_000,
                points: 500,
            },
        )];
        apply_offers(&mut p, &big, at(5), &EarningRules::default());
        assert!(p.offers.is_empty());
        let small = [offer(
            OfferId::new(2),
            OfferReward::ReceiptBonus {
                min_paid_kop: 100_000,
                points: 500,
            },
        )];
        apply_offers(&mut p, &small, at(5), &EarningRules::default());
        assert_eq!(p.offers[0].points, Points::new(500));
        assert_eq!(p.lines[1].earned, Points::ZERO, "tobacco gets no share");
        let total: i64 = p.lines.iter().map(|l| l.earned.get()).sum();
        assert_eq!(Points::new(total), p.earn);
    }

    #[test]
    fn nothing_at_self_checkout_out_of_period_or_used_up() {
        let reward = OfferReward::ProductPoints {
            sku: "milk".into(),
            extra_multiplier: 1,
        };
        let mut p = priced(TillKind::SelfCheckout);
        apply_offers(
            &mut p,
            &[offer(OfferId::new(1), reward.clone())],
            at(5),
            &EarningRules::default(),
        );
        assert!(p.offers.is_empty());
        let mut p = priced(TillKind::Staffed);
        apply_offers(
            &mut p,
            &[offer(OfferId::new(1), reward.clone())],
            at(25),
            &EarningRules::default(),
        );
        assert!(p.offers.is_empty());
        let mut used = offer(OfferId::new(1), reward);
        used.uses = 1;
        apply_offers(&mut p, &[used], at(5), &EarningRules::default());
        assert!(p.offers.is_empty());
    }

    proptest::proptest! {
        /// Offers only add, never to lines that earn nothing, and the lines still add up to
        /// what the purchase earns: a return can take every point back.
        #[test]
        fn offers_only_add_and_the_lines_add_up(
            multiplier in 0i64..6,
            bonus in 0i64..5_000,
            min_paid in 0i64..200_000,
            uses in 0u32..3,
            self_checkout in proptest::bool::ANY,
        ) {
            let till = if self_checkout { TillKind::SelfCheckout } else { TillKind::Staffed };
            let before = priced(till);
            let mut after = before.clone();
            let mut offers = vec![
                offer(OfferId::new(1), OfferReward::CategoryPoints { category_id: 10, extra_multiplier: multiplier }),
                offer(OfferId::new(2), OfferReward::ReceiptBonus { min_paid_kop: min_paid, points: bonus }),
                offer(OfferId::new(3), OfferReward::ProductPoints { sku: "cigs".into(), extra_multiplier: multiplier }),
            ];
            for o in &mut offers {
                o.offer.per_customer_limit = 2;
                o.uses = uses;
            }
            apply_offers(&mut after, &offers, at(5), &EarningRules::default());
            let added: i64 = after.offers.iter().map(|o| o.points.get()).sum();
            proptest::prop_assert_eq!(after.earn.get(), before.earn.get() + added);
            let lines: i64 = after.lines.iter().map(|l| l.earned.get()).sum();
            proptest::prop_assert_eq!(lines, after.earn.get());
            for (b, a) in before.lines.iter().zip(&after.lines) {
                proptest::prop_assert!(a.earned >= b.earned);
                if !matches!(a.rule, EarnRule::Base | EarnRule::Favourite) {
                    proptest::prop_assert_eq!(a.earned, b.earned);
                }
            }
            if uses >= 2 || self_checkout {
                proptest::prop_assert!(after.offers.is_empty());
            }
            proptest::prop_assert!(after.offers.iter().all(|o| o.points.is_positive()));
        }
    }
}

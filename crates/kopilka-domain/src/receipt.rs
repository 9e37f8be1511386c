//! A recorded purchase explained line by line (SPEC §3.1: the customer sees why each line
//! earned what it did), and what a customer's own recent purchases would have earned with
//! each favourite category (SPEC §1.6: the chooser shows it before they commit for a month).

use crate::earning::{split, EarnRule, EarningRules};
use crate::member::CategoryId;
use crate::{Kopecks, Points};
use std::collections::HashSet;

id_type!(
    /// A recorded purchase's (a receipt's) id.
    PurchaseId
);

/// Why a line earned what it did, as the receipt shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineReason {
    /// The base rate on what money paid.
    Base,
    /// The favourite category's multiplier.
    Favourite,
    /// A personal offer added points to the line (on top of its rate).
    Offer,
    /// The category earns nothing (tobacco, alcohol…).
    ExcludedCategory,
    /// Bought at a self-checkout till, which earns nothing.
    SelfCheckout,
    /// The day's receipts that earn were used up.
    DailyLimit,
}

impl LineReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LineReason::Base => "base",
            LineReason::Favourite => "favourite",
            LineReason::Offer => "offer",
            LineReason::ExcludedCategory => "excluded_category",
            LineReason::SelfCheckout => "self_checkout",
            LineReason::DailyLimit => "daily_limit",
        }
    }
}

/// A line as the purchase recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedLine {
    pub amount: Kopecks,
    pub discount: Kopecks,
    pub rule: EarnRule,
    /// Everything the line earned, offers included.
    pub earned: Points,
}

/// One line's points taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineExplanation {
    pub reason: LineReason,
    /// What the earning rule gave the line.
    pub rule_points: Points,
    /// What personal offers added.
    pub offer_points: Points,
}

fn multiplier(rule: EarnRule, rules: &EarningRules) -> i64 {
    match rule {
        EarnRule::Base => 1,
        EarnRule::Favourite => rules.favourite_multiplier,
        EarnRule::ExcludedCategory | EarnRule::SelfCheckout | EarnRule::DailyLimit => 0,
    }
}

/// Takes each line's points apart into what its rule gave and what offers added, by pricing
/// the receipt's rule part again exactly as `earning::price` did (the same split of the same
/// units), so the offer part is whatever is left.
pub fn explain(lines: &[RecordedLine], rules: &EarningRules) -> Vec<LineExplanation> {
    let units: Vec<i64> = lines
        .iter()
        .map(|l| (l.amount.get() - l.discount.get()) * multiplier(l.rule, rules))
        .collect();
    let earned_by_rules = units.iter().sum::<i64>() / rules.kopecks_per_point;
    let shares = split(earned_by_rules, &units);
    lines
        .iter()
        .zip(shares)
        .map(|(line, share)| {
            // Never more than the line earned: a rule changed since the purchase must not
            // show a negative offer.
            let rule_points = share.min(line.earned.get()).max(0);
            let offer_points = line.earned.get() - rule_points;
            let reason = if offer_points > 0 {
                LineReason::Offer
            } else {
                match line.rule {
                    EarnRule::Base => LineReason::Base,
                    EarnRule::Favourite => LineReason::Favourite,
                    EarnRule::ExcludedCategory => LineReason::ExcludedCategory,
                    EarnRule::SelfCheckout => LineReason::SelfCheckout,
                    EarnRule::DailyLimit => LineReason::DailyLimit,
                }
            };
            LineExplanation {
                reason,
                rule_points: Points::new(rule_points),
                offer_points: Points::new(offer_points),
            }
        })
        .collect()
}

/// What a customer's lines in one category under one rule paid, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySpending {
    pub category_id: CategoryId,
    pub rule: EarnRule,
    pub amount: Kopecks,
    pub discount: Kopecks,
    /// What was returned of those goods, at their price.
    pub refunded: Kopecks,
}

impl CategorySpending {
    /// What money paid for the goods kept: the paid part in proportion to what was not
    /// returned.
    fn paid_and_kept(&self) -> i64 {
        let amount = i128::from(self.amount.get());
        if amount <= 0 {
            return 0;
        }
        let paid = i128::from(self.amount.get() - self.discount.get());
        let kept = i128::from((self.amount.get() - self.refunded.get()).max(0));
        (paid * kept / amount) as i64
    }
}

/// The points the rules would have given `spending` had `favourite` (a category with every
/// category below it) been the favourite all along. Lines that earned nothing (excluded
/// categories, self-checkout, past the daily limit) would still earn nothing; offers are left
/// out, being the same whatever the choice. Rounded once over the whole, not per receipt, so
/// it is the estimate the chooser calls it.
pub fn earned_with_favourite(
    spending: &[CategorySpending],
    favourite: &HashSet<CategoryId>,
    rules: &EarningRules,
) -> Points {
    let units: i64 = spending
        .iter()
        .filter(|s| matches!(s.rule, EarnRule::Base | EarnRule::Favourite))
        .map(|s| {
            let m = if favourite.contains(&s.category_id) {
                rules.favourite_multiplier
            } else {
                1
            };
            s.paid_and_kept() * m
        })
        .sum();
    Points::new(units / rules.kopecks_per_point)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::earning::{price, Basket, Line, PurchaseContext, TillKind};
    use crate::offers::{apply_offers, ActivatedOffer, Offer, OfferId, OfferReward, OfferTarget};
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    fn basket(amounts: &[i64], categories: &[i64]) -> Basket {
        Basket::parse(
            amounts
                .iter()
                .zip(categories)
                .enumerate()
                .map(|(i, (a, c))| Line {
                    line_id: format!("{i}"),
                    sku: format!("sku{i}"),
                    category_id: *c,
                    amount: Kopecks::new(*a),
                })
                .collect(),
        )
        .expect("basket")
    }

    fn context(favourite: &[i64], excluded: &[i64]) -> PurchaseContext {
        PurchaseContext {
            available: Points::new(10_000),
            till: TillKind::Staffed,
            favourite_categories: favourite.iter().copied().collect(),
            excluded_categories: excluded.iter().copied().collect(),
            earning_receipts_today: 0,
            redemption_locked: false,
        }
    }

    fn recorded(p: &crate::earning::Priced) -> Vec<RecordedLine> {
        p.lines
            .iter()
            .map(|l| RecordedLine {
                amount: l.amount,
                discount: l.discount,
                rule: l.rule,
                earned: l.earned,
            })
            .collect()
    }

    fn receipt_bonus(points: i64) -> ActivatedOffer {
        let at = |d| {
            Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0)
                .single()
                .expect("date")
        };
        ActivatedOffer {
            offer: Offer {
                id: OfferId::new(1),
                title: "bonus".into(),
                description: String::new(),
                reward: OfferReward::ReceiptBonus {
                    min_paid_kop: 0,
                    points,
                },
                target: OfferTarget::Everyone,
                starts_at: at(1),
                ends_at: at(28),
                per_customer_limit: 1,
            },
            categories: HashSet::new(),
            uses: 0,
        }
    }

    #[test]
    fn each_rule_is_named_and_offers_are_told_apart() {
        let rules = EarningRules::default();
        // Bread (base), cheese (favourite ×2), tobacco (excluded).
        let mut priced = price(
            &basket(&[50_000, 30_000, 20_000], &[1, 2, 3]),
            Points::ZERO,
            &context(&[2], &[3]),
            &rules,
        );
        let plain = explain(&recorded(&priced), &rules);
        assert_eq!(
            plain.iter().map(|e| e.reason).collect::<Vec<_>>(),
            [
                LineReason::Base,
                LineReason::Favourite,
                LineReason::ExcludedCategory
            ]
        );
        assert_eq!(plain[0].rule_points, Points::new(50));
        assert_eq!(plain[1].rule_points, Points::new(60));

        let at = Utc
            .with_ymd_and_hms(2026, 3, 10, 12, 0, 0)
            .single()
            .expect("date");
        apply_offers(&mut priced, &[receipt_bonus(80)], at, &rules);
        let with_offer = explain(&recorded(&priced), &rules);
        assert_eq!(with_offer[0].reason, LineReason::Offer);
        assert_eq!(with_offer[0].rule_points, Points::new(50));
        assert_eq!(with_offer[2].reason, LineReason::ExcludedCategory);
        let offered: i64 = with_offer.iter().map(|e| e.offer_points.get()).sum();
        assert_eq!(offered, 80);
    }

    proptest! {
        /// Whatever the basket and the offer, the rule part is exactly what pricing gave
        /// before the offer, and the offer part is exactly what the offer added.
        #[test]
        fn explanation_takes_apart_exactly_what_pricing_put_together(
            amounts in prop::collection::vec(1i64..500_000, 1..8),
            favourite in prop::collection::vec(any::<bool>(), 8),
            bonus in 0i64..500,
        ) {
            let rules = EarningRules::default();
            let categories: Vec<i64> = (0..amounts.len() as i64).collect();
            let favourites: Vec<i64> = categories.iter().copied().filter(|c| favourite[*c as usize]).collect();
            let mut priced = price(&basket(&amounts, &categories), Points::ZERO, &context(&favourites, &[]), &rules);
            let before: Vec<i64> = priced.lines.iter().map(|l| l.earned.get()).collect();
            let at = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).single().expect("date");
            apply_offers(&mut priced, &[receipt_bonus(bonus)], at, &rules);
            let explained = explain(&recorded(&priced), &rules);
            for ((e, b), l) in explained.iter().zip(&before).zip(&priced.lines) {
                prop_assert_eq!(e.rule_points.get(), *b);
                prop_assert_eq!(e.rule_points.get() + e.offer_points.get(), l.earned.get());
            }
        }
    }

    #[test]
    fn the_chooser_counts_the_favourite_twice_and_the_excluded_never() {
        let rules = EarningRules::default();
        let spend = |category_id, rule, amount: i64, refunded: i64| CategorySpending {
            category_id,
            rule,
            amount: Kopecks::new(amount),
            discount: Kopecks::ZERO,
            refunded: Kopecks::new(refunded),
        };
        let spending = [
            spend(1, EarnRule::Base, 100_000, 0),
            spend(2, EarnRule::Favourite, 50_000, 10_000),
            spend(3, EarnRule::ExcludedCategory, 70_000, 0),
        ];
        let with =
            |c: &[i64]| earned_with_favourite(&spending, &c.iter().copied().collect(), &rules);
        // 1000 ₽ + 400 ₽ kept = 140 points at the base rate.
        assert_eq!(with(&[]), Points::new(140));
        assert_eq!(with(&[1]), Points::new(240));
        assert_eq!(with(&[2]), Points::new(180));
        assert_eq!(
            with(&[3]),
            Points::new(140),
            "an excluded category earns nothing"
        );
    }
}

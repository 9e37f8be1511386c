//! Earning and spending at the till (SPEC §3.2–3.5, §3.9): what a basket earns, how much of it
//! points may pay, and how a return takes back and gives back points line by line.
//!
//! Everything is integer: kopecks for money, whole points. Amounts split across lines by the
//! largest-remainder method, so the parts always add up to the whole.

use crate::ledger::MovementKind;
use crate::member::CategoryId;
use crate::{DomainError, Kopecks, Points, Validation};
use kopilka_text::Message;
use std::collections::{HashMap, HashSet};

id_type!(
    /// A till's id.
    TillId
);

/// The earning rules, with the spec's defaults.
#[derive(Debug, Clone)]
pub struct EarningRules {
    /// Kopecks paid in money per point earned: 1 point per 10 roubles.
    pub kopecks_per_point: i64,
    /// Multiplier on lines in the customer's favourite category.
    pub favourite_multiplier: i64,
    /// Kopecks one point pays: 1 point = 1 rouble.
    pub kopecks_per_redeemed_point: i64,
    /// Share of a receipt points may pay, in percent.
    pub max_redeem_percent: i64,
    /// Receipts per member per day that earn points.
    pub earning_receipts_per_day: u32,
    /// Whether self-checkout tills earn (SPEC §3.3: they do not).
    pub self_checkout_earns: bool,
    /// Whether points may be spent at self-checkout tills.
    pub self_checkout_redeems: bool,
}

impl Default for EarningRules {
    fn default() -> Self {
        Self {
            kopecks_per_point: 1000,
            favourite_multiplier: 2,
            kopecks_per_redeemed_point: 100,
            max_redeem_percent: 99,
            earning_receipts_per_day: 5,
            self_checkout_earns: false,
            self_checkout_redeems: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TillKind {
    Staffed,
    SelfCheckout,
}

impl TillKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TillKind::Staffed => "staffed",
            TillKind::SelfCheckout => "self_checkout",
        }
    }
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        match s {
            "staffed" => Ok(Self::Staffed),
            "self_checkout" => Ok(Self::SelfCheckout),
            _ => Err("till_kind_invalid"),
        }
    }
}

/// One line of a receipt as the till sends it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub line_id: String,
    pub sku: String,
    pub category_id: CategoryId,
    /// What the line costs before points.
    pub amount: Kopecks,
}

/// A valid basket: 1 to 1000 lines, unique line ids, positive amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basket {
    lines: Vec<Line>,
}

pub const MAX_LINES: usize = 1000;
/// One line may not cost more than a hundred million roubles.
const MAX_LINE_KOPECKS: i64 = 10_000_000_000;

impl Basket {
    pub fn parse(lines: Vec<Line>) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        if lines.is_empty() || lines.len() > MAX_LINES {
            v.add("lines", Message::new("lines_count").with("max", MAX_LINES));
        }
        let mut seen = HashSet::new();
        for (i, line) in lines.iter().enumerate() {
            if line.line_id.is_empty() || line.line_id.len() > 64 {
                v.add(&format!("lines[{i}].line_id"), "text_1_to_64");
            } else if !seen.insert(line.line_id.as_str()) {
                v.add(&format!("lines[{i}].line_id"), "line_id_repeated");
            }
            if line.sku.is_empty() || line.sku.len() > 64 {
                v.add(&format!("lines[{i}].sku"), "text_1_to_64");
            }
            if line.amount.get() <= 0 || line.amount.get() > MAX_LINE_KOPECKS {
                v.add(&format!("lines[{i}].amount_kop"), "line_amount_positive");
            }
        }
        v.finish()?;
        Ok(Self { lines })
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    pub fn total(&self) -> Kopecks {
        self.lines.iter().map(|l| l.amount).sum()
    }
}

/// What the rules need to know about the customer and the till at the moment of purchase.
#[derive(Debug, Clone)]
pub struct PurchaseContext {
    pub available: Points,
    pub till: TillKind,
    /// The favourite category and every category below it.
    pub favourite_categories: HashSet<CategoryId>,
    /// Excluded categories and every category below them.
    pub excluded_categories: HashSet<CategoryId>,
    /// Receipts that already earned today (in the chain's time zone).
    pub earning_receipts_today: u32,
    /// Spending is locked for the first days of a new card (SPEC §3.9).
    pub redemption_locked: bool,
}

/// One line after pricing: what points paid of it, what money paid, what it earned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PricedLine {
    pub line_id: String,
    pub sku: String,
    pub category_id: CategoryId,
    pub amount: Kopecks,
    pub discount: Kopecks,
    /// This line's share of the points spent, for returns.
    pub redeemed: Points,
    /// This line's share of the points earned, for returns.
    pub earned: Points,
    /// Why the line earned what it earned, for the history.
    pub rule: EarnRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EarnRule {
    Base,
    Favourite,
    ExcludedCategory,
    SelfCheckout,
    DailyLimit,
}

impl EarnRule {
    pub fn as_str(self) -> &'static str {
        match self {
            EarnRule::Base => "base",
            EarnRule::Favourite => "favourite",
            EarnRule::ExcludedCategory => "excluded_category",
            EarnRule::SelfCheckout => "self_checkout",
            EarnRule::DailyLimit => "daily_limit",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Some(match s {
            "base" => EarnRule::Base,
            "favourite" => EarnRule::Favourite,
            "excluded_category" => EarnRule::ExcludedCategory,
            "self_checkout" => EarnRule::SelfCheckout,
            "daily_limit" => EarnRule::DailyLimit,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub earn: Points,
    pub max_redeem: Points,
    pub redeem: Points,
    pub discount: Kopecks,
    pub payable: Kopecks,
    pub lines: Vec<PricedLine>,
    /// What activated personal offers added; already counted in `earn` and the lines.
    pub offers: Vec<crate::offers::OfferAward>,
}

impl Priced {
    /// The rules that shaped what this purchase earned, for the customer's history.
    pub fn explanation(&self) -> Vec<Message> {
        let has = |rule| self.lines.iter().any(|l| l.rule == rule);
        [
            (has(EarnRule::Favourite), "history_rule_favourite"),
            (has(EarnRule::ExcludedCategory), "history_rule_excluded"),
            (has(EarnRule::SelfCheckout), "history_rule_self_checkout"),
            (has(EarnRule::DailyLimit), "history_rule_daily_limit"),
            (self.redeem.is_positive(), "history_rule_paid_with_points"),
        ]
        .into_iter()
        .filter(|(applies, _)| *applies)
        .map(|(_, key)| Message::new(key))
        .collect()
    }

    /// `base` (what was bought where, a stored message) with the rules that shaped the
    /// points, stored for the history.
    pub fn describe(&self, base: &str) -> String {
        let rules = self.explanation();
        if rules.is_empty() {
            return base.to_owned();
        }
        let base = Message::from_stored(base)
            .unwrap_or_else(|| Message::new("verbatim").with("text", base));
        Message::new("history_explained")
            .with_messages("base", vec![base])
            .with_messages("rules", rules)
            .to_stored()
    }

    /// The transfers a sale's earnings are credited by, in the history's order: what the
    /// rules earned (`base_description`, explained), then what each offer added, each a line
    /// of its own. They add up to `earn`; one lot holds them, so a return takes them back
    /// together.
    pub fn accruals(&self, base_description: &str, receipt_id: &str) -> Vec<Accrual> {
        if !self.earn.is_positive() {
            return Vec::new();
        }
        let from_offers: i64 = self.offers.iter().map(|o| o.points.get()).sum();
        let by_rules = self.earn.get() - from_offers;
        let mut accruals = Vec::with_capacity(1 + self.offers.len());
        if by_rules > 0 {
            accruals.push(Accrual {
                kind: MovementKind::Accrual,
                points: by_rules,
                description: self.describe(base_description),
            });
        }
        accruals.extend(self.offers.iter().map(|award| Accrual {
            kind: MovementKind::Offer,
            points: award.points.get(),
            description: award.description(receipt_id),
        }));
        accruals
    }
}

/// One transfer of what a sale earned (`Priced::accruals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accrual {
    pub kind: MovementKind,
    pub points: i64,
    pub description: String,
}

/// Splits `total` over `weights` in proportion, by largest remainder: the parts add up to
/// `total` exactly and no part exceeds its exact share by a whole unit.
pub fn split(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if sum == 0 || total == 0 {
        return vec![0; weights.len()];
    }
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = i128::from(total) * i128::from((*w).max(0));
        parts.push((exact / sum) as i64);
        remainders.push((exact % sum, i));
    }
    let mut left = total - parts.iter().sum::<i64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// Prices a basket: the most points may pay, what `requested` of them pays (clamped to that
/// most), and what the money part earns.
pub fn price(
    basket: &Basket,
    requested: Points,
    ctx: &PurchaseContext,
    rules: &EarningRules,
) -> Priced {
    let total = basket.total().get();
    let redeem_allowed =
        !ctx.redemption_locked && (ctx.till == TillKind::Staffed || rules.self_checkout_redeems);
    let cap = total * rules.max_redeem_percent / 100 / rules.kopecks_per_redeemed_point;
    let max_redeem = if redeem_allowed {
        ctx.available.get().max(0).min(cap)
    } else {
        0
    };
    let redeem = requested.get().clamp(0, max_redeem);
    let discount = redeem * rules.kopecks_per_redeemed_point;

    let amounts: Vec<i64> = basket.lines().iter().map(|l| l.amount.get()).collect();
    let discounts = split(discount, &amounts);
    let redeemed = split(redeem, &amounts);

    let till_earns = ctx.till == TillKind::Staffed || rules.self_checkout_earns;
    let under_daily_limit = ctx.earning_receipts_today < rules.earning_receipts_per_day;
    let mut rules_applied = Vec::with_capacity(amounts.len());
    let units: Vec<i64> = basket
        .lines()
        .iter()
        .zip(&discounts)
        .map(|(line, d)| {
            let paid = line.amount.get() - d;
            let (rule, multiplier) = if !till_earns {
                (EarnRule::SelfCheckout, 0)
            } else if ctx.excluded_categories.contains(&line.category_id) {
                (EarnRule::ExcludedCategory, 0)
            } else if !under_daily_limit {
                (EarnRule::DailyLimit, 0)
            } else if ctx.favourite_categories.contains(&line.category_id) {
                (EarnRule::Favourite, rules.favourite_multiplier)
            } else {
                (EarnRule::Base, 1)
            };
            rules_applied.push(rule);
            paid * multiplier
        })
        .collect();
    let earn = units.iter().sum::<i64>() / rules.kopecks_per_point;
    let earned = split(earn, &units);

    let lines = basket
        .lines()
        .iter()
        .enumerate()
        .map(|(i, l)| PricedLine {
            line_id: l.line_id.clone(),
            sku: l.sku.clone(),
            category_id: l.category_id,
            amount: l.amount,
            discount: Kopecks::new(discounts[i]),
            redeemed: Points::new(redeemed[i]),
            earned: Points::new(earned[i]),
            rule: rules_applied[i],
        })
        .collect();
    Priced {
        earn: Points::new(earn),
        max_redeem: Points::new(max_redeem),
        redeem: Points::new(redeem),
        discount: Kopecks::new(discount),
        payable: Kopecks::new(total - discount),
        lines,
        offers: Vec::new(),
    }
}

/// A line as stored after the purchase, with what was returned of it so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundableLine {
    pub line_id: String,
    pub amount: Kopecks,
    pub earned: Points,
    pub redeemed: Points,
    pub refunded: Kopecks,
    pub taken_back: Points,
    pub returned: Points,
}

/// What one refund does to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRefund {
    pub line_id: String,
    pub amount: Kopecks,
    pub taken_back: Points,
    pub returned: Points,
}

/// Plans a refund (SPEC §3.5). `requested` is (line id, amount) pairs; `None` returns all that
/// is left of the receipt. Points go back in proportion to the money returned, counted
/// cumulatively per line, so that returning a line in parts takes back exactly what returning
/// it at once would, and never more than it earned or spent.
pub fn plan_refund(
    lines: &[RefundableLine],
    requested: Option<&[(String, Kopecks)]>,
) -> Result<Vec<LineRefund>, DomainError> {
    let by_id: HashMap<&str, &RefundableLine> =
        lines.iter().map(|l| (l.line_id.as_str(), l)).collect();
    let wanted: Vec<(&RefundableLine, i64)> = match requested {
        None => lines
            .iter()
            .filter(|l| l.refunded < l.amount)
            .map(|l| (l, (l.amount - l.refunded).get()))
            .collect(),
        Some(req) => {
            let mut v = Validation::default();
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            if req.is_empty() {
                v.add("lines", "refund_lines_empty");
            }
            for (i, (id, amount)) in req.iter().enumerate() {
                match by_id.get(id.as_str()) {
                    None => v.add(&format!("lines[{i}].line_id"), "refund_no_such_line"),
                    Some(_) if !seen.insert(id.as_str()) => {
                        v.add(&format!("lines[{i}].line_id"), "refund_line_repeated")
                    }
                    Some(line) => {
                        let left = (line.amount - line.refunded).get();
                        if amount.get() <= 0 || amount.get() > left {
                            v.add(
                                &format!("lines[{i}].amount_kop"),
                                Message::new("refund_amount_range").with("left", left),
                            );
                        } else {
                            out.push((*line, amount.get()));
                        }
                    }
                }
            }
            v.finish()?;
            out
        }
    };
    if wanted.is_empty() {
        return Err(DomainError::field("lines", "refund_already_whole"));
    }
    Ok(wanted
        .into_iter()
        .map(|(line, amount)| {
            let refunded_after = line.refunded.get() + amount;
            let share = |points: Points| points.get() * refunded_after / line.amount.get();
            LineRefund {
                line_id: line.line_id.clone(),
                amount: Kopecks::new(amount),
                taken_back: Points::new(share(line.earned) - line.taken_back.get()),
                returned: Points::new(share(line.redeemed) - line.returned.get()),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(id: &str, category: i64, kop: i64) -> Line {
        Line {
            line_id: id.into(),
            sku: format!("sku-{id}"),
            category_id: category,
            amount: Kopecks::new(kop),
        }
    }

    fn ctx(available: i64) -> PurchaseContext {
        PurchaseContext {
            available: Points::new(available),
            till: TillKind::Staffed,
            favourite_categories: [10].into(),
            excluded_categories: [8].into(),
            earning_receipts_today: 0,
            redemption_locked: false,
        }
    }

    #[test]
    fn one_point_per_ten_roubles_double_in_the_favourite_category_none_on_tobacco() {
        let basket = Basket::parse(vec![
            line("1", 10, 25_000),
            line("2", 11, 15_050),
            line("3", 8, 30_000),
        ])
        .unwrap();
        let p = price(&basket, Points::ZERO, &ctx(0), &EarningRules::default());
        // 250 ₽ ×2 + 150.50 ₽ = 650.50 → 65 points; tobacco earns nothing.
        assert_eq!(p.earn, Points::new(65));
        assert_eq!(p.lines[2].earned, Points::ZERO);
        assert_eq!(p.lines[2].rule, EarnRule::ExcludedCategory);
        assert_eq!(p.lines[0].rule, EarnRule::Favourite);
        assert_eq!(p.payable, Kopecks::new(70_050));
    }

    #[test]
    fn points_earn_only_on_money_and_pay_at_most_99_percent() {
        let basket = Basket::parse(vec![line("1", 11, 10_000)]).unwrap();
        let p = price(
            &basket,
            Points::new(500),
            &ctx(500),
            &EarningRules::default(),
        );
        assert_eq!(p.max_redeem, Points::new(99));
        assert_eq!(p.redeem, Points::new(99));
        assert_eq!(p.payable, Kopecks::new(100));
        assert_eq!(p.earn, Points::ZERO, "1 rouble paid in money earns nothing");
        let p = price(
            &basket,
            Points::new(40),
            &ctx(500),
            &EarningRules::default(),
        );
        assert_eq!(
            (p.redeem, p.discount, p.earn),
            (Points::new(40), Kopecks::new(4_000), Points::new(6))
        );
    }

    #[test]
    fn self_checkout_spends_but_does_not_earn_and_the_sixth_receipt_does_not_earn() {
        let basket = Basket::parse(vec![line("1", 11, 100_000)]).unwrap();
        let mut c = ctx(50);
        c.till = TillKind::SelfCheckout;
        let p = price(&basket, Points::new(50), &c, &EarningRules::default());
        assert_eq!((p.earn, p.redeem), (Points::ZERO, Points::new(50)));
        let mut c = ctx(0);
        c.earning_receipts_today = 5;
        let p = price(&basket, Points::ZERO, &c, &EarningRules::default());
        assert_eq!(p.earn, Points::ZERO);
        assert_eq!(p.lines[0].rule, EarnRule::DailyLimit);
    }

    #[test]
    fn baskets_are_validated() {
        assert!(Basket::parse(vec![]).is_err());
        assert!(Basket::parse(vec![line("1", 1, 100), line("1", 1, 100)]).is_err());
        assert!(Basket::parse(vec![line("1", 1, 0)]).is_err());
        assert!(Basket::parse(vec![line("", 1, 10)]).is_err());
    }

    #[test]
    fn refunds_in_parts_add_up_to_the_whole() {
        let lines = vec![RefundableLine {
            line_id: "1".into(),
            amount: Kopecks::new(1000),
            earned: Points::new(7),
            redeemed: Points::new(3),
            refunded: Kopecks::ZERO,
            taken_back: Points::ZERO,
            returned: Points::ZERO,
        }];
        let first = plan_refund(&lines, Some(&[("1".into(), Kopecks::new(300))])).unwrap();
        assert_eq!(
            (first[0].taken_back, first[0].returned),
            (Points::new(2), Points::ZERO)
        );
        let after = vec![RefundableLine {
            refunded: Kopecks::new(300),
            taken_back: Points::new(2),
            ..lines[0].clone()
        }];
        let rest = plan_refund(&after, None).unwrap();
        assert_eq!(
            (rest[0].amount, rest[0].taken_back, rest[0].returned),
            (Kopecks::new(700), Points::new(5), Points::new(3))
        );
        assert!(plan_refund(&after, Some(&[("1".into(), Kopecks::new(701))])).is_err());
        assert!(plan_refund(&after, Some(&[("9".into(), Kopecks::new(1))])).is_err());
    }

    proptest! {
        #[test]
        fn split_adds_up_and_stays_near_the_exact_share(total in 0i64..1_000_000, weights in proptest::collection::vec(0i64..1_000_000, 1..20)) {
            let parts = split(total, &weights);
            let sum: i64 = weights.iter().sum();
            if sum == 0 {
                prop_assert!(parts.iter().all(|p| *p == 0));
            } else {
                prop_assert_eq!(parts.iter().sum::<i64>(), total);
                for (p, w) in parts.iter().zip(&weights) {
                    let exact = total as f64 * *w as f64 / sum as f64;
                    prop_assert!((*p as f64 - exact).abs() < 1.0 + 1e-9);
                }
            }
        }

        #[test]
        fn pricing_never_breaks_the_rules(
            amounts in proptest::collection::vec(1i64..5_000_000, 1..12),
            categories in proptest::collection::vec(prop_oneof![Just(8i64), Just(10), Just(11)], 12),
            available in -500i64..100_000,
            requested in 0i64..200_000,
            self_checkout in any::<bool>(),
            receipts_today in 0u32..8,
        ) {
            let lines: Vec<Line> = amounts.iter().enumerate().map(|(i, a)| line(&i.to_string(), categories[i], *a)).collect();
            let basket = Basket::parse(lines).unwrap();
            let mut c = ctx(available);
            c.earning_receipts_today = receipts_today;
            if self_checkout { c.till = TillKind::SelfCheckout; }
            let rules = EarningRules::default();
            let p = price(&basket, Points::new(requested), &c, &rules);
            let total = basket.total().get();
            prop_assert!(p.redeem.get() <= available.max(0), "never more than the balance");
            prop_assert!(p.discount.get() * 100 <= total * 99, "at most 99% of the receipt");
            prop_assert_eq!(p.payable.get() + p.discount.get(), total);
            prop_assert!(p.earn.get() * rules.kopecks_per_point <= p.payable.get() * rules.favourite_multiplier, "earned on money only");
            prop_assert_eq!(p.lines.iter().map(|l| l.earned.get()).sum::<i64>(), p.earn.get());
            prop_assert_eq!(p.lines.iter().map(|l| l.redeemed.get()).sum::<i64>(), p.redeem.get());
            prop_assert!(p.lines.iter().all(|l| l.discount <= l.amount));
            if self_checkout || receipts_today >= 5 { prop_assert_eq!(p.earn, Points::ZERO); }
        }

        #[test]
        fn refunds_are_bounded_by_the_purchase(parts in proptest::collection::vec(1i64..400, 1..6), earned in 0i64..500, redeemed in 0i64..500) {
            let amount = 1000i64;
            let mut line = RefundableLine { line_id: "1".into(), amount: Kopecks::new(amount), earned: Points::new(earned), redeemed: Points::new(redeemed), refunded: Kopecks::ZERO, taken_back: Points::ZERO, returned: Points::ZERO };
            for part in parts {
                let left = (line.amount - line.refunded).get();
                if left == 0 { break; }
                let r = plan_refund(std::slice::from_ref(&line), Some(&[("1".into(), Kopecks::new(part.min(left)))])).unwrap();
                prop_assert!(r[0].taken_back.get() >= 0 && r[0].returned.get() >= 0);
                line.refunded = line.refunded + r[0].amount;
                line.taken_back = line.taken_back + r[0].taken_back;
                line.returned = line.returned + r[0].returned;
                prop_assert!(line.taken_back.get() <= earned && line.returned.get() <= redeemed);
            }
            if line.refunded < line.amount {
                let r = plan_refund(std::slice::from_ref(&line), None).unwrap();
                line.taken_back = line.taken_back + r[0].taken_back;
                line.returned = line.returned + r[0].returned;
            }
            prop_assert_eq!((line.taken_back.get(), line.returned.get()), (earned, redeemed));
        }
    }
}

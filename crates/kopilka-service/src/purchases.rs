//! The customer's purchases as receipts, each line explained (SPEC §3.1), and the favourite
//! category's chooser: what their own recent purchases would have earned with each category
//! and when they may next change it (SPEC §1.6).

use crate::{Kopilka, ServiceResult};
use chrono::{DateTime, Months, Utc};
use kopilka_domain::earning::EarnRule;
use kopilka_domain::member::{self, Member, MemberId};
use kopilka_domain::receipt::PurchaseId;
use kopilka_domain::receipt::{
    earned_with_favourite, explain, CategorySpending, LineExplanation, RecordedLine,
};
use kopilka_domain::{DomainError, Kopecks, Points};
use kopilka_store::{Category, PurchaseCursor, PurchaseLineRecord, PurchaseRecord, Receipt};

#[derive(Debug)]
pub struct PurchasePage {
    /// Newest first, without their lines.
    pub items: Vec<PurchaseRecord>,
    pub next_cursor: Option<String>,
}

/// A receipt with each line's points taken apart.
#[derive(Debug)]
pub struct ExplainedReceipt {
    pub receipt: Receipt,
    /// One per line of `receipt.purchase.lines`, in the same order.
    pub explanations: Vec<LineExplanation>,
}

impl ExplainedReceipt {
    pub fn lines(&self) -> impl Iterator<Item = (&PurchaseLineRecord, &LineExplanation)> {
        self.receipt.purchase.lines.iter().zip(&self.explanations)
    }
}

/// One category the customer may choose as favourite.
#[derive(Debug, Clone)]
pub struct FavouriteChoice {
    pub category: Category,
    /// What the customer's purchases since `FavouriteChooser::since` would have earned with
    /// it (at the rules' rates, offers aside).
    pub would_have_earned: Points,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct FavouriteChooser {
    /// Best first; the current choice among them.
    pub choices: Vec<FavouriteChoice>,
    pub since: DateTime<Utc>,
    /// `None`: it may change now.
    pub next_change_at: Option<DateTime<Utc>>,
}

fn encode_cursor(p: &PurchaseRecord) -> String {
    format!("{}.{}", p.purchased_at.timestamp_micros(), p.id)
}

fn decode_cursor(s: &str) -> Result<PurchaseCursor, DomainError> {
    let bad = || DomainError::field("cursor", "cursor_invalid");
    let (at, id) = s.split_once('.').ok_or_else(bad)?;
    let at = at
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(bad)?;
    Ok(PurchaseCursor {
        at,
        id: PurchaseId::new(id),
    })
}

fn recorded(line: &PurchaseLineRecord) -> RecordedLine {
    RecordedLine {
        amount: Kopecks::new(line.amount_kop),
        discount: Kopecks::new(line.discount_kop),
        // A rule this version does not know earned like the base rate did.
        rule: EarnRule::from_db(&line.rule).unwrap_or(EarnRule::Base),
        earned: Points::new(line.earned),
    }
}

impl Kopilka {
    pub async fn purchases(
        &self,
        member: MemberId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<PurchasePage> {
        let limit = self.page_limit(limit)?;
        let before = cursor.map(decode_cursor).transpose()?;
        let mut items = self.store().purchases_of(member, before, limit + 1).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(encode_cursor)
        } else {
            None
        };
        Ok(PurchasePage { items, next_cursor })
    }

    /// One of the member's own receipts; another member's is as unknown as a missing one.
    pub async fn receipt(&self, member: MemberId, id: i64) -> ServiceResult<ExplainedReceipt> {
        let receipt = self
            .store()
            .receipt(member, PurchaseId::new(id))
            .await?
            .ok_or(DomainError::NotFound("purchase"))?;
        let lines: Vec<RecordedLine> = receipt.purchase.lines.iter().map(recorded).collect();
        let explanations = explain(&lines, &self.rules().earning);
        Ok(ExplainedReceipt {
            receipt,
            explanations,
        })
    }

    /// The categories a customer may sensibly choose as favourite: the ones with no category
    /// below them (dairy, bread, toys…, not "food" as a whole), without those that earn
    /// nothing; by name.
    pub async fn favourite_candidates(&self) -> ServiceResult<Vec<Category>> {
        let tree = self.inner.categories.tree(self.store()).await?;
        let excluded = tree.with_descendants(self.rules().excluded_categories.iter().copied());
        let mut candidates: Vec<Category> = self
            .store()
            .categories()
            .await?
            .into_iter()
            .filter(|c| !tree.has_children(c.id) && !excluded.contains(&c.id))
            .collect();
        candidates.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(candidates)
    }

    /// Every candidate category with what the member's purchases of the last months would
    /// have earned had it been the favourite, best first.
    pub async fn favourite_chooser(&self, member: &Member) -> ServiceResult<FavouriteChooser> {
        let now = self.now();
        let rules = self.rules();
        let since = now
            .checked_sub_months(Months::new(rules.favourite_lookback_months))
            .unwrap_or(now);
        let spending: Vec<CategorySpending> = self
            .store()
            .spending_by_category(member.id, since)
            .await?
            .into_iter()
            .filter_map(|s| {
                Some(CategorySpending {
                    category_id: s.category_id,
                    rule: EarnRule::from_db(&s.rule)?,
                    amount: Kopecks::new(s.amount_kop),
                    discount: Kopecks::new(s.discount_kop),
                    refunded: Kopecks::new(s.refunded_kop),
                })
            })
            .collect();
        let tree = self.inner.categories.tree(self.store()).await?;
        let current = member.profile.favourite_category_id;
        let mut choices: Vec<FavouriteChoice> = self
            .favourite_candidates()
            .await?
            .into_iter()
            .map(|category| FavouriteChoice {
                would_have_earned: earned_with_favourite(
                    &spending,
                    &tree.with_descendants([category.id]),
                    &rules.earning,
                ),
                current: current == Some(category.id),
                category,
            })
            .collect();
        choices.sort_by(|a, b| {
            b.would_have_earned
                .cmp(&a.would_have_earned)
                .then_with(|| a.category.name.cmp(&b.category.name))
        });
        let next_change_at = member::favourite_category_change_allowed(
            member.favourite_category_set_at,
            now,
            rules.timezone,
        )
        .err();
        Ok(FavouriteChooser {
            choices,
            since,
            next_change_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = PurchaseCursor {
            at: DateTime::from_timestamp_micros(1_780_000_000_123_456).expect("time"),
            id: PurchaseId::new(42),
        };
        let record = PurchaseRecord {
            id: cursor.id,
            store_id: kopilka_domain::member::StoreId::new(1),
            receipt_id: "r".into(),
            card_number: String::new(),
            purchased_at: cursor.at,
            total_kop: 0,
            discount_kop: 0,
            payable_kop: 0,
            earned: 0,
            redeemed: 0,
            lines: Vec::new(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&record)).ok(), Some(cursor));
        for garbage in ["", "12", "x.1", "1.x", "1.0", "1.-3"] {
            assert!(decode_cursor(garbage).is_err(), "{garbage}");
        }
    }
}

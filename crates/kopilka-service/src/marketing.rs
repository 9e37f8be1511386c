//! Marketing's back office: personal offers with their targeting, how many customers a
//! targeting reaches now, and promotions and events, each on a schedule. Every change is
//! audited with what it was before and after.

use crate::staff::{authorize, Actor};
use crate::{Kopilka, ServiceResult};
use kopilka_domain::offers::{check_period, check_text, Offer, OfferId, OfferTarget};
use kopilka_domain::staff::Permission;
use kopilka_domain::{DomainError, Validation};
use kopilka_store::{Promotion, StaffMember, StoreError};
use std::collections::HashSet;

/// Offers and promotions the back office lists at once.
const LISTED_MAX: u32 = 500;

impl Kopilka {
    /// Every offer, the newest first (marketing, administrators).
    pub async fn marketing_offers(&self, staff: &StaffMember) -> ServiceResult<Vec<Offer>> {
        authorize(staff, Permission::RunMarketing)?;
        Ok(self.store().all_offers(LISTED_MAX).await?)
    }

    pub async fn marketing_offer(&self, staff: &StaffMember, id: OfferId) -> ServiceResult<Offer> {
        authorize(staff, Permission::RunMarketing)?;
        self.store()
            .offer(id)
            .await?
            .ok_or_else(|| DomainError::NotFound("offer").into())
    }

    /// How many customers a targeting reaches now, by the same rule that shows them the
    /// offer (`Offer::is_for`).
    pub async fn reach(&self, staff: &StaffMember, target: &OfferTarget) -> ServiceResult<u64> {
        authorize(staff, Permission::RunMarketing)?;
        let audience = target.audience(self.now(), self.rules().timezone);
        Ok(self.store().reach(&audience).await?)
    }

    /// Adds an offer (`id` `None`) or changes one; every wrong field is refused at once.
    pub async fn save_offer(
        &self,
        staff: &StaffMember,
        id: Option<OfferId>,
        offer: Offer,
    ) -> ServiceResult<Offer> {
        authorize(staff, Permission::RunMarketing)?;
        let categories: HashSet<_> = self
            .store()
            .categories()
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        let offer = Offer {
            title: offer.title.trim().to_owned(),
            description: offer.description.trim().to_owned(),
            ..offer
        };
        offer.check(&categories)?;
        let before = match id {
            Some(id) => Some(
                self.store()
                    .offer(id)
                    .await?
                    .ok_or(DomainError::NotFound("offer"))?,
            ),
            None => None,
        };
        let audit = self.audit_entry(
            Actor::Staff(staff.id.get()),
            if id.is_some() {
                "offer.update"
            } else {
                "offer.create"
            },
            "offer:",
            serde_json::json!({ "before": before, "after": offer }).to_string(),
        );
        let saved = match self.store().save_offer(id, &offer, audit).await {
            Err(StoreError::NotFound) => return Err(DomainError::NotFound("offer").into()),
            other => other?,
        };
        Ok(Offer { id: saved, ..offer })
    }

    /// Promotions and events of every city and time, the newest first.
    pub async fn marketing_promotions(&self, staff: &StaffMember) -> ServiceResult<Vec<Promotion>> {
        authorize(staff, Permission::RunMarketing)?;
        Ok(self.store().all_promotions(None, LISTED_MAX).await?)
    }

    /// Adds a promotion or event (`id` `None`) or changes one.
    pub async fn save_promotion(
        &self,
        staff: &StaffMember,
        id: Option<i64>,
        promotion: Promotion,
    ) -> ServiceResult<Promotion> {
        authorize(staff, Permission::RunMarketing)?;
        let promotion = Promotion {
            title: promotion.title.trim().to_owned(),
            description: promotion.description.trim().to_owned(),
            city: promotion
                .city
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            ..promotion
        };
        let mut v = Validation::default();
        check_text(&mut v, &promotion.title, &promotion.description);
        check_period(&mut v, promotion.starts_at, promotion.ends_at);
        if let Some(city) = &promotion.city {
            v.check("city", kopilka_domain::member::parse_city(city));
        }
        if let Some(store) = promotion.store_id {
            let stores = self.store_locations().await?;
            if !stores.iter().any(|s| s.id == store) {
                v.add("store_id", "store_unknown");
            }
        }
        v.finish()?;
        let before = match id {
            Some(id) => Some(
                self.store()
                    .all_promotions(Some(id), 1)
                    .await?
                    .pop()
                    .ok_or(DomainError::NotFound("promotion"))?,
            ),
            None => None,
        };
        let audit = self.audit_entry(
            Actor::Staff(staff.id.get()),
            if id.is_some() {
                "promotion.update"
            } else {
                "promotion.create"
            },
            "promotion:",
            serde_json::json!({
                "before": before.as_ref().map(promotion_json),
                "after": promotion_json(&promotion),
            })
            .to_string(),
        );
        let saved = match self.store().save_promotion(id, &promotion, audit).await {
            Err(StoreError::NotFound) => return Err(DomainError::NotFound("promotion").into()),
            other => other?,
        };
        Ok(Promotion {
            id: saved,
            ..promotion
        })
    }
}

fn promotion_json(p: &Promotion) -> serde_json::Value {
    serde_json::json!({
        "kind": p.kind.as_str(), "title": p.title, "description": p.description, "city": p.city,
        "store_id": p.store_id, "starts_at": p.starts_at, "ends_at": p.ends_at,
    })
}

//! Personal offers (SPEC §5.2): the customer sees the offers meant for them, activates one,
//! and the till applies it to the next purchases up to the offer's limit.

use crate::{Kopilka, ServiceResult};
use chrono::{DateTime, Utc};
use kopilka_domain::member::Member;
use kopilka_domain::offers::{ActivatedOffer, Offer, OfferId, OfferReward};
use kopilka_domain::DomainError;
use kopilka_store::Activation;

/// An offer as one customer sees it.
#[derive(Debug, Clone)]
pub struct MemberOffer {
    pub offer: Offer,
    pub activated_at: Option<DateTime<Utc>>,
    pub uses_left: u32,
}

impl Kopilka {
    /// Running offers meant for this customer, and the ones they activated (even if the
    /// targeting no longer matches: an activated offer stays theirs until it ends).
    pub async fn member_offers(&self, member: &Member) -> ServiceResult<Vec<MemberOffer>> {
        Self::require_complete_profile(member)?;
        let now = self.now();
        let activations = self.store().activations(member.id).await?;
        let last_purchase = self.store().last_purchase_at(member.id).await?;
        let tz = self.rules().timezone;
        Ok(self
            .store()
            .running_offers(now)
            .await?
            .into_iter()
            .filter_map(|offer| {
                let activation = activations.iter().find(|a| a.offer_id == offer.id);
                if activation.is_none() && !offer.is_for(member, last_purchase, now, tz) {
                    return None;
                }
                let used = activation.map_or(0, |a| a.uses);
                Some(MemberOffer {
                    uses_left: offer.per_customer_limit.saturating_sub(used),
                    activated_at: activation.map(|a| a.activated_at),
                    offer,
                })
            })
            .collect())
    }

    /// Activates an offer meant for this customer; activating it again changes nothing.
    pub async fn activate_offer(&self, member: &Member, id: OfferId) -> ServiceResult<MemberOffer> {
        Self::require_complete_profile(member)?;
        let now = self.now();
        let offer = self
            .store()
            .offer(id)
            .await?
            .filter(|o| o.is_running(now))
            .ok_or(DomainError::NotFound("offer"))?;
        let already = self
            .store()
            .activations(member.id)
            .await?
            .into_iter()
            .any(|a| a.offer_id == id);
        if !already {
            let last_purchase = self.store().last_purchase_at(member.id).await?;
            // An offer meant for others is as good as absent: its existence is not news.
            if !offer.is_for(member, last_purchase, now, self.rules().timezone) {
                return Err(DomainError::NotFound("offer").into());
            }
        }
        let activation = self.store().activate_offer(member.id, id, now).await?;
        if !already {
            tracing::info!(
                member_id = member.id.get(),
                offer_id = id.get(),
                "offer activated"
            );
        }
        Ok(MemberOffer {
            uses_left: offer.per_customer_limit.saturating_sub(activation.uses),
            activated_at: Some(activation.activated_at),
            offer,
        })
    }

    /// Of the member's activations, the offers running at `at` with uses left, as the till
    /// applies them. Most customers have none, which costs nothing.
    pub(crate) async fn activated_offers(
        &self,
        activations: &[Activation],
        at: DateTime<Utc>,
    ) -> ServiceResult<Vec<ActivatedOffer>> {
        if activations.is_empty() {
            return Ok(Vec::new());
        }
        let tree = self.inner.categories.tree(self.store()).await?;
        // One read of the running offers, not one per activation.
        let mut out = Vec::new();
        for offer in self.store().running_offers(at).await? {
            let Some(activation) = activations.iter().find(|a| a.offer_id == offer.id) else {
                continue;
            };
            if activation.uses >= offer.per_customer_limit {
                continue;
            }
            let categories = match &offer.reward {
                OfferReward::CategoryPoints { category_id, .. } => {
                    tree.with_descendants([*category_id])
                }
                _ => Default::default(),
            };
            out.push(ActivatedOffer {
                offer,
                categories,
                uses: activation.uses,
            });
        }
        Ok(out)
    }
}

//! The customer's cards (SPEC §2): binding a physical card, a new virtual one, blocking a
//! lost one, one-time codes for the till, and printing batches.

use crate::auth::seconds_until;
use crate::security::SecurityEvent;
use crate::staff::Caller;
use crate::{Kopilka, ServiceError, ServiceResult};
use chrono::{DateTime, Utc};
use kopilka_domain::card::{CardBatchId, CardRange};
use kopilka_domain::member::Member;
use kopilka_domain::staff::Permission;
use kopilka_domain::{CardNumber, CardStatus, DomainError};
use kopilka_store::{Card, CardBatch, StaffMember, StoreError};
use rand::rngs::OsRng;

const NUMBER_TRIES: usize = 8;

/// The most cards one batch may hold: a print run, not a warehouse's worth.
pub const CARD_BATCH_MAX: usize = 100_000;
/// Batches the back office lists.
const CARD_BATCHES_LISTED: u32 = 200;

/// A batch just issued: its id and its numbers.
#[derive(Debug, Clone)]
pub struct IssuedBatch {
    pub id: CardBatchId,
    pub numbers: Vec<CardNumber>,
}

impl Kopilka {
    pub(crate) fn require_complete_profile(member: &Member) -> ServiceResult<()> {
        let missing = member.profile.missing_required();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DomainError::ProfileIncomplete { missing }.into())
        }
    }

    /// Binds an unbound physical card; the old active card is blocked, the balance stays.
    /// An unknown number and one bound to someone else get the same answer, so that binding
    /// tells nobody which numbers are in use; and a customer gets only so many tries a day.
    pub async fn bind_card(
        &self,
        member: &Member,
        number: &CardNumber,
        ip: &str,
    ) -> ServiceResult<Card> {
        let now = self.now();
        let (day, tomorrow) = self.local_day(now);
        let tries = self.rules().card_bindings_daily.max(1);
        let key = format!("bind:member:{}", member.id);
        if self.store().claim(&key, day, 1, tries).await?.is_none() {
            self.security_event(
                SecurityEvent::CardBindingRefused,
                &member.phone.masked(),
                ip,
            );
            return Err(DomainError::RateLimited {
                retry_after_s: seconds_until(now, tomorrow),
            }
            .into());
        }
        let card = match self.store().bind_card(member.id, number, now).await {
            Err(StoreError::Rule(DomainError::NotFound(_) | DomainError::CardAlreadyBound)) => {
                let own = self
                    .store()
                    .cards(member.id)
                    .await?
                    .iter()
                    .any(|c| &c.number == number);
                if own {
                    return Err(DomainError::CardAlreadyBound.into());
                }
                self.security_event(SecurityEvent::CardBindingRefused, &number.masked(), ip);
                return Err(DomainError::NotFound("card").into());
            }
            other => other?,
        };
        tracing::info!(
            member_id = member.id.get(),
            card = card.number.last4(),
            "card bound"
        );
        Ok(card)
    }

    /// A new virtual card in place of the active one.
    pub async fn new_virtual_card(&self, member: &Member) -> ServiceResult<Card> {
        for _ in 0..NUMBER_TRIES {
            let number = CardNumber::generate(CardRange::Virtual, &mut OsRng);
            match self
                .store()
                .add_virtual_card(member.id, &number, self.now())
                .await
            {
                Err(StoreError::Conflict(_)) => continue,
                other => return Ok(other?),
            }
        }
        Err(ServiceError::Internal("no free virtual card number".into()))
    }

    pub async fn block_card(&self, member: &Member, number: &CardNumber) -> ServiceResult<Card> {
        let card = self
            .store()
            .block_card(member.id, number, self.now())
            .await?;
        tracing::info!(
            member_id = member.id.get(),
            card = card.number.last4(),
            "card blocked"
        );
        Ok(card)
    }

    /// A short-lived code the till accepts in place of the card: an EAN-13 in the reserved
    /// prefix 29, so every scanner reads it, spent by the purchase it pays.
    pub async fn card_token(&self, member: &Member) -> ServiceResult<(CardNumber, DateTime<Utc>)> {
        Self::require_complete_profile(member)?;
        let card = self
            .store()
            .cards(member.id)
            .await?
            .into_iter()
            .find(|c| c.status == kopilka_domain::CardStatus::Active)
            .ok_or(DomainError::CardBlocked)?;
        let now = self.now();
        let expires_at = now + self.rules().card_token_ttl;
        for _ in 0..NUMBER_TRIES {
            let code = CardNumber::generate(CardRange::OneTimeToken, &mut OsRng);
            match self
                .store()
                .create_card_token(&card.number, &code, now, expires_at)
                .await
            {
                Err(StoreError::Conflict(_)) => continue,
                other => {
                    other?;
                    return Ok((code, expires_at));
                }
            }
        }
        Err(ServiceError::Internal("no free one-time code".into()))
    }

    /// A batch of unbound plastic cards for the printer (`kopilka cards issue`, or a store
    /// manager in the back office): `count` new numbers, each unique across every card.
    pub async fn issue_cards(&self, by: Caller<'_>, count: usize) -> ServiceResult<IssuedBatch> {
        let actor = by.authorize(Permission::IssueCards)?;
        if !(1..=CARD_BATCH_MAX).contains(&count) {
            return Err(DomainError::field(
                "count",
                kopilka_text::Message::new("card_batch_count").with("max", CARD_BATCH_MAX),
            )
            .into());
        }
        let mut batch = None;
        let mut issued = Vec::with_capacity(count);
        while issued.len() < count {
            // One transaction for the whole batch; another only for numbers that collided.
            let numbers: std::collections::BTreeSet<CardNumber> = (0..count - issued.len())
                .map(|_| CardNumber::generate(CardRange::Physical, &mut OsRng))
                .collect();
            let numbers: Vec<CardNumber> = numbers.into_iter().collect();
            // Numbers that collided with existing cards are not returned; the loop makes more.
            let audit =
                self.audit_entry(actor.clone(), "cards.issue", "card_batch:", String::new());
            let (id, added) = self
                .store()
                .issue_cards(batch, &numbers, self.now(), audit)
                .await?;
            batch = Some(id);
            issued.extend(added);
        }
        let id = batch.ok_or_else(|| ServiceError::Internal("an empty card batch".into()))?;
        Ok(IssuedBatch {
            id,
            numbers: issued,
        })
    }

    /// The newest batches with how many of their cards are bound.
    pub async fn card_batches(&self, staff: &StaffMember) -> ServiceResult<Vec<CardBatch>> {
        crate::staff::authorize(staff, Permission::IssueCards)?;
        Ok(self.store().card_batches(CARD_BATCHES_LISTED).await?)
    }

    /// A batch's cards with their status, for the printer and to see which are bound.
    pub async fn batch_cards(
        &self,
        staff: &StaffMember,
        batch: CardBatchId,
    ) -> ServiceResult<Vec<(CardNumber, CardStatus)>> {
        crate::staff::authorize(staff, Permission::IssueCards)?;
        self.store()
            .batch_cards(batch)
            .await?
            .ok_or_else(|| DomainError::NotFound("card_batch").into())
    }
}

/// A batch as the printer takes it, and as staff check which cards went out:
/// `number,status`, one card a line in number order.
pub fn batch_csv(cards: &[(CardNumber, CardStatus)]) -> String {
    let mut csv = String::from("number,status\n");
    for (number, status) in cards {
        csv.push_str(number.as_str());
        csv.push(',');
        csv.push_str(status.as_str());
        csv.push('\n');
    }
    csv
}

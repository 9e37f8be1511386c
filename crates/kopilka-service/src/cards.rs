//! The customer's cards (SPEC §2): binding a physical card, a new virtual one, blocking a
//! lost one, one-time codes for the till, and printing batches.

use crate::auth::seconds_until;
use crate::security::SecurityEvent;
use crate::{Kopilka, ServiceError, ServiceResult};
use chrono::{DateTime, Utc};
use kopilka_domain::card::CardRange;
use kopilka_domain::member::Member;
use kopilka_domain::{CardNumber, DomainError};
use kopilka_store::{Card, StoreError};
use rand::rngs::OsRng;

const NUMBER_TRIES: usize = 8;

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

    /// `kopilka cards issue`: a batch of unbound physical cards.
    pub async fn issue_cards(&self, count: usize) -> ServiceResult<Vec<CardNumber>> {
        let mut issued = Vec::with_capacity(count);
        while issued.len() < count {
            let batch: Vec<CardNumber> = (0..(count - issued.len()).min(10_000))
                .map(|_| CardNumber::generate(CardRange::Physical, &mut OsRng))
                .collect();
            let unique: std::collections::BTreeSet<_> = batch.into_iter().collect();
            let batch: Vec<CardNumber> = unique.into_iter().collect();
            // Numbers that collided with existing cards are not returned; the loop makes more.
            let audit = self.audit_entry(
                crate::staff::Actor::Cli,
                "cards.issue",
                "cards",
                String::new(),
            );
            issued.extend(self.store().issue_cards(&batch, self.now(), audit).await?);
        }
        Ok(issued)
    }
}

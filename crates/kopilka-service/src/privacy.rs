//! The customer's personal-data controls (SPEC §1.7, 152-FZ): a copy of everything the chain
//! keeps about them, and the deletion of their account.

use crate::support::TicketThread;
use crate::{Kopilka, ServiceResult};
use chrono::{DateTime, Utc};
use kopilka_domain::ledger::{Balance, HistoryEntry};
use kopilka_domain::member::{Consents, Member};
use kopilka_domain::offers::Offer;
use kopilka_domain::DomainError;
use kopilka_store::{
    Activation, Card, ConsentRecord, Erased, Erasure, NewAuditEntry, PurchaseRecord, StoreError,
};
use kopilka_text::Message;

/// History is read in pages of this many transfers: a long history is not one huge read.
const HISTORY_PAGE: u32 = 500;

/// What the history says of the points a deleted account gives up.
/// The catalogue key of the line a deletion writes in the history.
const FORFEIT_DESCRIPTION: &str = "history_forfeit";

/// Everything kept about one customer, for their export.
#[derive(Debug, Clone)]
pub struct PersonalData {
    pub exported_at: DateTime<Utc>,
    pub member: Member,
    /// Every consent given or withdrawn, oldest first.
    pub consents: Vec<ConsentRecord>,
    pub balance: Balance,
    pub cards: Vec<Card>,
    /// The whole history, newest first.
    pub history: Vec<HistoryEntry>,
    /// Oldest first, with their lines.
    pub purchases: Vec<PurchaseRecord>,
    /// The offers they activated, with the offer where it still exists.
    pub offers: Vec<(Activation, Option<Offer>)>,
    /// Their tickets, newest first, each with its whole thread.
    pub tickets: Vec<TicketThread>,
}

impl Kopilka {
    /// A copy of everything kept about the customer. Open to an incomplete profile too: the
    /// right to one does not depend on it.
    pub async fn export_personal_data(&self, member: &Member) -> ServiceResult<PersonalData> {
        let store = self.store();
        let records = store.member_records(member.id).await?;
        let mut history = Vec::new();
        loop {
            let page = store
                .history(
                    member.id,
                    HISTORY_PAGE,
                    history.last().map(|e: &HistoryEntry| e.id),
                )
                .await?;
            let last_page = page.len() < HISTORY_PAGE as usize;
            history.extend(page);
            if last_page {
                break;
            }
        }
        let mut offers = Vec::new();
        for activation in store.activations(member.id).await? {
            offers.push((activation, store.offer(activation.offer_id).await?));
        }
        let mut tickets = Vec::new();
        for ticket in store.member_tickets(member.id).await? {
            let messages = store.ticket_messages(ticket.id.get()).await?;
            tickets.push(TicketThread { ticket, messages });
        }
        Ok(PersonalData {
            exported_at: self.now(),
            member: member.clone(),
            consents: records.consents,
            balance: self.balance(member.id).await?,
            cards: store.cards(member.id).await?,
            history,
            purchases: records.purchases,
            offers,
            tickets,
        })
    }

    /// Deletes the customer's account: their sessions end, their cards are blocked, their
    /// personal data is erased and their phone freed, their points forfeited (a debt stays on
    /// the books), all in one store transaction with its audit row. The ledger keeps its
    /// rows, anonymised, so it still balances and every past movement is still explained.
    pub async fn delete_account(&self, member: &Member) -> ServiceResult<Erased> {
        let now = self.now();
        let subject = format!("member:{}", member.id);
        let erased = self
            .store()
            .erase_member(Erasure {
                member: member.id,
                at: now,
                // The withdrawal is a consent record like any other (the law asks for the
                // history), under the texts' current version.
                consents: Consents {
                    personal_data: false,
                    newsletters: false,
                    version: self.rules().consent_version.clone(),
                    recorded_at: now,
                },
                description: Message::new(FORFEIT_DESCRIPTION).to_stored(),
                audit: NewAuditEntry {
                    actor: subject.clone(),
                    action: "member.delete".to_owned(),
                    subject,
                    details: "{}".to_owned(),
                    at: now,
                },
            })
            .await
            .map_err(|e| match e {
                // Deleted meanwhile by another request of theirs: the session is gone too.
                StoreError::NotFound => DomainError::Unauthorized.into(),
                e => crate::ServiceError::from(e),
            })?;
        tracing::info!(
            member_id = member.id.get(),
            forfeited = erased.forfeited.get(),
            debt = erased.debt.get(),
            "account deleted"
        );
        Ok(erased)
    }
}

//! Support tickets and their threads.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::staff::StaffId;
use kopilka_domain::support::{Author, TicketChannel, TicketId, TicketStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    /// The customer's own ticket; `None` for the public forms.
    pub member_id: Option<MemberId>,
    pub channel: TicketChannel,
    /// Who wrote a public form, as they gave it.
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub subject: String,
    pub status: TicketStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub member_id: Option<MemberId>,
    pub channel: TicketChannel,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub subject: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketMessage {
    pub id: i64,
    pub ticket_id: TicketId,
    pub author: Author,
    pub staff_id: Option<StaffId>,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait Support: Send + Sync {
    /// The ticket with its first message.
    async fn create_ticket(&self, ticket: NewTicket) -> StoreResult<Ticket>;
    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>>;
    /// Newest first.
    async fn member_tickets(&self, member: MemberId) -> StoreResult<Vec<Ticket>>;
    /// The staff queue: newest activity first, optionally of one status, before `before_id`.
    async fn tickets(&self, status: Option<TicketStatus>, limit: u32) -> StoreResult<Vec<Ticket>>;
    /// Oldest first.
    async fn ticket_messages(&self, ticket: i64) -> StoreResult<Vec<TicketMessage>>;
    /// Adds a message and moves the ticket to `status`; `NotFound` without the ticket. An
    /// audit row, if given, is written in the same transaction, its subject completed with
    /// the new message's id.
    #[allow(clippy::too_many_arguments)]
    async fn add_ticket_message(
        &self,
        ticket: TicketId,
        author: Author,
        staff_id: Option<StaffId>,
        body: &str,
        status: TicketStatus,
        at: DateTime<Utc>,
        audit: Option<crate::NewAuditEntry>,
    ) -> StoreResult<TicketMessage>;
    /// `NotFound` without the ticket; the audit row in the same transaction.
    async fn set_ticket_status(
        &self,
        ticket: TicketId,
        status: TicketStatus,
        at: DateTime<Utc>,
        audit: Option<crate::NewAuditEntry>,
    ) -> StoreResult<()>;
}

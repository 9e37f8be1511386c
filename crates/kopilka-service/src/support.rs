//! Support (SPEC §5.4, §7.2): the customer's tickets from the account, the public feedback
//! forms, and the staff who answer them.

use crate::auth::{seconds_until, window_start};
use crate::staff::authorize;
use crate::staff::Actor;
use crate::{Kopilka, ServiceResult};
use chrono::Duration;
use kopilka_domain::member::Member;
use kopilka_domain::staff::Permission;
use kopilka_domain::support::TicketId;
use kopilka_domain::support::{Author, TicketChannel, TicketStatus};
use kopilka_domain::{DomainError, Phone};
use kopilka_store::{NewTicket, StaffMember, StoreError, Ticket, TicketMessage};

/// A ticket with its whole thread, oldest message first.
#[derive(Debug, Clone)]
pub struct TicketThread {
    pub ticket: Ticket,
    pub messages: Vec<TicketMessage>,
}

/// A public form, already valid field by field.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub channel: TicketChannel,
    pub name: String,
    pub phone: Option<Phone>,
    pub email: Option<String>,
    pub subject: String,
    pub body: String,
}

/// A feedback form as a person fills it in, every field text.
#[derive(Debug, Default)]
pub struct FeedbackInput<'a> {
    pub channel: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

impl Feedback {
    /// Checks every field at once; the API and the page ask the same of a form.
    pub fn parse(input: &FeedbackInput<'_>) -> Result<Self, DomainError> {
        use kopilka_domain::member::parse_email;
        use kopilka_domain::support::{parse_body, parse_sender_name, parse_subject};
        let mut v = kopilka_domain::Validation::default();
        let channel = match input.channel {
            "customer" => Some(TicketChannel::Customer),
            "employee_contractor" => Some(TicketChannel::EmployeeContractor),
            _ => {
                v.add("channel", "support_channel_invalid");
                None
            }
        };
        let name = v.check("name", parse_sender_name(input.name));
        let phone = v.check_opt(
            "phone",
            Some(input.phone)
                .filter(|p| !p.trim().is_empty())
                .map(Phone::parse),
        );
        let email = v.check_opt(
            "email",
            Some(input.email)
                .filter(|e| !e.trim().is_empty())
                .map(parse_email),
        );
        let subject = v.check("subject", parse_subject(input.subject));
        let body = v.check("body", parse_body(input.body));
        match (channel, name, phone, email, subject, body) {
            (Some(channel), Some(name), Some(phone), Some(email), Some(subject), Some(body)) => {
                Ok(Feedback {
                    channel,
                    name,
                    phone,
                    email,
                    subject,
                    body,
                })
            }
            _ => Err(v.into_error()),
        }
    }
}

impl Kopilka {
    pub async fn open_ticket(
        &self,
        member: &Member,
        subject: String,
        body: String,
    ) -> ServiceResult<TicketThread> {
        Self::require_complete_profile(member)?;
        let ticket = self
            .store()
            .create_ticket(NewTicket {
                member_id: Some(member.id),
                channel: TicketChannel::Account,
                name: None,
                phone: Some(member.phone.to_string()),
                email: member.profile.email.clone(),
                subject,
                body,
                at: self.now(),
            })
            .await?;
        tracing::info!(
            member_id = member.id.get(),
            ticket_id = ticket.id.get(),
            "ticket opened"
        );
        self.thread(ticket).await
    }

    pub async fn member_tickets(&self, member: &Member) -> ServiceResult<Vec<Ticket>> {
        Self::require_complete_profile(member)?;
        Ok(self.store().member_tickets(member.id).await?)
    }

    /// The customer's own ticket; anyone else's is as good as absent.
    pub async fn member_ticket(&self, member: &Member, id: i64) -> ServiceResult<TicketThread> {
        Self::require_complete_profile(member)?;
        let ticket = self
            .store()
            .ticket(TicketId::new(id))
            .await?
            .filter(|t| t.member_id == Some(member.id))
            .ok_or(DomainError::NotFound("ticket"))?;
        self.thread(ticket).await
    }

    /// The customer writes again: the ticket goes back to support, even a closed one.
    pub async fn member_reply(
        &self,
        member: &Member,
        id: i64,
        body: &str,
    ) -> ServiceResult<TicketMessage> {
        let thread = self.member_ticket(member, id).await?;
        Ok(self
            .store()
            .add_ticket_message(
                thread.ticket.id,
                Author::Customer,
                None,
                body,
                TicketStatus::Open,
                self.now(),
                None,
            )
            .await?)
    }

    /// A public form: no account, limited per IP address and per contact given.
    pub async fn feedback(&self, form: Feedback, ip: &str) -> ServiceResult<Ticket> {
        let mut keys = vec![format!("feedback:ip:{ip}")];
        keys.extend(form.phone.as_ref().map(|p| format!("feedback:phone:{p}")));
        keys.extend(
            form.email
                .as_ref()
                .map(|e| format!("feedback:email:{}", e.to_lowercase())),
        );
        let now = self.now();
        let hour = window_start(now, Duration::hours(1));
        let limit = self.rules().feedback_per_hour;
        // Counted and checked in one step per key, so concurrent forms cannot slip past;
        // a form refused by one key is not counted against the next.
        for key in &keys {
            if self.store().hit(key, hour).await? > limit {
                return Err(DomainError::RateLimited {
                    retry_after_s: seconds_until(now, hour + Duration::hours(1)),
                }
                .into());
            }
        }
        let ticket = self
            .store()
            .create_ticket(NewTicket {
                member_id: None,
                channel: form.channel,
                name: Some(form.name),
                phone: form.phone.map(|p| p.to_string()),
                email: form.email,
                subject: form.subject,
                body: form.body,
                at: now,
            })
            .await?;
        tracing::info!(
            ticket_id = ticket.id.get(),
            channel = form.channel.as_str(),
            "feedback received"
        );
        Ok(ticket)
    }

    /// The support queue, most recent activity first.
    pub async fn support_queue(
        &self,
        staff: &StaffMember,
        status: Option<TicketStatus>,
        limit: u32,
    ) -> ServiceResult<Vec<Ticket>> {
        authorize(staff, Permission::AnswerTickets)?;
        Ok(self.store().tickets(status, limit).await?)
    }

    pub async fn support_ticket(
        &self,
        staff: &StaffMember,
        id: i64,
    ) -> ServiceResult<TicketThread> {
        authorize(staff, Permission::AnswerTickets)?;
        let ticket = self
            .store()
            .ticket(TicketId::new(id))
            .await?
            .ok_or(DomainError::NotFound("ticket"))?;
        self.thread(ticket).await
    }

    /// Staff answer; the ticket waits for the customer.
    pub async fn answer_ticket(
        &self,
        staff: &StaffMember,
        id: i64,
        body: &str,
    ) -> ServiceResult<TicketMessage> {
        authorize(staff, Permission::AnswerTickets)?;
        let staff_id = staff.id;
        let audit = self.audit_entry(
            Actor::Staff(staff_id.get()),
            "ticket.answer",
            &format!("ticket:{id}/message:"),
            "{}".to_owned(),
        );
        self.store()
            .add_ticket_message(
                TicketId::new(id),
                Author::Staff,
                Some(staff_id),
                body,
                TicketStatus::Answered,
                self.now(),
                Some(audit),
            )
            .await
            .map_err(not_found)
    }

    pub async fn close_ticket(&self, staff: &StaffMember, id: i64) -> ServiceResult<TicketThread> {
        authorize(staff, Permission::AnswerTickets)?;
        let staff_id = staff.id;
        let audit = self.audit_entry(
            Actor::Staff(staff_id.get()),
            "ticket.close",
            &format!("ticket:{id}"),
            "{}".to_owned(),
        );
        self.store()
            .set_ticket_status(
                TicketId::new(id),
                TicketStatus::Closed,
                self.now(),
                Some(audit),
            )
            .await
            .map_err(not_found)?;
        self.support_ticket(staff, id).await
    }

    async fn thread(&self, ticket: Ticket) -> ServiceResult<TicketThread> {
        let messages = self.store().ticket_messages(ticket.id.get()).await?;
        Ok(TicketThread { ticket, messages })
    }
}

fn not_found(e: StoreError) -> crate::ServiceError {
    match e {
        StoreError::NotFound => DomainError::NotFound("ticket").into(),
        other => other.into(),
    }
}

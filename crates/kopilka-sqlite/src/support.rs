use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::staff::StaffId;
use kopilka_domain::support::TicketId;
use kopilka_domain::support::{Author, TicketChannel, TicketStatus};
use kopilka_store::{NewTicket, StoreError, StoreResult, Support, Ticket, TicketMessage};
use rusqlite::{params, Connection, Row};

const TICKET_COLUMNS: &str =
    "id, member_id, channel, name, phone, email, subject, status, created_at, updated_at";

fn unknown(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {what} {value:?}").into(),
    )
}

fn ticket_row(r: &Row) -> rusqlite::Result<Ticket> {
    let channel: String = r.get(2)?;
    let status: String = r.get(7)?;
    Ok(Ticket {
        id: TicketId::new(r.get(0)?),
        member_id: r.get::<_, Option<i64>>(1)?.map(MemberId::new),
        channel: TicketChannel::parse(&channel).ok_or_else(|| unknown("channel", &channel))?,
        name: r.get(3)?,
        phone: r.get(4)?,
        email: r.get(5)?,
        subject: r.get(6)?,
        status: TicketStatus::parse(&status).ok_or_else(|| unknown("status", &status))?,
        created_at: time(r.get(8)?),
        updated_at: time(r.get(9)?),
    })
}

fn message_row(r: &Row) -> rusqlite::Result<TicketMessage> {
    let author: String = r.get(2)?;
    Ok(TicketMessage {
        id: r.get(0)?,
        ticket_id: TicketId::new(r.get(1)?),
        author: Author::parse(&author).ok_or_else(|| unknown("author", &author))?,
        staff_id: r.get::<_, Option<i64>>(3)?.map(StaffId::new),
        body: r.get(4)?,
        at: time(r.get(5)?),
    })
}

fn insert_message(
    tx: &Connection,
    ticket: i64,
    author: Author,
    staff_id: Option<i64>,
    body: &str,
    at: DateTime<Utc>,
) -> StoreResult<TicketMessage> {
    tx.prepare_cached(
        "INSERT INTO ticket_messages (ticket_id, author, staff_id, body, at) VALUES (?1, ?2, ?3, ?4, ?5) \
         RETURNING id, ticket_id, author, staff_id, body, at",
    )
    .and_then(|mut s| s.query_row(params![ticket, author.as_str(), staff_id, body, micros(at)], message_row))
    .map_err(backend)
}

fn set_status(
    tx: &Connection,
    ticket: i64,
    status: TicketStatus,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let changed = tx
        .prepare_cached("UPDATE tickets SET status = ?2, updated_at = ?3 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![ticket, status.as_str(), micros(at)]))
        .map_err(backend)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[async_trait]
impl Support for SqliteStore {
    async fn create_ticket(&self, t: NewTicket) -> StoreResult<Ticket> {
        self.write(move |tx| {
            let ticket = tx
                .prepare_cached(&format!(
                    "INSERT INTO tickets (member_id, channel, name, phone, email, subject, status, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?7) RETURNING {TICKET_COLUMNS}"
                ))
                .and_then(|mut s| {
                    s.query_row(
                        params![t.member_id.map(MemberId::get), t.channel.as_str(), t.name, t.phone, t.email, t.subject, micros(t.at)],
                        ticket_row,
                    )
                })
                .map_err(backend)?;
            insert_message(tx, ticket.id.get(), Author::Customer, None, &t.body, t.at)?;
            Ok(ticket)
        })
        .await
    }

    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>> {
        self.read(move |c| {
            optional(
                c.prepare_cached(&format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"
                ))
                .and_then(|mut s| s.query_row([id.get()], ticket_row)),
            )
        })
        .await
    }

    async fn member_tickets(&self, member: MemberId) -> StoreResult<Vec<Ticket>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets WHERE member_id = ?1 ORDER BY id DESC"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map([member.get()], ticket_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn tickets(&self, status: Option<TicketStatus>, limit: u32) -> StoreResult<Vec<Ticket>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets WHERE (?1 IS NULL OR status = ?1) \
                     ORDER BY updated_at DESC, id DESC LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![status.map(TicketStatus::as_str), limit], ticket_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn ticket_messages(&self, ticket: i64) -> StoreResult<Vec<TicketMessage>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, ticket_id, author, staff_id, body, at FROM ticket_messages WHERE ticket_id = ?1 ORDER BY id",
                )
                .map_err(backend)?;
            let rows = stmt.query_map([ticket], message_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn add_ticket_message(
        &self,
        ticket: TicketId,
        author: Author,
        staff_id: Option<StaffId>,
        body: &str,
        status: TicketStatus,
        at: DateTime<Utc>,
        audit: Option<kopilka_store::NewAuditEntry>,
    ) -> StoreResult<TicketMessage> {
        let body = body.to_owned();
        self.write(move |tx| {
            set_status(tx, ticket.get(), status, at)?;
            let message = insert_message(
                tx,
                ticket.get(),
                author,
                staff_id.map(|id| id.get()),
                &body,
                at,
            )?;
            if let Some(mut audit) = audit {
                audit.subject.push_str(&message.id.to_string());
                crate::catalog::insert_audit(tx, &audit)?;
            }
            Ok(message)
        })
        .await
    }

    async fn set_ticket_status(
        &self,
        ticket: TicketId,
        status: TicketStatus,
        at: DateTime<Utc>,
        audit: Option<kopilka_store::NewAuditEntry>,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            set_status(tx, ticket.get(), status, at)?;
            if let Some(audit) = &audit {
                crate::catalog::insert_audit(tx, audit)?;
            }
            Ok(())
        })
        .await
    }
}

use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::staff::StaffId;
use kopilka_domain::support::TicketId;
use kopilka_domain::support::{Author, TicketChannel, TicketStatus};
use kopilka_store::{NewTicket, StoreError, StoreResult, Support, Ticket, TicketMessage};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

const TICKET_COLUMNS: &str =
    "id, member_id, channel, name, phone, email, subject, status, created_at, updated_at";

const MESSAGE_COLUMNS: &str = "id, ticket_id, author, staff_id, body, at";

fn unknown(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

fn ticket_row(r: &PgRow) -> StoreResult<Ticket> {
    let channel: String = r.try_get(2).map_err(db)?;
    let status: String = r.try_get(7).map_err(db)?;
    Ok(Ticket {
        id: TicketId::new(r.try_get(0).map_err(db)?),
        member_id: r
            .try_get::<Option<i64>, _>(1)
            .map_err(db)?
            .map(MemberId::new),
        channel: TicketChannel::parse(&channel).ok_or_else(|| unknown("channel", &channel))?,
        name: r.try_get(3).map_err(db)?,
        phone: r.try_get(4).map_err(db)?,
        email: r.try_get(5).map_err(db)?,
        subject: r.try_get(6).map_err(db)?,
        status: TicketStatus::parse(&status).ok_or_else(|| unknown("status", &status))?,
        created_at: r.try_get(8).map_err(db)?,
        updated_at: r.try_get(9).map_err(db)?,
    })
}

fn message_row(r: &PgRow) -> StoreResult<TicketMessage> {
    let author: String = r.try_get(2).map_err(db)?;
    Ok(TicketMessage {
        id: r.try_get(0).map_err(db)?,
        ticket_id: TicketId::new(r.try_get(1).map_err(db)?),
        author: Author::parse(&author).ok_or_else(|| unknown("author", &author))?,
        staff_id: r
            .try_get::<Option<i64>, _>(3)
            .map_err(db)?
            .map(StaffId::new),
        body: r.try_get(4).map_err(db)?,
        at: r.try_get(5).map_err(db)?,
    })
}

async fn insert_message(
    conn: &mut PgConnection,
    ticket: i64,
    author: Author,
    staff_id: Option<i64>,
    body: &str,
    at: DateTime<Utc>,
) -> StoreResult<TicketMessage> {
    let sql = format!(
        "INSERT INTO ticket_messages (ticket_id, author, staff_id, body, at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING {MESSAGE_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(ticket)
        .bind(author.as_str())
        .bind(staff_id)
        .bind(body)
        .bind(at)
        .fetch_one(conn)
        .await
        .map_err(db)?;
    message_row(&row)
}

async fn set_status(
    conn: &mut PgConnection,
    ticket: i64,
    status: TicketStatus,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let changed = sqlx::query("UPDATE tickets SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(ticket)
        .bind(status.as_str())
        .bind(at)
        .execute(conn)
        .await
        .map_err(db)?
        .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[async_trait]
impl Support for PostgresStore {
    async fn create_ticket(&self, t: NewTicket) -> StoreResult<Ticket> {
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let sql = format!(
                "INSERT INTO tickets (member_id, channel, name, phone, email, subject, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7) RETURNING {TICKET_COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(t.member_id.map(MemberId::get))
                .bind(t.channel.as_str())
                .bind(&t.name)
                .bind(&t.phone)
                .bind(&t.email)
                .bind(&t.subject)
                .bind(t.at)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            let ticket = ticket_row(&row)?;
            insert_message(&mut tx, ticket.id.get(), Author::Customer, None, &t.body, t.at).await?;
            tx.commit().await.map_err(db)?;
            Ok(ticket)
        })
        .await
    }

    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| ticket_row(&r))
            .transpose()
    }

    async fn member_tickets(&self, member: MemberId) -> StoreResult<Vec<Ticket>> {
        let sql =
            format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE member_id = $1 ORDER BY id DESC");
        sqlx::query(&sql)
            .bind(member.get())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(ticket_row)
            .collect()
    }

    async fn tickets(&self, status: Option<TicketStatus>, limit: u32) -> StoreResult<Vec<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE ($1::text IS NULL OR status = $1) \
             ORDER BY updated_at DESC, id DESC LIMIT $2"
        );
        sqlx::query(&sql)
            .bind(status.map(TicketStatus::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(ticket_row)
            .collect()
    }

    async fn ticket_messages(&self, ticket: i64) -> StoreResult<Vec<TicketMessage>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM ticket_messages WHERE ticket_id = $1 ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(ticket)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(message_row)
            .collect()
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
        let pool = self.pool.clone();
        let body = body.to_owned();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            set_status(&mut tx, ticket.get(), status, at).await?;
            let message = insert_message(
                &mut tx,
                ticket.get(),
                author,
                staff_id.map(|id| id.get()),
                &body,
                at,
            )
            .await?;
            if let Some(mut audit) = audit {
                audit.subject.push_str(&message.id.to_string());
                crate::catalog::insert_audit(&mut tx, &audit).await?;
            }
            tx.commit().await.map_err(db)?;
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
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            set_status(&mut tx, ticket.get(), status, at).await?;
            if let Some(audit) = &audit {
                crate::catalog::insert_audit(&mut tx, audit).await?;
            }
            tx.commit().await.map_err(db)?;
            Ok(())
        })
        .await
    }
}

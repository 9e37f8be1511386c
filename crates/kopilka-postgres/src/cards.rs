//! Card management for PostgreSQL (`kopilka_store::Cards`): issuing, binding, virtual cards,
//! blocking and one-time codes.

use crate::members::{card_from_row, member_by_id};
use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use kopilka_domain::card::replaced_by;
use kopilka_domain::card::CardBatchId;
use kopilka_domain::member::{Member, MemberId};
use kopilka_domain::{CardNumber, CardStatus, DomainError};
use kopilka_store::convert::with_statuses;
use kopilka_store::{Card, CardBatch, Cards, StoreError, StoreResult};
use sqlx::PgConnection;

async fn card_row(conn: &mut PgConnection, number: &str, lock: bool) -> StoreResult<Option<Card>> {
    let sql = if lock {
        "SELECT number, kind, status, member_id, bound_at FROM cards WHERE number = $1 FOR UPDATE"
    } else {
        "SELECT number, kind, status, member_id, bound_at FROM cards WHERE number = $1"
    };
    sqlx::query(sql)
        .bind(number)
        .fetch_optional(conn)
        .await
        .map_err(db)?
        .map(|r| card_from_row(&r))
        .transpose()
}

/// Makes `number` the member's one active card. The member's row is locked first: a deletion
/// committing meanwhile is waited for and seen (a deleted account gets no new card), and so is
/// another card activated at the same time, which this one then replaces.
/// Binds an issued, unbound card to `member` as their active card, blocking the one active
/// now, the card's row locked: a customer binding a plastic card, or a paper form keyed in.
pub(crate) async fn bind_unbound(
    tx: &mut PgConnection,
    member: MemberId,
    number: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let card = card_row(tx, number, true)
        .await?
        .ok_or(DomainError::NotFound("card"))?;
    card.status.check_bindable(card.member_id.is_some())?;
    make_active(tx, member, number, at).await?;
    sqlx::query(
        "UPDATE cards SET status = 'active', member_id = $2, bound_at = $3 WHERE number = $1",
    )
    .bind(number)
    .bind(member.get())
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    Ok(())
}

async fn make_active(
    conn: &mut PgConnection,
    member: MemberId,
    number: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let live: Option<bool> = sqlx::query_scalar(
        "SELECT deleted_at IS NULL FROM members WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(member.get())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    if live != Some(true) {
        return Err(DomainError::NotFound("member").into());
    }
    let cards: Vec<(String, String)> =
        sqlx::query_as("SELECT number, status FROM cards WHERE member_id = $1")
            .bind(member.get())
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
    let cards = with_statuses(cards)?;
    let replaced = replaced_by(&cards, number);
    if !replaced.is_empty() {
        sqlx::query("UPDATE cards SET status = $2, blocked_at = $3 WHERE number = ANY ($1)")
            .bind(&replaced)
            .bind(CardStatus::Blocked.as_str())
            .bind(at)
            .execute(conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

#[async_trait]
impl Cards for PostgresStore {
    async fn issue_cards(
        &self,
        batch: Option<CardBatchId>,
        numbers: &[CardNumber],
        at: DateTime<Utc>,
        mut audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<(CardBatchId, Vec<CardNumber>)> {
        let numbers: Vec<String> = numbers.iter().map(|n| n.as_str().to_owned()).collect();
        let pool = self.pool.clone();
        let (batch, added): (i64, Vec<String>) = detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let batch: i64 = match batch {
                Some(batch) => batch.get(),
                None => sqlx::query_scalar(
                    "INSERT INTO card_batches (issued_at, issued_by) VALUES ($1, $2) RETURNING id",
                )
                .bind(at)
                .bind(&audit.actor)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?,
            };
            let added: Vec<String> = sqlx::query_scalar(
                "INSERT INTO cards (number, kind, status, created_at, batch_id) \
                 SELECT n, 'physical', 'unbound', $2, $3 FROM UNNEST($1::text[]) AS n \
                 ON CONFLICT DO NOTHING RETURNING number",
            )
            .bind(&numbers)
            .bind(at)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            audit.subject = format!("card_batch:{batch}");
            audit.details = format!("{{\"count\":{}}}", added.len());
            crate::catalog::insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok((batch, added))
        })
        .await?;
        let added = added
            .iter()
            .map(|n| kopilka_store::convert::card_number(n))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((CardBatchId::new(batch), added))
    }

    async fn card_batches(&self, limit: u32) -> StoreResult<Vec<CardBatch>> {
        let rows: Vec<(i64, DateTime<Utc>, String, i64, i64)> = sqlx::query_as(
            "SELECT b.id, b.issued_at, b.issued_by, \
                    (SELECT count(*) FROM cards WHERE batch_id = b.id), \
                    (SELECT count(*) FROM cards WHERE batch_id = b.id AND status <> 'unbound') \
             FROM card_batches b ORDER BY b.id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(id, issued_at, issued_by, cards, bound)| CardBatch {
                id: CardBatchId::new(id),
                issued_at,
                issued_by,
                cards: cards.unsigned_abs(),
                bound: bound.unsigned_abs(),
            })
            .collect())
    }

    async fn batch_cards(
        &self,
        batch: CardBatchId,
    ) -> StoreResult<Option<Vec<(CardNumber, CardStatus)>>> {
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM card_batches WHERE id = $1")
            .bind(batch.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        if known.is_none() {
            return Ok(None);
        }
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT number, status FROM cards WHERE batch_id = $1 ORDER BY number")
                .bind(batch.get())
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        rows.into_iter()
            .map(|(n, st)| {
                Ok((
                    kopilka_store::convert::card_number(&n)?,
                    kopilka_store::convert::card_status(&st)?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()
            .map(Some)
    }

    async fn bind_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card> {
        let pool = self.pool.clone();
        let number = number.as_str().to_owned();
        let card = detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            bind_unbound(&mut tx, member, &number, at).await?;
            let card = card_row(&mut tx, &number, false)
                .await?
                .ok_or(StoreError::NotFound)?;
            tx.commit().await.map_err(db)?;
            Ok(card)
        })
        .await;
        self.caches.forget_member(member);
        card
    }

    async fn add_virtual_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card> {
        let pool = self.pool.clone();
        let number = number.as_str().to_owned();
        let card = detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            sqlx::query("INSERT INTO cards (number, kind, status, member_id, created_at, bound_at) VALUES ($1, 'virtual', 'active', $2, $3, $3)")
                .bind(&number)
                .bind(member.get())
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            make_active(&mut tx, member, &number, at).await?;
            let card = card_row(&mut tx, &number, false).await?.ok_or(StoreError::NotFound)?;
            tx.commit().await.map_err(db)?;
            Ok(card)
        })
        .await;
        self.caches.forget_member(member);
        card
    }

    async fn block_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card> {
        let number = number.as_str().to_owned();
        sqlx::query("UPDATE cards SET status = 'blocked', blocked_at = $3 WHERE number = $1 AND member_id = $2 AND status = 'active'")
            .bind(&number)
            .bind(member.get())
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        self.caches.forget_member(member);
        let mut conn = self.pool.acquire().await.map_err(db)?;
        card_row(&mut conn, &number, false)
            .await?
            .filter(|c| c.member_id == Some(member))
            .ok_or_else(|| DomainError::NotFound("card").into())
    }

    async fn set_card_blocked(
        &self,
        member: MemberId,
        number: &CardNumber,
        blocked: bool,
        at: DateTime<Utc>,
        audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<Card> {
        let pool = self.pool.clone();
        let number = number.as_str().to_owned();
        let card = detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let card = card_row(&mut tx, &number, true)
                .await?
                .filter(|c| c.member_id == Some(member))
                .ok_or(DomainError::NotFound("card"))?;
            if blocked {
                sqlx::query("UPDATE cards SET status = 'blocked', blocked_at = $2 WHERE number = $1 AND status = 'active'")
                    .bind(&number)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            } else {
                card.status.check_unblockable()?;
                make_active(&mut tx, member, &number, at).await?;
                sqlx::query("UPDATE cards SET status = 'active', blocked_at = NULL WHERE number = $1")
                    .bind(&number)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            crate::catalog::insert_audit(&mut tx, &audit).await?;
            let card = card_row(&mut tx, &number, false).await?.ok_or(StoreError::NotFound)?;
            tx.commit().await.map_err(db)?;
            Ok(card)
        })
        .await;
        self.caches.forget_member(member);
        card
    }

    async fn create_card_token(
        &self,
        card: &CardNumber,
        code: &CardNumber,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        // Spent and expired codes are kept for a day, for support, then forgotten.
        sqlx::query("DELETE FROM card_tokens WHERE expires_at < $1")
            .bind(created_at - Duration::days(1))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        sqlx::query("INSERT INTO card_tokens (code, card_number, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(code.as_str())
            .bind(card.as_str())
            .bind(created_at)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(|e| match db(e) {
                StoreError::Conflict(_) => StoreError::Conflict("card_number"),
                other => other,
            })?;
        Ok(())
    }

    async fn resolve_card_token(
        &self,
        code: &CardNumber,
        now: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<(Member, Card)>> {
        let number: Option<String> = sqlx::query_scalar(
            "SELECT card_number FROM card_tokens WHERE code = $1 AND ($2::timestamptz IS NULL OR (used_at IS NULL AND expires_at > $2))",
        )
        .bind(code.as_str())
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        let Some(number) = number else {
            return Ok(None);
        };
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let Some(card) = card_row(&mut conn, &number, false).await? else {
            return Ok(None);
        };
        let Some(member_id) = card.member_id else {
            return Ok(None);
        };
        Ok(member_by_id(&mut conn, member_id).await?.map(|m| (m, card)))
    }
}

//! Card management for SQLite (`kopilka_store::Cards`): issuing, binding, virtual cards,
//! blocking and one-time codes.

use crate::members::{card_from_row, member_where};
use crate::{backend, micros, optional, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::card::replaced_by;
use kopilka_domain::card::CardBatchId;
use kopilka_domain::member::{Member, MemberId};
use kopilka_domain::{CardNumber, CardStatus, DomainError};
use kopilka_store::convert::with_statuses;
use kopilka_store::{Card, CardBatch, Cards, StoreError, StoreResult};
use rusqlite::{params, Connection, OptionalExtension};

fn card_row(conn: &Connection, number: &str) -> StoreResult<Option<Card>> {
    conn.prepare_cached(
        "SELECT number, kind, status, member_id, bound_at FROM cards WHERE number = ?1",
    )
    .and_then(|mut s| s.query_row([number], |r| card_from_row(r, 0)).optional())
    .map_err(backend)?
    .transpose()
}

/// Binds an issued, unbound card to `member` as their active card, blocking the one active
/// now: a customer binding a plastic card, or a paper form keyed in.
pub(crate) fn bind_unbound(
    tx: &Connection,
    member: MemberId,
    number: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let card = card_row(tx, number)?.ok_or(DomainError::NotFound("card"))?;
    card.status.check_bindable(card.member_id.is_some())?;
    make_active(tx, member, number, micros(at))?;
    tx.execute(
        "UPDATE cards SET status = 'active', member_id = ?2, bound_at = ?3 WHERE number = ?1",
        params![number, member.get(), micros(at)],
    )
    .map_err(backend)?;
    Ok(())
}

/// Makes `number` the member's one active card; a deleted account gets no new card (the one
/// writer runs this after any deletion that committed first).
fn make_active(conn: &Connection, member: MemberId, number: &str, at: i64) -> StoreResult<()> {
    let live: Option<bool> = crate::optional(conn.query_row(
        "SELECT deleted_at IS NULL FROM members WHERE id = ?1",
        [member.get()],
        |r| r.get(0),
    ))?;
    if live != Some(true) {
        return Err(DomainError::NotFound("member").into());
    }
    let cards: Vec<(String, String)> = conn
        .prepare_cached("SELECT number, status FROM cards WHERE member_id = ?1")
        .and_then(|mut s| {
            s.query_map([member.get()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(backend)?;
    let cards = with_statuses(cards)?;
    for replaced in replaced_by(&cards, number) {
        conn.prepare_cached("UPDATE cards SET status = ?2, blocked_at = ?3 WHERE number = ?1")
            .and_then(|mut s| s.execute(params![replaced, CardStatus::Blocked.as_str(), at]))
            .map_err(backend)?;
    }
    Ok(())
}

#[async_trait]
impl Cards for SqliteStore {
    async fn issue_cards(
        &self,
        batch: Option<CardBatchId>,
        numbers: &[CardNumber],
        at: DateTime<Utc>,
        mut audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<(CardBatchId, Vec<CardNumber>)> {
        let numbers = numbers.to_vec();
        self.write(move |tx| {
            let batch = match batch {
                Some(batch) => batch,
                None => {
                    tx.execute(
                        "INSERT INTO card_batches (issued_at, issued_by) VALUES (?1, ?2)",
                        params![micros(at), audit.actor],
                    )
                    .map_err(backend)?;
                    CardBatchId::new(tx.last_insert_rowid())
                }
            };
            let mut stmt = tx
                .prepare_cached("INSERT INTO cards (number, kind, status, created_at, batch_id) VALUES (?1, 'physical', 'unbound', ?2, ?3) ON CONFLICT DO NOTHING")
                .map_err(backend)?;
            let mut added = Vec::with_capacity(numbers.len());
            for n in numbers {
                if stmt
                    .execute(params![n.as_str(), micros(at), batch.get()])
                    .map_err(backend)?
                    == 1
                {
                    added.push(n);
                }
            }
            audit.subject = format!("card_batch:{batch}");
            audit.details = format!("{{\"count\":{}}}", added.len());
            crate::catalog::insert_audit(tx, &audit)?;
            Ok((batch, added))
        })
        .await
    }

    async fn card_batches(&self, limit: u32) -> StoreResult<Vec<CardBatch>> {
        self.read(move |conn| {
            let rows: Vec<(i64, i64, String, i64, i64)> = conn
                .prepare_cached(
                    "SELECT b.id, b.issued_at, b.issued_by, \
                            (SELECT count(*) FROM cards WHERE batch_id = b.id), \
                            (SELECT count(*) FROM cards WHERE batch_id = b.id AND status <> 'unbound') \
                     FROM card_batches b ORDER BY b.id DESC LIMIT ?1",
                )
                .and_then(|mut s| {
                    s.query_map([limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?
                    .collect()
                })
                .map_err(backend)?;
            Ok(rows
                .into_iter()
                .map(|(id, at, by, cards, bound)| CardBatch {
                    id: CardBatchId::new(id),
                    issued_at: crate::time(at),
                    issued_by: by,
                    cards: cards.unsigned_abs(),
                    bound: bound.unsigned_abs(),
                })
                .collect())
        })
        .await
    }

    async fn batch_cards(
        &self,
        batch: CardBatchId,
    ) -> StoreResult<Option<Vec<(CardNumber, CardStatus)>>> {
        self.read(move |conn| {
            let known: Option<i64> = optional(conn.query_row(
                "SELECT id FROM card_batches WHERE id = ?1",
                [batch.get()],
                |r| r.get(0),
            ))?;
            if known.is_none() {
                return Ok(None);
            }
            let rows: Vec<(String, String)> = conn
                .prepare_cached(
                    "SELECT number, status FROM cards WHERE batch_id = ?1 ORDER BY number",
                )
                .and_then(|mut s| {
                    s.query_map([batch.get()], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect()
                })
                .map_err(backend)?;
            rows.into_iter()
                .map(|(n, st)| {
                    Ok((
                        kopilka_store::convert::card_number(&n)?,
                        kopilka_store::convert::card_status(&st)?,
                    ))
                })
                .collect::<StoreResult<Vec<_>>>()
                .map(Some)
        })
        .await
    }

    async fn bind_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card> {
        let number = number.as_str().to_owned();
        self.write(move |tx| {
            bind_unbound(tx, member, &number, at)?;
            card_row(tx, &number)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn add_virtual_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card> {
        let number = number.as_str().to_owned();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO cards (number, kind, status, member_id, created_at, bound_at) VALUES (?1, 'virtual', 'active', ?2, ?3, ?3)",
                params![number, member.get(), micros(at)],
            )
            .map_err(backend)?;
            make_active(tx, member, &number, micros(at))?;
            card_row(tx, &number)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn block_card(
        &self,
        member: MemberId,
        number: &CardNumber,
        at: DateTime<Utc>,
    ) -> StoreResult<Card> {
        let number = number.as_str().to_owned();
        self.write(move |tx| {
            let card = card_row(tx, &number)?
                .filter(|c| c.member_id == Some(member))
                .ok_or(DomainError::NotFound("card"))?;
            if card.status == CardStatus::Active {
                tx.execute(
                    "UPDATE cards SET status = 'blocked', blocked_at = ?2 WHERE number = ?1",
                    params![number, micros(at)],
                )
                .map_err(backend)?;
            }
            card_row(tx, &number)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn set_card_blocked(
        &self,
        member: MemberId,
        number: &CardNumber,
        blocked: bool,
        at: DateTime<Utc>,
        audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<Card> {
        let number = number.as_str().to_owned();
        self.write(move |tx| {
            let card = card_row(tx, &number)?
                .filter(|c| c.member_id == Some(member))
                .ok_or(DomainError::NotFound("card"))?;
            if blocked {
                if card.status == CardStatus::Active {
                    tx.execute(
                        "UPDATE cards SET status = 'blocked', blocked_at = ?2 WHERE number = ?1",
                        params![number, micros(at)],
                    )
                    .map_err(backend)?;
                }
            } else {
                card.status.check_unblockable()?;
                make_active(tx, member, &number, micros(at))?;
                tx.execute(
                    "UPDATE cards SET status = 'active', blocked_at = NULL WHERE number = ?1",
                    params![number],
                )
                .map_err(backend)?;
            }
            crate::catalog::insert_audit(tx, &audit)?;
            card_row(tx, &number)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn create_card_token(
        &self,
        card: &CardNumber,
        code: &CardNumber,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (card, code) = (card.as_str().to_owned(), code.as_str().to_owned());
        self.write(move |tx| {
            // Spent and expired codes are kept for a day, for support, then forgotten.
            tx.prepare_cached("DELETE FROM card_tokens WHERE expires_at < ?1")
                .and_then(|mut s| s.execute([micros(created_at) - 86_400_000_000]))
                .map_err(backend)?;
            tx.prepare_cached("INSERT INTO card_tokens (code, card_number, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")
                .and_then(|mut s| s.execute(params![code, card, micros(created_at), micros(expires_at)]))
                .map_err(|e| match backend(e) {
                    StoreError::Conflict(_) => StoreError::Conflict("card_number"),
                    other => other,
                })?;
            Ok(())
        })
        .await
    }

    async fn resolve_card_token(
        &self,
        code: &CardNumber,
        now: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<(Member, Card)>> {
        let code = code.as_str().to_owned();
        self.read(move |c| {
            let number: Option<String> = optional(
                c.prepare_cached(
                    "SELECT card_number FROM card_tokens WHERE code = ?1 AND (?2 IS NULL OR (used_at IS NULL AND expires_at > ?2))",
                )
                .and_then(|mut s| s.query_row(params![code, now.map(micros)], |r| r.get(0))),
            )?;
            let Some(number) = number else { return Ok(None) };
            let Some(card) = card_row(c, &number)? else { return Ok(None) };
            let Some(member_id) = card.member_id else { return Ok(None) };
            Ok(member_where(c, "m.id = ?1", [member_id.get()])?.map(|m| (m, card)))
        })
        .await
    }
}

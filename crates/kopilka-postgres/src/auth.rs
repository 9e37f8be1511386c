use crate::members::{member_from_row, MEMBER_COLUMNS};
use crate::{db, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::Member;
use kopilka_domain::Phone;
use kopilka_store::{
    convert, Limits, NewOtp, NewSession, OtpChallenge, OtpPurpose, Otps, Session, Sessions,
    StoreError, StoreResult, TokenKind,
};
use sqlx::Row;

const SESSION_COLUMNS: &str = "s.id, s.kind, s.subject, s.phone, s.created_at, s.expires_at, \
     COALESCE(s.last_seen_at, s.created_at) AS last_seen_at, s.ip, s.user_agent";

fn session_from_row(r: &sqlx::postgres::PgRow) -> StoreResult<Session> {
    let kind: String = r.try_get("kind").map_err(db)?;
    let phone: Option<String> = r.try_get("phone").map_err(db)?;
    Ok(Session {
        id: r.try_get("id").map_err(db)?,
        kind: TokenKind::from_db(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("bad session kind {kind:?}")))?,
        subject: r.try_get("subject").map_err(db)?,
        phone: phone.as_deref().map(convert::phone).transpose()?,
        created_at: r.try_get("created_at").map_err(db)?,
        expires_at: r.try_get("expires_at").map_err(db)?,
        last_seen_at: r.try_get("last_seen_at").map_err(db)?,
        ip: r.try_get("ip").map_err(db)?,
        user_agent: r.try_get("user_agent").map_err(db)?,
    })
}

#[async_trait]
impl Sessions for PostgresStore {
    async fn create_session(&self, s: NewSession) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, kind, subject, phone, created_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.token_hash)
        .bind(s.kind.as_str())
        .bind(s.subject)
        .bind(s.phone.as_ref().map(Phone::as_str))
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn session(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s \
             WHERE s.token_hash = $1 AND s.kind = $2 AND s.revoked_at IS NULL AND s.expires_at > $3"
        );
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .bind(kind.as_str())
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn session_member(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(Member, Session)>> {
        if let Some((member, session)) = self.caches.sessions.get(token_hash) {
            if session.expires_at > now {
                return Ok(Some((member, session)));
            }
        }
        let ticket = self.caches.sessions.ticket();
        let sql = format!(
            "SELECT {MEMBER_COLUMNS}, {SESSION_COLUMNS} FROM sessions s JOIN members m ON m.id = s.subject \
             WHERE s.token_hash = $1 AND s.kind = $3 AND s.revoked_at IS NULL AND s.expires_at > $2"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(token_hash)
            .bind(now)
            .bind(TokenKind::Customer.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let member = member_from_row(&row)?;
        let session = session_from_row(&row)?;
        if let Some(ticket) = ticket {
            self.caches.sessions.put(
                ticket,
                token_hash,
                member.id,
                &(member.clone(), session.clone()),
            );
        }
        Ok(Some((member, session)))
    }

    async fn touch_session(
        &self,
        kind: TokenKind,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $3 WHERE token_hash = $1 AND kind = $2")
            .bind(token_hash)
            .bind(kind.as_str())
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        // The cached copy says when it was last seen: read it afresh next time.
        self.caches.sessions.forget(token_hash);
        Ok(())
    }

    async fn sessions_of(
        &self,
        kind: TokenKind,
        subject: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.kind = $1 AND s.subject = $2 \
             AND s.revoked_at IS NULL AND s.expires_at > $3 ORDER BY s.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(subject)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(session_from_row).collect()
    }

    async fn revoke_session(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE sessions SET revoked_at = $3 WHERE token_hash = $1 AND kind = $2 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(kind.as_str())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        // Other nodes hear of it from the trigger; this one forgets at once.
        self.caches.sessions.forget(token_hash);
        Ok(n == 1)
    }

    async fn revoke_session_id(
        &self,
        kind: TokenKind,
        subject: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE sessions SET revoked_at = $4 WHERE id = $1 AND kind = $2 AND subject = $3 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(subject)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if kind == TokenKind::Customer {
            self.caches
                .forget_member(kopilka_domain::member::MemberId::new(subject));
        }
        Ok(n == 1)
    }

    async fn revoke_sessions_of(
        &self,
        kind: TokenKind,
        subject: i64,
        now: DateTime<Utc>,
        except: Option<i64>,
    ) -> StoreResult<u64> {
        let n = sqlx::query(
            "UPDATE sessions SET revoked_at = $3 WHERE kind = $1 AND subject = $2 AND revoked_at IS NULL \
             AND id IS DISTINCT FROM $4",
        )
        .bind(kind.as_str())
        .bind(subject)
        .bind(now)
        .bind(except)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if kind == TokenKind::Customer {
            self.caches
                .forget_member(kopilka_domain::member::MemberId::new(subject));
        }
        Ok(n)
    }
}

#[async_trait]
impl Otps for PostgresStore {
    async fn create_otp(&self, otp: NewOtp) -> StoreResult<i64> {
        // One statement, so no transaction can be left open: retire the old codes, add the new.
        sqlx::query_scalar(
            "WITH retired AS (UPDATE otp_challenges SET retired_at = $4 \
                 WHERE phone = $1 AND purpose = $2 AND retired_at IS NULL) \
             INSERT INTO otp_challenges (phone, purpose, code_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(otp.phone.as_str())
        .bind(otp.purpose.as_str())
        .bind(&otp.code_hash)
        .bind(otp.created_at)
        .bind(otp.expires_at)
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }

    async fn latest_otp(
        &self,
        phone: &Phone,
        purpose: OtpPurpose,
    ) -> StoreResult<Option<OtpChallenge>> {
        let row = sqlx::query(
            "SELECT id, code_hash, created_at, expires_at, failed_attempts FROM otp_challenges \
             WHERE phone = $1 AND purpose = $2 AND retired_at IS NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(phone.as_str())
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(OtpChallenge {
                id: r.try_get(0).map_err(db)?,
                code_hash: r.try_get(1).map_err(db)?,
                created_at: r.try_get(2).map_err(db)?,
                expires_at: r.try_get(3).map_err(db)?,
                failed_attempts: r.try_get::<i32, _>(4).map_err(db)?.max(0) as u32,
            })
        })
        .transpose()
    }

    async fn claim_otp_attempt(&self, id: i64, max: u32) -> StoreResult<Option<u32>> {
        let n: Option<i32> = sqlx::query_scalar(
            "UPDATE otp_challenges SET failed_attempts = failed_attempts + 1 \
             WHERE id = $1 AND failed_attempts < $2 RETURNING failed_attempts",
        )
        .bind(id)
        .bind(i32::try_from(max).unwrap_or(i32::MAX))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(n.map(|n| n.max(0) as u32))
    }

    async fn consume_otp(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE otp_challenges SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL",
        )
        .bind(id)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        Ok(n == 1)
    }
}

#[async_trait]
impl Limits for PostgresStore {
    async fn hit(&self, key: &str, window_start: DateTime<Utc>) -> StoreResult<u32> {
        let n: i32 = sqlx::query_scalar(
            "INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 RETURNING count",
        )
        .bind(key)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(n.max(0) as u32)
    }

    async fn claim(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        amount: u32,
        max: u32,
    ) -> StoreResult<Option<u32>> {
        let n: Option<i32> = sqlx::query_scalar(
            "INSERT INTO rate_counters (key, window_start, count) SELECT $1, $2, $3 WHERE $3 <= $4 \
             ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + $3 \
             WHERE rate_counters.count + $3 <= $4 RETURNING count",
        )
        .bind(key)
        .bind(window_start)
        .bind(i32::try_from(amount).unwrap_or(i32::MAX))
        .bind(i32::try_from(max).unwrap_or(i32::MAX))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(n.map(|n| n.max(0) as u32))
    }

    async fn release(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        amount: u32,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE rate_counters SET count = GREATEST(count - $3, 0) \
             WHERE key = $1 AND window_start = $2",
        )
        .bind(key)
        .bind(window_start)
        .bind(i32::try_from(amount).unwrap_or(i32::MAX))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn peek(&self, key: &str, window_start: DateTime<Utc>) -> StoreResult<u32> {
        let n: Option<i32> = sqlx::query_scalar(
            "SELECT count FROM rate_counters WHERE key = $1 AND window_start = $2",
        )
        .bind(key)
        .bind(window_start)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(n.unwrap_or(0).max(0) as u32)
    }

    async fn start_cooldown(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        // The upsert only replaces a cooldown that has ended; a concurrent request waits for
        // the row lock and then sees the new cooldown.
        let started: Option<DateTime<Utc>> = sqlx::query_scalar(
            "INSERT INTO cooldowns (key, until) VALUES ($1, $3) \
             ON CONFLICT (key) DO UPDATE SET until = excluded.until WHERE cooldowns.until <= $2 RETURNING until",
        )
        .bind(key)
        .bind(now)
        .bind(until)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        if started.is_some() {
            return Ok(None);
        }
        let running: DateTime<Utc> =
            sqlx::query_scalar("SELECT until FROM cooldowns WHERE key = $1")
                .bind(key)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        Ok(Some(running))
    }

    async fn purge_expired(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let a = sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        let mut total = a;
        for sql in [
            "DELETE FROM cooldowns WHERE until < $1",
            "DELETE FROM otp_challenges WHERE expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
        ] {
            total += sqlx::query(sql)
                .bind(before)
                .execute(&self.pool)
                .await
                .map_err(db)?
                .rows_affected();
        }
        Ok(total)
    }
}

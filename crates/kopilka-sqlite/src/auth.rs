use crate::members::member_where;
use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::Member;
use kopilka_domain::Phone;
use kopilka_store::{
    convert, Limits, NewOtp, NewSession, OtpChallenge, OtpPurpose, Otps, Session, Sessions,
    StoreResult, TokenKind,
};
use rusqlite::params;

#[async_trait]
impl Sessions for SqliteStore {
    async fn create_session(&self, s: NewSession) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO sessions (token_hash, kind, subject, phone, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    s.token_hash,
                    s.kind.as_str(),
                    s.subject,
                    s.phone.as_ref().map(Phone::as_str),
                    micros(s.created_at),
                    micros(s.expires_at)
                ])
            })
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn session(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        let hash = token_hash.to_owned();
        self.read(move |c| {
            let row = optional(
                c.prepare_cached(
                    "SELECT id, subject, phone, created_at, expires_at FROM sessions \
                     WHERE token_hash = ?1 AND kind = ?2 AND revoked_at IS NULL AND expires_at > ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![hash, kind.as_str(), micros(now)], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?, r.get::<_, i64>(3)?, r.get::<_, i64>(4)?))
                    })
                }),
            )?;
            row.map(|(id, subject, phone, created_at, expires_at)| {
                Ok(Session {
                    id,
                    kind,
                    subject,
                    phone: phone.as_deref().map(convert::phone).transpose()?,
                    created_at: time(created_at),
                    expires_at: time(expires_at),
                })
            })
            .transpose()
        })
        .await
    }

    async fn session_member(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Member>> {
        let hash = token_hash.to_owned();
        self.read(move |c| {
            member_where(
                c,
                "m.id = (SELECT subject FROM sessions WHERE token_hash = ?1 AND kind = ?3 \
                 AND revoked_at IS NULL AND expires_at > ?2)",
                params![hash, micros(now), TokenKind::Customer.as_str()],
            )
        })
        .await
    }

    async fn revoke_session(
        &self,
        kind: TokenKind,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let hash = token_hash.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE sessions SET revoked_at = ?3 WHERE token_hash = ?1 AND kind = ?2 AND revoked_at IS NULL",
                    params![hash, kind.as_str(), micros(now)],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn revoke_sessions_of(
        &self,
        kind: TokenKind,
        subject: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE sessions SET revoked_at = ?3 WHERE kind = ?1 AND subject = ?2 AND revoked_at IS NULL",
                    params![kind.as_str(), subject, micros(now)],
                )
                .map_err(backend)?;
            Ok(n as u64)
        })
        .await
    }
}

#[async_trait]
impl Otps for SqliteStore {
    async fn create_otp(&self, otp: NewOtp) -> StoreResult<i64> {
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE otp_challenges SET retired_at = ?3 WHERE phone = ?1 AND purpose = ?2 AND retired_at IS NULL",
            )
            .and_then(|mut s| s.execute(params![otp.phone.as_str(), otp.purpose.as_str(), micros(otp.created_at)]))
            .map_err(backend)?;
            tx.prepare_cached(
                "INSERT INTO otp_challenges (phone, purpose, code_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    otp.phone.as_str(),
                    otp.purpose.as_str(),
                    otp.code_hash,
                    micros(otp.created_at),
                    micros(otp.expires_at)
                ])
            })
            .map_err(backend)?;
            Ok(tx.last_insert_rowid())
        })
        .await
    }

    async fn latest_otp(
        &self,
        phone: &Phone,
        purpose: OtpPurpose,
    ) -> StoreResult<Option<OtpChallenge>> {
        let phone = phone.as_str().to_owned();
        self.read(move |c| {
            optional(
                c.prepare_cached(
                    "SELECT id, code_hash, created_at, expires_at, failed_attempts FROM otp_challenges \
                     WHERE phone = ?1 AND purpose = ?2 AND retired_at IS NULL ORDER BY id DESC LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![phone, purpose.as_str()], |r| {
                        Ok(OtpChallenge {
                            id: r.get(0)?,
                            code_hash: r.get(1)?,
                            created_at: time(r.get(2)?),
                            expires_at: time(r.get(3)?),
                            failed_attempts: r.get(4)?,
                        })
                    })
                }),
            )
        })
        .await
    }

    async fn record_otp_failure(&self, id: i64) -> StoreResult<u32> {
        self.write(move |tx| {
            tx.query_row(
                "UPDATE otp_challenges SET failed_attempts = failed_attempts + 1 WHERE id = ?1 RETURNING failed_attempts",
                [id],
                |r| r.get(0),
            )
            .map_err(backend)
        })
        .await
    }

    async fn consume_otp(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE otp_challenges SET retired_at = ?2 WHERE id = ?1 AND retired_at IS NULL",
                    params![id, micros(at)],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }
}

#[async_trait]
impl Limits for SqliteStore {
    async fn hit(&self, key: &str, window_start: DateTime<Utc>) -> StoreResult<u32> {
        let key = key.to_owned();
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO rate_counters (key, window_start, count) VALUES (?1, ?2, 1) \
                 ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1 RETURNING count",
            )
            .and_then(|mut s| s.query_row(params![key, micros(window_start)], |r| r.get(0)))
            .map_err(backend)
        })
        .await
    }

    async fn peek(&self, key: &str, window_start: DateTime<Utc>) -> StoreResult<u32> {
        let key = key.to_owned();
        self.read(move |c| {
            Ok(optional(
                c.prepare_cached(
                    "SELECT count FROM rate_counters WHERE key = ?1 AND window_start = ?2",
                )
                .and_then(|mut s| s.query_row(params![key, micros(window_start)], |r| r.get(0))),
            )?
            .unwrap_or(0))
        })
        .await
    }

    async fn start_cooldown(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let key = key.to_owned();
        self.write(move |tx| {
            // One statement: the upsert only replaces a cooldown that has ended.
            let started = optional(
                tx.prepare_cached(
                    "INSERT INTO cooldowns (key, until) VALUES (?1, ?3) \
                     ON CONFLICT (key) DO UPDATE SET until = excluded.until WHERE cooldowns.until <= ?2 RETURNING until",
                )
                .and_then(|mut s| s.query_row(params![key, micros(now), micros(until)], |r| r.get::<_, i64>(0))),
            )?;
            if started.is_some() {
                return Ok(None);
            }
            tx.query_row("SELECT until FROM cooldowns WHERE key = ?1", [key], |r| r.get::<_, i64>(0))
                .map(|until| Some(time(until)))
                .map_err(backend)
        })
        .await
    }

    async fn purge_expired(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |tx| {
            let a = tx
                .execute(
                    "DELETE FROM rate_counters WHERE window_start < ?1",
                    [micros(before)],
                )
                .map_err(backend)?;
            let mut total = a as u64;
            for sql in [
                "DELETE FROM cooldowns WHERE until < ?1",
                "DELETE FROM otp_challenges WHERE expires_at < ?1",
                "DELETE FROM sessions WHERE expires_at < ?1",
            ] {
                total += tx.execute(sql, [micros(before)]).map_err(backend)? as u64;
            }
            Ok(total)
        })
        .await
    }
}

use crate::members::{member_from_row, MEMBER_COLUMNS};
use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::Member;
use kopilka_domain::Phone;
use kopilka_store::{
    convert, Limits, NewOtp, NewSession, OtpChallenge, OtpPurpose, Otps, Session, Sessions,
    StoreError, StoreResult, TokenKind,
};
use rusqlite::params;

const SESSION_COLUMNS: &str = "s.id, s.kind, s.subject, s.phone, s.created_at, s.expires_at, \
     COALESCE(s.last_seen_at, s.created_at), s.ip, s.user_agent";

fn session_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<Session>> {
    session_at(r, 0)
}

/// A session from the row's columns that start at `at` (after a member's, in a join).
fn session_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<StoreResult<Session>> {
    let kind: String = r.get(at + 1)?;
    let phone: Option<String> = r.get(at + 3)?;
    Ok((|| {
        Ok(Session {
            id: r.get(at).map_err(backend)?,
            kind: TokenKind::from_db(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("bad session kind {kind:?}")))?,
            subject: r.get(at + 2).map_err(backend)?,
            phone: phone.as_deref().map(convert::phone).transpose()?,
            created_at: time(r.get(at + 4).map_err(backend)?),
            expires_at: time(r.get(at + 5).map_err(backend)?),
            last_seen_at: time(r.get(at + 6).map_err(backend)?),
            ip: r.get(at + 7).map_err(backend)?,
            user_agent: r.get(at + 8).map_err(backend)?,
        })
    })())
}

/// Columns of `MEMBER_COLUMNS`, where a joined session's start.
const MEMBER_COLUMN_COUNT: usize = 16;

fn live_session(
    c: &rusqlite::Connection,
    kind: TokenKind,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<Session>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions s \
         WHERE s.token_hash = ?1 AND s.kind = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3"
    );
    optional(c.prepare_cached(&sql).and_then(|mut s| {
        s.query_row(params![hash, kind.as_str(), micros(now)], session_from_row)
    }))?
    .transpose()
}

#[async_trait]
impl Sessions for SqliteStore {
    async fn create_session(&self, s: NewSession) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO sessions (token_hash, kind, subject, phone, created_at, expires_at, ip, user_agent) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    s.token_hash,
                    s.kind.as_str(),
                    s.subject,
                    s.phone.as_ref().map(Phone::as_str),
                    micros(s.created_at),
                    micros(s.expires_at),
                    s.ip,
                    s.user_agent,
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
        self.read(move |c| live_session(c, kind, &hash, now)).await
    }

    async fn session_member(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(Member, Session)>> {
        let hash = token_hash.to_owned();
        // One statement: every customer request starts here.
        self.read(move |c| {
            let sql = format!(
                "SELECT {MEMBER_COLUMNS}, {SESSION_COLUMNS} FROM sessions s JOIN members m ON m.id = s.subject \
                 WHERE s.token_hash = ?1 AND s.kind = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3"
            );
            let row = optional(c.prepare_cached(&sql).and_then(|mut st| {
                st.query_row(
                    params![hash, TokenKind::Customer.as_str(), micros(now)],
                    |r| Ok((member_from_row(r)?, session_at(r, MEMBER_COLUMN_COUNT)?)),
                )
            }))?;
            row.map(|(member, session)| Ok((member?, session?))).transpose()
        })
        .await
    }

    async fn touch_session(
        &self,
        kind: TokenKind,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let hash = token_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE sessions SET last_seen_at = ?3 WHERE token_hash = ?1 AND kind = ?2",
            )
            .and_then(|mut s| s.execute(params![hash, kind.as_str(), micros(at)]))
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn sessions_of(
        &self,
        kind: TokenKind,
        subject: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.kind = ?1 AND s.subject = ?2 \
                 AND s.revoked_at IS NULL AND s.expires_at > ?3 ORDER BY s.id DESC"
            );
            let mut st = c.prepare_cached(&sql).map_err(backend)?;
            let rows = st
                .query_map(
                    params![kind.as_str(), subject, micros(now)],
                    session_from_row,
                )
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend)?).collect()
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

    async fn revoke_session_id(
        &self,
        kind: TokenKind,
        subject: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE sessions SET revoked_at = ?4 WHERE id = ?1 AND kind = ?2 AND subject = ?3 AND revoked_at IS NULL",
                    params![id, kind.as_str(), subject, micros(now)],
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
        except: Option<i64>,
    ) -> StoreResult<u64> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE sessions SET revoked_at = ?3 WHERE kind = ?1 AND subject = ?2 AND revoked_at IS NULL \
                     AND id IS NOT ?4",
                    params![kind.as_str(), subject, micros(now), except],
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

    async fn claim_otp_attempt(&self, id: i64, max: u32) -> StoreResult<Option<u32>> {
        self.write(move |tx| {
            optional(tx.query_row(
                "UPDATE otp_challenges SET failed_attempts = failed_attempts + 1 \
                 WHERE id = ?1 AND failed_attempts < ?2 RETURNING failed_attempts",
                params![id, max],
                |r| r.get(0),
            ))
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

    async fn claim(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        amount: u32,
        max: u32,
    ) -> StoreResult<Option<u32>> {
        let key = key.to_owned();
        self.write(move |tx| {
            optional(
                tx.prepare_cached(
                    "INSERT INTO rate_counters (key, window_start, count) SELECT ?1, ?2, ?3 WHERE ?3 <= ?4 \
                     ON CONFLICT (key, window_start) DO UPDATE SET count = count + ?3 \
                     WHERE rate_counters.count + ?3 <= ?4 RETURNING count",
                )
                .and_then(|mut s| {
                    s.query_row(params![key, micros(window_start), amount, max], |r| {
                        r.get(0)
                    })
                }),
            )
        })
        .await
    }

    async fn release(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        amount: u32,
    ) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE rate_counters SET count = MAX(count - ?3, 0) \
                 WHERE key = ?1 AND window_start = ?2",
            )
            .and_then(|mut s| s.execute(params![key, micros(window_start), amount]))
            .map_err(backend)?;
            Ok(())
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

#[cfg(test)]
mod tests {
    #[test]
    fn a_joined_session_starts_after_the_member_columns() {
        assert_eq!(
            super::MEMBER_COLUMNS.split(',').count(),
            super::MEMBER_COLUMN_COUNT
        );
    }
}

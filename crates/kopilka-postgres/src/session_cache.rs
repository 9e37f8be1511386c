//! Customer sessions recently seen, so that a signed-in app's requests do not each read their
//! session and member from the database: on PostgreSQL that read is a round trip per request.
//!
//! The cache stays coherent across nodes. Triggers (migration 7) notify the channel
//! `kopilka_member_changed` with the member's id when a member changes or a customer session
//! is revoked, on commit; every node listens and forgets that member's entries. A node also
//! forgets locally right after its own such writes, so a client reads its own change at once.
//! While the listening connection is down nothing is served from the cache, and when it is
//! back the cache starts empty: a notification missed in between cannot leave a revoked
//! session working. The lifetime of an entry is only a bound on memory churn, not on
//! staleness.

use chrono::{DateTime, Utc};
use kopilka_domain::member::{Member, MemberId};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

pub(crate) const CHANNEL: &str = "kopilka_member_changed";

/// More signed-in customers than one node serves at once: beyond this it starts afresh.
const MAX_ENTRIES: usize = 200_000;

/// Waits between attempts to listen again after the connection was lost.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

struct Entry {
    member: Member,
    session_expires_at: DateTime<Utc>,
    cached_at: Instant,
}

#[derive(Default)]
struct Entries {
    by_token: HashMap<String, Entry>,
    tokens_of: HashMap<MemberId, Vec<String>>,
}

pub(crate) struct SessionCache {
    ttl: Duration,
    /// Whether this node is listening for changes; nothing is cached or served otherwise.
    live: AtomicBool,
    /// Bumped by every forgetting: a read that began before one must not be cached after it.
    epoch: AtomicU64,
    entries: RwLock<Entries>,
}

/// Taken before reading a session from the database; `put` caches the read only if nothing
/// was forgotten since.
#[derive(Clone, Copy)]
pub(crate) struct Ticket(u64);

impl SessionCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            live: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            entries: RwLock::default(),
        }
    }

    pub(crate) fn get(&self, token_hash: &str, now: DateTime<Utc>) -> Option<Member> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .by_token
            .get(token_hash)
            .filter(|e| e.session_expires_at > now && e.cached_at.elapsed() < self.ttl)
            .map(|e| e.member.clone())
    }

    pub(crate) fn ticket(&self) -> Option<Ticket> {
        (!self.ttl.is_zero() && self.live.load(Ordering::Acquire))
            .then(|| Ticket(self.epoch.load(Ordering::Acquire)))
    }

    pub(crate) fn put(
        &self,
        ticket: Ticket,
        token_hash: &str,
        member: &Member,
        session_expires_at: DateTime<Utc>,
    ) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Under the lock every forgetting takes, so none can slip in between.
        if self.epoch.load(Ordering::Acquire) != ticket.0 || !self.live.load(Ordering::Acquire) {
            return;
        }
        if entries.by_token.len() >= MAX_ENTRIES {
            *entries = Entries::default();
        }
        let entry = Entry {
            member: member.clone(),
            session_expires_at,
            cached_at: Instant::now(),
        };
        if entries
            .by_token
            .insert(token_hash.to_owned(), entry)
            .is_none()
        {
            entries
                .tokens_of
                .entry(member.id)
                .or_default()
                .push(token_hash.to_owned());
        }
    }

    pub(crate) fn forget_member(&self, member: MemberId) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for token in entries.tokens_of.remove(&member).unwrap_or_default() {
            entries.by_token.remove(&token);
        }
    }

    pub(crate) fn forget_token(&self, token_hash: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(entry) = entries.by_token.remove(token_hash) {
            if let Some(tokens) = entries.tokens_of.get_mut(&entry.member.id) {
                tokens.retain(|t| t != token_hash);
                if tokens.is_empty() {
                    entries.tokens_of.remove(&entry.member.id);
                }
            }
        }
    }

    fn reset(&self, live: bool) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        *entries = Entries::default();
        self.live.store(live, Ordering::Release);
    }
}

/// Listens for changes for as long as the cache is in use, listening again after a lost
/// connection. Not started when the cache is off.
pub(crate) fn spawn_listener(pool: PgPool, cache: &Arc<SessionCache>) {
    if cache.ttl.is_zero() {
        return;
    }
    let cache = Arc::downgrade(cache);
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&pool, &cache).await {
                tracing::warn!(error = %e, "session cache: not listening for changes");
            }
            match cache.upgrade() {
                Some(cache) => cache.reset(false),
                None => return,
            }
            tokio::time::sleep(RELISTEN_AFTER).await;
        }
    });
}

/// Forgets what each notification names until the connection is lost (or the store is gone).
async fn listen(pool: &PgPool, cache: &Weak<SessionCache>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Our own reconnecting: after a lost connection the cache must start empty.
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    match cache.upgrade() {
        Some(cache) => cache.reset(true),
        None => return Ok(()),
    }
    while let Some(notification) = listener.try_recv().await? {
        let Some(cache) = cache.upgrade() else {
            return Ok(());
        };
        match notification.payload().parse::<MemberId>() {
            Ok(member) => cache.forget_member(member),
            // Not a member id: forget everything rather than guess.
            Err(_) => cache.reset(true),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopilka_domain::member::{Consents, Profile};
    use kopilka_domain::Phone;

    fn member(id: MemberId) -> Member {
        Member {
            id,
            phone: Phone::parse("+79990000001").unwrap(),
            profile: Profile::default(),
            consents: Consents {
                personal_data: true,
                newsletters: false,
                version: "1".into(),
                recorded_at: Utc::now(),
            },
            favourite_category_set_at: None,
            created_at: Utc::now(),
        }
    }

    fn live_cache() -> SessionCache {
        let cache = SessionCache::new(Duration::from_secs(60));
        cache.reset(true);
        cache
    }

    #[test]
    fn serves_what_it_was_given_until_the_session_expires() {
        let cache = live_cache();
        let now = Utc::now();
        let ticket = cache.ticket().unwrap();
        cache.put(ticket, "t", &member(1), now + chrono::Duration::minutes(1));
        assert_eq!(cache.get("t", now).map(|m| m.id), Some(1));
        assert!(cache.get("t", now + chrono::Duration::minutes(2)).is_none());
        assert!(cache.get("other", now).is_none());
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_cached() {
        let cache = live_cache();
        let now = Utc::now();
        let ticket = cache.ticket().unwrap();
        cache.forget_member(2);
        cache.put(ticket, "t", &member(1), now + chrono::Duration::minutes(1));
        assert!(cache.get("t", now).is_none());
    }

    #[test]
    fn forgetting_a_member_forgets_each_of_their_sessions_only() {
        let cache = live_cache();
        let later = Utc::now() + chrono::Duration::minutes(1);
        for (token, id) in [("a", 1), ("b", 1), ("c", 2)] {
            cache.put(cache.ticket().unwrap(), token, &member(id), later);
        }
        cache.forget_member(1);
        assert!(cache.get("a", Utc::now()).is_none());
        assert!(cache.get("b", Utc::now()).is_none());
        assert!(cache.get("c", Utc::now()).is_some());
        cache.forget_token("c");
        assert!(cache.get("c", Utc::now()).is_none());
    }

    #[test]
    fn nothing_is_cached_or_served_while_not_listening() {
        let cache = SessionCache::new(Duration::from_secs(60));
        assert!(cache.ticket().is_none());
        let live = live_cache();
        let later = Utc::now() + chrono::Duration::minutes(1);
        live.put(live.ticket().unwrap(), "t", &member(1), later);
        live.reset(false);
        assert!(live.get("t", Utc::now()).is_none());
        live.reset(true);
        assert!(live.get("t", Utc::now()).is_none(), "starts empty");
    }

    #[test]
    fn off_when_its_lifetime_is_zero() {
        let cache = SessionCache::new(Duration::ZERO);
        cache.reset(true);
        assert!(cache.ticket().is_none());
    }
}

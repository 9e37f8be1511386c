//! What a node caches about members, so that requests that come in bursts do not each read
//! the same rows: customer sessions with their member (a signed-in app sends several requests
//! a screen), and scanned cards with their holder (a till sends identify, quote and purchase
//! for one card within seconds). On PostgreSQL each such read is a round trip and a statement
//! to start.
//!
//! The caches stay coherent across nodes. Triggers (migrations 7 and 12) notify the channel
//! `kopilka_member_changed` with the member's id on commit when a member, one of their cards
//! or offer activations changes, or a customer session is revoked; every node listens and
//! forgets that member's entries. A node also forgets locally right after its own such
//! writes, so a client reads its own change at once. While the listening connection is down
//! nothing is served from the caches, and when it is back they start empty: a notification
//! missed in between cannot leave a revoked session working or a blocked card in use. The
//! lifetime of an entry is only a bound on memory churn, not on staleness.

use kopilka_domain::member::{Member, MemberId};
use kopilka_store::member_cache::{MemberCache, MAX_CARDS};
use kopilka_store::{CardHolder, Session};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::{Arc, Weak};
use std::time::Duration;

pub(crate) const CHANNEL: &str = "kopilka_member_changed";

/// More signed-in customers than one node serves at once.
const MAX_SESSIONS: usize = 200_000;

/// Waits between attempts to listen again after the connection was lost.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// The node's caches, forgotten together: a notice names a member, not a cache.
pub(crate) struct MemberCaches {
    /// Customer sessions by token hash: the member, and the session.
    pub(crate) sessions: MemberCache<(Member, Session)>,
    /// Bound cards by number, with their holder and the holder's offer activations.
    pub(crate) cards: MemberCache<CardHolder>,
}

impl MemberCaches {
    pub(crate) fn new(sessions: Duration, cards: Duration) -> Self {
        Self {
            sessions: MemberCache::new(sessions, MAX_SESSIONS),
            cards: MemberCache::new(cards, MAX_CARDS),
        }
    }

    pub(crate) fn forget_member(&self, member: MemberId) {
        self.sessions.forget_member(member);
        self.cards.forget_member(member);
    }

    fn reset(&self, live: bool) {
        self.sessions.reset(live);
        self.cards.reset(live);
    }

    fn in_use(&self) -> bool {
        self.sessions.enabled() || self.cards.enabled()
    }
}

/// Listens for changes for as long as the caches are in use, listening again after a lost
/// connection. Not started when every cache is off.
pub(crate) fn spawn_listener(pool: PgPool, caches: &Arc<MemberCaches>) {
    if !caches.in_use() {
        return;
    }
    let caches = Arc::downgrade(caches);
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&pool, &caches).await {
                tracing::warn!(error = %e, "member caches: not listening for changes");
            }
            match caches.upgrade() {
                Some(caches) => caches.reset(false),
                None => return,
            }
            tokio::time::sleep(RELISTEN_AFTER).await;
        }
    });
}

/// Forgets what each notification names until the connection is lost (or the store is gone).
async fn listen(pool: &PgPool, caches: &Weak<MemberCaches>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Our own reconnecting: after a lost connection the caches must start empty.
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    match caches.upgrade() {
        Some(caches) => caches.reset(true),
        None => return Ok(()),
    }
    while let Some(notification) = listener.try_recv().await? {
        let Some(caches) = caches.upgrade() else {
            return Ok(());
        };
        match notification.payload().parse::<MemberId>() {
            Ok(member) => caches.forget_member(member),
            // Not a member id: forget everything rather than guess.
            Err(_) => caches.reset(true),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopilka_domain::CardNumber;
    use kopilka_store::member_cache::fixtures::{holder, member};

    #[test]
    fn a_member_is_forgotten_in_every_cache() {
        let caches = MemberCaches::new(Duration::from_secs(60), Duration::from_secs(60));
        caches.reset(true);
        let number = CardNumber::parse("2600000000017").unwrap();
        let one = MemberId::new(1);
        let holder = holder(one, &number);
        let (sessions, cards) = (&caches.sessions, &caches.cards);
        let now = chrono::Utc::now();
        let session = Session {
            id: 1,
            kind: kopilka_store::TokenKind::Customer,
            subject: 1,
            phone: None,
            created_at: now,
            expires_at: now,
            last_seen_at: now,
            ip: String::new(),
            user_agent: String::new(),
        };
        sessions.put(
            sessions.ticket().unwrap(),
            "t",
            one,
            &(member(one), session),
        );
        cards.put(cards.ticket().unwrap(), number.as_str(), one, &holder);
        caches.forget_member(one);
        assert!(sessions.get("t").is_none());
        assert!(cards.get(number.as_str()).is_none());
    }
}

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

use chrono::{DateTime, Utc};
use kopilka_domain::member::{Member, MemberId};
use kopilka_store::CardHolder;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

pub(crate) const CHANNEL: &str = "kopilka_member_changed";

/// More signed-in customers than one node serves at once.
const MAX_SESSIONS: usize = 200_000;

/// More cards than one node's tills scan within a card's lifetime in the cache (30 s by
/// default: a till's identify, quote and purchase are seconds apart), at 1,000 sales a second;
/// some 35 MB of entries.
const MAX_CARDS: usize = 60_000;

/// Waits between attempts to listen again after the connection was lost.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// The node's caches, forgotten together: a notice names a member, not a cache.
pub(crate) struct MemberCaches {
    /// Customer sessions by token hash: the member, and when the session expires.
    pub(crate) sessions: MemberCache<(Member, DateTime<Utc>)>,
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
        !self.sessions.ttl.is_zero() || !self.cards.ttl.is_zero()
    }
}

struct Entry<V> {
    member: MemberId,
    value: V,
    cached_at: Instant,
}

struct Entries<V> {
    by_key: HashMap<String, Entry<V>>,
    keys_of: HashMap<MemberId, Vec<String>>,
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Self {
            by_key: HashMap::new(),
            keys_of: HashMap::new(),
        }
    }
}

/// Values about one member each, by key.
pub(crate) struct MemberCache<V> {
    ttl: Duration,
    /// Past this many entries the stale ones go, or all of them if too few are stale.
    max_entries: usize,
    /// Whether this node is listening for changes; nothing is cached or served otherwise.
    live: AtomicBool,
    /// Bumped by every forgetting: a read that began before one must not be cached after it.
    epoch: AtomicU64,
    entries: RwLock<Entries<V>>,
}

/// Taken before reading from the database; `put` caches the read only if nothing was
/// forgotten since.
#[derive(Clone, Copy)]
pub(crate) struct Ticket(u64);

impl<V: Clone> MemberCache<V> {
    fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries,
            live: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            entries: RwLock::new(Entries::default()),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<V> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .by_key
            .get(key)
            .filter(|e| e.cached_at.elapsed() < self.ttl)
            .map(|e| e.value.clone())
    }

    pub(crate) fn ticket(&self) -> Option<Ticket> {
        (!self.ttl.is_zero() && self.live.load(Ordering::Acquire))
            .then(|| Ticket(self.epoch.load(Ordering::Acquire)))
    }

    /// Caches `value`, which is about `member`, under `key`: a key is about one member for
    /// good (a session's token, a bound card's number).
    pub(crate) fn put(&self, ticket: Ticket, key: &str, member: MemberId, value: &V) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Under the lock every forgetting takes, so none can slip in between.
        if self.epoch.load(Ordering::Acquire) != ticket.0 || !self.live.load(Ordering::Acquire) {
            return;
        }
        if entries.by_key.len() >= self.max_entries {
            self.make_room(&mut entries);
        }
        let entry = Entry {
            member,
            value: value.clone(),
            cached_at: Instant::now(),
        };
        if entries.by_key.insert(key.to_owned(), entry).is_none() {
            entries
                .keys_of
                .entry(member)
                .or_default()
                .push(key.to_owned());
        }
    }

    /// Drops the entries past their lifetime; if that frees less than half, all of them.
    fn make_room(&self, entries: &mut Entries<V>) {
        entries
            .by_key
            .retain(|_, e| e.cached_at.elapsed() < self.ttl);
        if entries.by_key.len() >= self.max_entries / 2 {
            *entries = Entries::default();
            return;
        }
        entries.keys_of.clear();
        for (key, entry) in &entries.by_key {
            entries
                .keys_of
                .entry(entry.member)
                .or_default()
                .push(key.clone());
        }
    }

    pub(crate) fn forget_member(&self, member: MemberId) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for key in entries.keys_of.remove(&member).unwrap_or_default() {
            entries.by_key.remove(&key);
        }
    }

    pub(crate) fn forget(&self, key: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(entry) = entries.by_key.remove(key) {
            if let Some(keys) = entries.keys_of.get_mut(&entry.member) {
                keys.retain(|k| k != key);
                if keys.is_empty() {
                    entries.keys_of.remove(&entry.member);
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
    use kopilka_domain::member::{Consents, Profile};
    use kopilka_domain::{CardKind, CardNumber, CardStatus, Phone};
    use kopilka_store::Card;

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

    fn live_cache() -> MemberCache<Member> {
        let cache = MemberCache::new(Duration::from_secs(60), 100);
        cache.reset(true);
        cache
    }

    #[test]
    fn serves_what_it_was_given_for_its_lifetime() {
        let cache = live_cache();
        cache.put(cache.ticket().unwrap(), "t", 1, &member(1));
        assert_eq!(cache.get("t").map(|m| m.id), Some(1));
        assert!(cache.get("other").is_none());
        let short = MemberCache::new(Duration::from_millis(1), 100);
        short.reset(true);
        short.put(short.ticket().unwrap(), "t", 1, &member(1));
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.get("t").is_none());
    }

    #[test]
    fn a_full_cache_drops_its_stale_entries_first() {
        let cache = MemberCache::new(Duration::from_millis(50), 4);
        cache.reset(true);
        let put =
            |key: &str, id: MemberId| cache.put(cache.ticket().unwrap(), key, id, &member(id));
        for (key, id) in [("a", 1), ("b", 2), ("c", 3)] {
            put(key, id);
        }
        std::thread::sleep(Duration::from_millis(60));
        put("d", 4);
        put("e", 4);
        // Full at "e": the three stale entries made room; the fresh one stayed, by member too.
        assert!(cache.get("d").is_some() && cache.get("e").is_some());
        cache.forget_member(4);
        assert!(cache.get("d").is_none() && cache.get("e").is_none());
        // Full of fresh entries: it starts afresh.
        for (key, id) in [("f", 5), ("g", 6), ("h", 7), ("i", 8), ("j", 9)] {
            put(key, id);
        }
        assert!(cache.get("f").is_none());
        assert!(cache.get("j").is_some());
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_cached() {
        let cache = live_cache();
        let ticket = cache.ticket().unwrap();
        cache.forget_member(2);
        cache.put(ticket, "t", 1, &member(1));
        assert!(cache.get("t").is_none());
    }

    #[test]
    fn forgetting_a_member_forgets_each_of_their_entries_only() {
        let cache = live_cache();
        for (key, id) in [("a", 1), ("b", 1), ("c", 2)] {
            cache.put(cache.ticket().unwrap(), key, id, &member(id));
        }
        cache.forget_member(1);
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_none());
        assert!(cache.get("c").is_some());
        cache.forget("c");
        assert!(cache.get("c").is_none());
    }

    #[test]
    fn a_member_is_forgotten_in_every_cache() {
        let caches = MemberCaches::new(Duration::from_secs(60), Duration::from_secs(60));
        caches.reset(true);
        let number = CardNumber::parse("2600000000017").unwrap();
        let holder = CardHolder {
            member: member(1),
            card: Card {
                number: number.clone(),
                kind: CardKind::Virtual,
                status: CardStatus::Active,
                member_id: Some(1),
                bound_at: None,
            },
            activations: Vec::new(),
        };
        let (sessions, cards) = (&caches.sessions, &caches.cards);
        sessions.put(sessions.ticket().unwrap(), "t", 1, &(member(1), Utc::now()));
        cards.put(cards.ticket().unwrap(), number.as_str(), 1, &holder);
        caches.forget_member(1);
        assert!(sessions.get("t").is_none());
        assert!(cards.get(number.as_str()).is_none());
    }

    #[test]
    fn nothing_is_cached_or_served_while_not_listening() {
        let cache = MemberCache::<Member>::new(Duration::from_secs(60), 100);
        assert!(cache.ticket().is_none());
        let live = live_cache();
        live.put(live.ticket().unwrap(), "t", 1, &member(1));
        live.reset(false);
        assert!(live.get("t").is_none());
        live.reset(true);
        assert!(live.get("t").is_none(), "starts empty");
    }

    #[test]
    fn off_when_its_lifetime_is_zero() {
        let cache = MemberCache::<Member>::new(Duration::ZERO, 100);
        cache.reset(true);
        assert!(cache.ticket().is_none());
    }
}

//! A cache of values that are each about one member (a session, a scanned card's holder),
//! kept coherent by forgetting a member's entries whenever the member changes: the store
//! that owns one calls `forget_member` after every committed change it hears of (PostgreSQL
//! from a notification, SQLite from its one writer). A read that began before a forgetting
//! is not cached after it (`ReadTicket`), so a value read just before a change cannot
//! outlive it. The lifetime of an entry only bounds memory churn, not staleness.

use kopilka_domain::member::MemberId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// More cards than one node's tills scan within a card's lifetime in the cache (30 s by
/// default: a till's identify, quote and purchase are seconds apart), at 1,000 sales a second;
/// some 35 MB of entries.
pub const MAX_CARDS: usize = 60_000;

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
pub struct MemberCache<V> {
    ttl: Duration,
    /// Past this many entries the stale ones go, or all of them if too few are stale.
    max_entries: usize,
    /// Whether the store can hear of every change; nothing is cached or served otherwise.
    live: AtomicBool,
    /// Bumped by every forgetting: a read that began before one must not be cached after it.
    epoch: AtomicU64,
    entries: RwLock<Entries<V>>,
}

/// Taken before reading from the database; `put` caches the read only if nothing was
/// forgotten since.
#[derive(Clone, Copy)]
pub struct ReadTicket(u64);

impl<V: Clone> MemberCache<V> {
    /// Off (nothing cached or served) until `reset(true)`.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries,
            live: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            entries: RwLock::new(Entries::default()),
        }
    }

    /// Whether anything is ever cached (a lifetime of zero turns the cache off).
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub fn get(&self, key: &str) -> Option<V> {
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

    pub fn ticket(&self) -> Option<ReadTicket> {
        (self.enabled() && self.live.load(Ordering::Acquire))
            .then(|| ReadTicket(self.epoch.load(Ordering::Acquire)))
    }

    /// Caches `value`, which is about `member`, under `key`: a key is about one member for
    /// good (a session's token, a bound card's number).
    pub fn put(&self, ticket: ReadTicket, key: &str, member: MemberId, value: &V) {
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

    pub fn forget_member(&self, member: MemberId) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for key in entries.keys_of.remove(&member).unwrap_or_default() {
            entries.by_key.remove(&key);
        }
    }

    pub fn forget(&self, key: &str) {
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

    /// Forgets everything; then caches and serves only while `live`.
    pub fn reset(&self, live: bool) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        *entries = Entries::default();
        self.live.store(live, Ordering::Release);
    }
}

/// A member and a card holder to fill caches with in tests (here and in each store's).
#[cfg(any(test, feature = "test-util"))]
pub mod fixtures {
    use crate::{Card, CardHolder};
    use chrono::Utc;
    use kopilka_domain::member::{Consents, Member, MemberId, Profile};
    use kopilka_domain::{CardKind, CardNumber, CardStatus, Phone};

    pub fn member(id: MemberId) -> Member {
        Member {
            id,
            phone: Phone::parse("+79990000001").expect("a valid phone"),
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

    /// The member `id` holding the active virtual card `number`, with no offers.
    pub fn holder(id: MemberId, number: &CardNumber) -> CardHolder {
        CardHolder {
            member: member(id),
            card: Card {
                number: number.clone(),
                kind: CardKind::Virtual,
                status: CardStatus::Active,
                member_id: Some(id),
                bound_at: None,
            },
            activations: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::member;
    use super::*;
    use kopilka_domain::member::Member;

    fn live_cache() -> MemberCache<Member> {
        let cache = MemberCache::new(Duration::from_secs(60), 100);
        cache.reset(true);
        cache
    }

    #[test]
    fn serves_what_it_was_given_for_its_lifetime() {
        let cache = live_cache();
        cache.put(
            cache.ticket().unwrap(),
            "t",
            kopilka_domain::member::MemberId::new(1),
            &member(kopilka_domain::member::MemberId::new(1)),
        );
        assert_eq!(
            cache.get("t").map(|m| m.id),
            Some(kopilka_domain::member::MemberId::new(1))
        );
        assert!(cache.get("other").is_none());
        let short = MemberCache::new(Duration::from_millis(1), 100);
        short.reset(true);
        short.put(
            short.ticket().unwrap(),
            "t",
            kopilka_domain::member::MemberId::new(1),
            &member(kopilka_domain::member::MemberId::new(1)),
        );
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
            put(key, kopilka_domain::member::MemberId::new(id));
        }
        std::thread::sleep(Duration::from_millis(60));
        put("d", kopilka_domain::member::MemberId::new(4));
        put("e", kopilka_domain::member::MemberId::new(4));
        // Full at "e": the three stale entries made room; the fresh one stayed, by member too.
        assert!(cache.get("d").is_some() && cache.get("e").is_some());
        cache.forget_member(kopilka_domain::member::MemberId::new(4));
        assert!(cache.get("d").is_none() && cache.get("e").is_none());
        // Full of fresh entries: it starts afresh.
        for (key, id) in [("f", 5), ("g", 6), ("h", 7), ("i", 8), ("j", 9)] {
            put(key, kopilka_domain::member::MemberId::new(id));
        }
        assert!(cache.get("f").is_none());
        assert!(cache.get("j").is_some());
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_cached() {
        let cache = live_cache();
        let ticket = cache.ticket().unwrap();
        cache.forget_member(kopilka_domain::member::MemberId::new(2));
        cache.put(
            ticket,
            "t",
            kopilka_domain::member::MemberId::new(1),
            &member(kopilka_domain::member::MemberId::new(1)),
        );
        assert!(cache.get("t").is_none());
    }

    #[test]
    fn forgetting_a_member_forgets_each_of_their_entries_only() {
        let cache = live_cache();
        for (key, id) in [("a", 1), ("b", 1), ("c", 2)] {
            cache.put(
                cache.ticket().unwrap(),
                key,
                kopilka_domain::member::MemberId::new(id),
                &member(kopilka_domain::member::MemberId::new(id)),
            );
        }
        cache.forget_member(kopilka_domain::member::MemberId::new(1));
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_none());
        assert!(cache.get("c").is_some());
        cache.forget("c");
        assert!(cache.get("c").is_none());
    }

    #[test]
    fn nothing_is_cached_or_served_while_not_listening() {
        let cache = MemberCache::<Member>::new(Duration::from_secs(60), 100);
        assert!(cache.ticket().is_none());
        let live = live_cache();
        live.put(
            live.ticket().unwrap(),
            "t",
            kopilka_domain::member::MemberId::new(1),
            &member(kopilka_domain::member::MemberId::new(1)),
        );
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

//! Till keys recently seen, so that the three requests of a sale do not each look the key up:
//! a till sends thousands a day. A revoked key keeps working for at most the cache's lifetime.

use kopilka_store::Till;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// More tills than any chain has: beyond this the cache starts afresh rather than grow.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct TillCache {
    entries: RwLock<HashMap<String, (Instant, Till)>>,
}

impl TillCache {
    pub fn get(&self, key_hash: &str, ttl: Duration) -> Option<Till> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key_hash)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, till)| till.clone())
    }

    pub fn put(&self, key_hash: String, till: Till) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key_hash, (Instant::now(), till));
    }
}

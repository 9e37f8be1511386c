//! The category tree, read once a minute rather than on every purchase: the till's hot path
//! needs "this category and everything below it" for favourites and exclusions.

use kopilka_store::{Store, StoreResult};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const REFRESH: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct CategoryTree {
    children: HashMap<i64, Vec<i64>>,
}

impl CategoryTree {
    /// `roots` and every category below them.
    pub fn with_descendants(&self, roots: impl IntoIterator<Item = i64>) -> HashSet<i64> {
        let mut out = HashSet::new();
        let mut stack: Vec<i64> = roots.into_iter().collect();
        while let Some(id) = stack.pop() {
            if out.insert(id) {
                stack.extend(self.children.get(&id).into_iter().flatten().copied());
            }
        }
        out
    }

    pub fn has_children(&self, id: i64) -> bool {
        self.children.contains_key(&id)
    }
}

#[derive(Default)]
pub struct CategoryCache {
    cached: RwLock<Option<(Instant, Arc<CategoryTree>)>>,
}

impl CategoryCache {
    /// Drops the tree this node holds, after an import changed it; other nodes read it anew
    /// within `REFRESH`.
    pub fn forget(&self) {
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub async fn tree(&self, store: &dyn Store) -> StoreResult<Arc<CategoryTree>> {
        if let Some((at, tree)) = &*self.cached.read().unwrap_or_else(|e| e.into_inner()) {
            if at.elapsed() < REFRESH {
                return Ok(tree.clone());
            }
        }
        let mut tree = CategoryTree::default();
        for c in store.categories().await? {
            if let Some(parent) = c.parent_id {
                tree.children.entry(parent).or_default().push(c.id);
            }
        }
        let tree = Arc::new(tree);
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), tree.clone()));
        Ok(tree)
    }
}

//! What the chain shows and offers beyond the balance: products and their search, stores by
//! place, promotions and events, personal offers and their activations.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::{CategoryId, MemberId, StoreId};
use kopilka_domain::offers::{Audience, Offer, OfferId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub category_id: CategoryId,
    pub price_kop: i64,
    pub unit: String,
}

/// A product with what it is found by (see `kopilka_domain::search::index`).
#[derive(Debug, Clone)]
pub struct IndexedProduct {
    pub product: Product,
    pub terms: String,
    pub lead_term: String,
}

/// Where a page of products ends: the next page starts after it. Rank 0 is a product named
/// by the query's first word, 1 any other match; without a query every product ranks 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductKey {
    pub rank: i32,
    pub name: String,
    pub sku: String,
}

#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    /// Stems that must all be present, each as a prefix of some term; empty: every product.
    pub terms: Vec<String>,
    /// The stem a product's first word must start with to rank first.
    pub lead: Option<String>,
    /// Only these categories; empty: all.
    pub categories: Vec<CategoryId>,
    pub after: Option<ProductKey>,
    pub limit: u32,
}

/// Stores are found by an indexed box (and city); distances are the caller's.
#[derive(Debug, Clone, Default)]
pub struct StoreQuery {
    /// Lower-cased city name.
    pub city_key: Option<String>,
    /// (min_lat, max_lat, min_lon, max_lon), within the valid ranges.
    pub within: Option<(f64, f64, f64, f64)>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromotionKind {
    Promotion,
    Event,
}

impl PromotionKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "promotion" => Some(PromotionKind::Promotion),
            "event" => Some(PromotionKind::Event),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PromotionKind::Promotion => "promotion",
            PromotionKind::Event => "event",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub id: i64,
    pub kind: PromotionKind,
    pub title: String,
    pub description: String,
    /// `None`: the whole chain.
    pub city: Option<String>,
    pub store_id: Option<StoreId>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activation {
    pub offer_id: OfferId,
    pub activated_at: DateTime<Utc>,
    pub uses: u32,
}

#[async_trait]
pub trait Marketing: Send + Sync {
    /// Inserts or updates by sku, with the search index.
    async fn upsert_products(&self, products: &[IndexedProduct]) -> StoreResult<()>;
    /// One page, ordered by (rank, name in code-point order, sku).
    async fn find_products(&self, query: &ProductQuery) -> StoreResult<Vec<(ProductKey, Product)>>;
    async fn find_stores(&self, query: &StoreQuery) -> StoreResult<Vec<crate::StoreLocation>>;

    /// Inserts or updates by id.
    async fn upsert_promotions(&self, items: &[Promotion]) -> StoreResult<()>;
    /// Of one kind, overlapping [`from`, `to`), chain-wide or in the city (lower-cased),
    /// soonest first.
    async fn promotions(
        &self,
        kind: PromotionKind,
        city_key: Option<&str>,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<Promotion>>;

    /// Inserts or updates by id.
    async fn upsert_offers(&self, offers: &[Offer]) -> StoreResult<()>;
    /// Offers running at `at`.
    async fn running_offers(&self, at: DateTime<Utc>) -> StoreResult<Vec<Offer>>;
    async fn offer(&self, id: OfferId) -> StoreResult<Option<Offer>>;
    async fn activations(&self, member: MemberId) -> StoreResult<Vec<Activation>>;
    /// Activates once; a second activation changes nothing. The activation either way.
    async fn activate_offer(
        &self,
        member: MemberId,
        offer: OfferId,
        at: DateTime<Utc>,
    ) -> StoreResult<Activation>;
    /// When the member last bought anything (the till's time of sale).
    async fn last_purchase_at(&self, member: MemberId) -> StoreResult<Option<DateTime<Utc>>>;

    /// Every offer, the newest first, at most `limit`.
    async fn all_offers(&self, limit: u32) -> StoreResult<Vec<Offer>>;
    /// Adds the offer (`id` `None`; the store numbers it) or replaces the one with this id
    /// (`NotFound` if there is none), with the audit row, whose subject becomes `offer:{id}`.
    async fn save_offer(
        &self,
        id: Option<OfferId>,
        offer: &Offer,
        audit: crate::NewAuditEntry,
    ) -> StoreResult<OfferId>;
    /// Promotions and events of every city and time, the newest first, at most `limit`;
    /// only the one with this id when `id` is given.
    async fn all_promotions(&self, id: Option<i64>, limit: u32) -> StoreResult<Vec<Promotion>>;
    /// As `save_offer`, for a promotion or event; the audit subject becomes `promotion:{id}`.
    async fn save_promotion(
        &self,
        id: Option<i64>,
        promotion: &Promotion,
        audit: crate::NewAuditEntry,
    ) -> StoreResult<i64>;
    /// How many customers (deleted accounts aside) an audience holds now.
    async fn reach(&self, audience: &Audience) -> StoreResult<u64>;
}

pub use kopilka_domain::member::city_key;

use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::member::StoreId;
use kopilka_domain::offers::{Audience, Offer, OfferId};
use kopilka_store::{
    city_key, Activation, IndexedProduct, Marketing, Product, ProductKey, ProductQuery, Promotion,
    PromotionKind, StoreError, StoreLocation, StoreQuery, StoreResult,
};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("stored offer is not valid JSON: {e}"))
}

fn out_of_range(what: &str, value: i64) -> StoreError {
    StoreError::Corrupt(format!("stored {what} {value} is out of range"))
}

/// A tsquery where every term must match as a prefix: `'молок':* & 'сыр':*`. The terms are
/// letters and digits only (kopilka_domain::search); anything else is dropped, so quoting is
/// enough. The literal is taken as it is, like the index (see migration 0004): no parser.
/// `None` when a term is left empty: SQLite's FTS5 matches nothing for it either.
fn ts_query(terms: &[String]) -> Option<String> {
    let mut parts = Vec::with_capacity(terms.len());
    for t in terms {
        let term: String = t.chars().filter(|c| c.is_alphanumeric()).collect();
        if term.is_empty() {
            return None;
        }
        parts.push(format!("'{term}':*"));
    }
    Some(parts.join(" & "))
}

/// Rank 0 for a product whose first word starts with the query's first term, 1 otherwise.
fn push_rank(q: &mut QueryBuilder<'_, Postgres>, lead: &Option<String>) {
    match lead {
        Some(lead) => {
            q.push("CASE WHEN starts_with(lead_term, ");
            q.push_bind(lead.clone());
            q.push(") THEN 0 ELSE 1 END");
        }
        None => {
            q.push("0");
        }
    }
}

type OfferRow = (
    i64,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
);

fn offer_from(row: OfferRow) -> StoreResult<Offer> {
    let (id, title, description, reward, target, starts_at, ends_at, limit) = row;
    Ok(Offer {
        id: OfferId::new(id),
        title,
        description,
        reward: serde_json::from_str(&reward).map_err(json_err)?,
        target: serde_json::from_str(&target).map_err(json_err)?,
        starts_at,
        ends_at,
        per_customer_limit: u32::try_from(limit).map_err(|_| out_of_range("offer limit", limit))?,
    })
}

const OFFER_COLUMNS: &str =
    "id, title, description, reward, target, starts_at, ends_at, per_customer_limit";

fn activation(r: &PgRow) -> StoreResult<Activation> {
    let uses: i64 = r.try_get(2).map_err(db)?;
    Ok(Activation {
        offer_id: OfferId::new(r.try_get(0).map_err(db)?),
        activated_at: r.try_get(1).map_err(db)?,
        uses: u32::try_from(uses).map_err(|_| out_of_range("offer uses", uses))?,
    })
}

#[async_trait]
impl Marketing for PostgresStore {
    async fn upsert_products(&self, products: &[IndexedProduct]) -> StoreResult<()> {
        let pool = self.pool.clone();
        let products = products.to_vec();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            write_products(&mut tx, &products).await?;
            tx.commit().await.map_err(db)
        })
        .await
    }

    async fn find_products(&self, query: &ProductQuery) -> StoreResult<Vec<(ProductKey, Product)>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT ");
        push_rank(&mut q, &query.lead);
        q.push(" AS rank, sku, name, category_id, price_kop, unit FROM products WHERE TRUE");
        if !query.terms.is_empty() {
            let Some(terms) = ts_query(&query.terms) else {
                return Ok(Vec::new());
            };
            q.push(" AND search @@ ").push_bind(terms).push("::tsquery");
        }
        if !query.categories.is_empty() {
            q.push(" AND category_id = ANY(")
                .push_bind(query.categories.clone())
                .push(")");
        }
        // Names and skus compare in code-point order, as SQLite's BINARY does.
        if let Some(after) = &query.after {
            q.push(" AND (");
            push_rank(&mut q, &query.lead);
            q.push(", name COLLATE \"C\", sku COLLATE \"C\") > (")
                .push_bind(after.rank)
                .push(", ")
                .push_bind(after.name.clone())
                .push(", ")
                .push_bind(after.sku.clone())
                .push(")");
        }
        q.push(" ORDER BY rank, name COLLATE \"C\", sku COLLATE \"C\" LIMIT ")
            .push_bind(i64::from(query.limit));
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                let key = ProductKey {
                    rank: r.try_get(0).map_err(db)?,
                    name: r.try_get(2).map_err(db)?,
                    sku: r.try_get(1).map_err(db)?,
                };
                let product = Product {
                    sku: r.try_get(1).map_err(db)?,
                    name: r.try_get(2).map_err(db)?,
                    category_id: r.try_get(3).map_err(db)?,
                    price_kop: r.try_get(4).map_err(db)?,
                    unit: r.try_get(5).map_err(db)?,
                };
                Ok((key, product))
            })
            .collect()
    }

    async fn find_stores(&self, query: &StoreQuery) -> StoreResult<Vec<StoreLocation>> {
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT id, name, city, address, lat, lon, hours FROM stores WHERE TRUE",
        );
        if let Some(city) = &query.city_key {
            q.push(" AND city_key = ").push_bind(city.clone());
        }
        if let Some((min_lat, max_lat, min_lon, max_lon)) = query.within {
            q.push(" AND lat BETWEEN ")
                .push_bind(min_lat)
                .push(" AND ")
                .push_bind(max_lat)
                .push(" AND lon BETWEEN ")
                .push_bind(min_lon)
                .push(" AND ")
                .push_bind(max_lon);
        }
        q.push(" ORDER BY id");
        if let Some(limit) = query.limit {
            q.push(" LIMIT ").push_bind(i64::from(limit));
        }
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(StoreLocation {
                    id: StoreId::new(r.try_get(0).map_err(db)?),
                    name: r.try_get(1).map_err(db)?,
                    city: r.try_get(2).map_err(db)?,
                    address: r.try_get(3).map_err(db)?,
                    lat: r.try_get(4).map_err(db)?,
                    lon: r.try_get(5).map_err(db)?,
                    hours: r.try_get(6).map_err(db)?,
                })
            })
            .collect()
    }

    async fn upsert_promotions(&self, items: &[Promotion]) -> StoreResult<()> {
        let pool = self.pool.clone();
        let items = items.to_vec();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            for p in &items {
                sqlx::query(
                    "INSERT INTO promotions (id, kind, title, description, city, city_key, store_id, starts_at, ends_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, \
                     title = excluded.title, description = excluded.description, city = excluded.city, \
                     city_key = excluded.city_key, store_id = excluded.store_id, starts_at = excluded.starts_at, \
                     ends_at = excluded.ends_at",
                )
                .bind(p.id)
                .bind(p.kind.as_str())
                .bind(&p.title)
                .bind(&p.description)
                .bind(&p.city)
                .bind(p.city.as_deref().map(city_key))
                .bind(p.store_id.map(|id| id.get()))
                .bind(p.starts_at)
                .bind(p.ends_at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            sqlx::query(
                "SELECT setval('promotions_id_seq', greatest((SELECT max(id) FROM promotions), 1))",
            )
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)
        })
        .await
    }

    async fn promotions(
        &self,
        kind: PromotionKind,
        city_key: Option<&str>,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<Promotion>> {
        sqlx::query(
            "SELECT id, title, description, city, store_id, starts_at, ends_at FROM promotions \
             WHERE kind = $1 AND ends_at > $2 AND ($3::timestamptz IS NULL OR starts_at < $3) \
             AND ($4::text IS NULL OR city_key IS NULL OR city_key = $4) ORDER BY starts_at, id",
        )
        .bind(kind.as_str())
        .bind(from)
        .bind(to)
        .bind(city_key)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(|r| {
            Ok(Promotion {
                id: r.try_get(0).map_err(db)?,
                kind,
                title: r.try_get(1).map_err(db)?,
                description: r.try_get(2).map_err(db)?,
                city: r.try_get(3).map_err(db)?,
                store_id: r
                    .try_get::<Option<i64>, _>(4)
                    .map_err(db)?
                    .map(StoreId::new),
                starts_at: r.try_get(5).map_err(db)?,
                ends_at: r.try_get(6).map_err(db)?,
            })
        })
        .collect()
    }

    async fn upsert_offers(&self, offers: &[Offer]) -> StoreResult<()> {
        let mut rows = Vec::with_capacity(offers.len());
        for o in offers {
            rows.push((
                o.clone(),
                serde_json::to_string(&o.reward).map_err(json_err)?,
                serde_json::to_string(&o.target).map_err(json_err)?,
            ));
        }
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            for (o, reward, target) in &rows {
                sqlx::query(
                    "INSERT INTO offers (id, title, description, reward, target, starts_at, ends_at, per_customer_limit) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
                     description = excluded.description, reward = excluded.reward, target = excluded.target, \
                     starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
                     per_customer_limit = excluded.per_customer_limit",
                )
                .bind(o.id.get())
                .bind(&o.title)
                .bind(&o.description)
                .bind(reward)
                .bind(target)
                .bind(o.starts_at)
                .bind(o.ends_at)
                .bind(i64::from(o.per_customer_limit))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            // Ids given here (the seed's) must not be handed out again to offers made later.
            sqlx::query("SELECT setval('offers_id_seq', greatest((SELECT max(id) FROM offers), 1))")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)
        })
        .await
    }

    async fn running_offers(&self, at: DateTime<Utc>) -> StoreResult<Vec<Offer>> {
        let sql = format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE ends_at > $1 AND starts_at <= $1 ORDER BY id"
        );
        let rows: Vec<OfferRow> = sqlx::query_as(&sql)
            .bind(at)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.into_iter().map(offer_from).collect()
    }

    async fn offer(&self, id: OfferId) -> StoreResult<Option<Offer>> {
        let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = $1");
        let row: Option<OfferRow> = sqlx::query_as(&sql)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(offer_from).transpose()
    }

    async fn activations(&self, member: MemberId) -> StoreResult<Vec<Activation>> {
        sqlx::query(
            "SELECT offer_id, activated_at, uses FROM offer_activations WHERE member_id = $1 ORDER BY offer_id",
        )
        .bind(member.get())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(activation)
        .collect()
    }

    async fn activate_offer(
        &self,
        member: MemberId,
        offer: OfferId,
        at: DateTime<Utc>,
    ) -> StoreResult<Activation> {
        let pool = self.pool.clone();
        let activation = detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            // A concurrent activation of the same offer waits on the insert, then does nothing;
            // the select, a new statement, sees the row it committed.
            sqlx::query(
                "INSERT INTO offer_activations (member_id, offer_id, activated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (member_id, offer_id) DO NOTHING",
            )
            .bind(member.get())
            .bind(offer.get())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let row = sqlx::query(
                "SELECT offer_id, activated_at, uses FROM offer_activations WHERE member_id = $1 AND offer_id = $2",
            )
            .bind(member.get())
            .bind(offer.get())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            let activation = activation(&row)?;
            tx.commit().await.map_err(db)?;
            Ok(activation)
        })
        .await;
        // The till sees it at once on this node; other nodes forget on the trigger's notice.
        self.caches.forget_member(member);
        activation
    }

    async fn last_purchase_at(&self, member: MemberId) -> StoreResult<Option<DateTime<Utc>>> {
        sqlx::query_scalar("SELECT MAX(purchased_at) FROM purchases WHERE member_id = $1")
            .bind(member.get())
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn all_offers(&self, limit: u32) -> StoreResult<Vec<Offer>> {
        let sql = format!("SELECT {OFFER_COLUMNS} FROM offers ORDER BY id DESC LIMIT $1");
        let rows: Vec<OfferRow> = sqlx::query_as(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.into_iter().map(offer_from).collect()
    }

    async fn save_offer(
        &self,
        id: Option<OfferId>,
        offer: &Offer,
        mut audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<OfferId> {
        let reward = serde_json::to_string(&offer.reward).map_err(json_err)?;
        let target = serde_json::to_string(&offer.target).map_err(json_err)?;
        let o = offer.clone();
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            // Without an id the column's sequence numbers it.
            let sql = match id {
                None => "INSERT INTO offers (title, description, reward, target, starts_at, ends_at, per_customer_limit) \
                         SELECT $2, $3, $4, $5, $6, $7, $8 WHERE $1::bigint IS NULL RETURNING id",
                Some(_) => "UPDATE offers SET title = $2, description = $3, reward = $4, target = $5, \
                            starts_at = $6, ends_at = $7, per_customer_limit = $8 WHERE id = $1 RETURNING id",
            };
            let saved: Option<i64> = sqlx::query_scalar(sql)
                .bind(id.map(OfferId::get))
                .bind(&o.title)
                .bind(&o.description)
                .bind(&reward)
                .bind(&target)
                .bind(o.starts_at)
                .bind(o.ends_at)
                .bind(i64::from(o.per_customer_limit))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            let id = OfferId::new(saved.ok_or(StoreError::NotFound)?);
            audit.subject = format!("offer:{id}");
            crate::catalog::insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(id)
        })
        .await
    }

    async fn all_promotions(&self, id: Option<i64>, limit: u32) -> StoreResult<Vec<Promotion>> {
        type PromotionRow = (
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<i64>,
            DateTime<Utc>,
            DateTime<Utc>,
        );
        let rows: Vec<PromotionRow> = sqlx::query_as(
            "SELECT id, kind, title, description, city, store_id, starts_at, ends_at \
             FROM promotions WHERE $2::bigint IS NULL OR id = $2 ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(
                |(id, kind, title, description, city, store, starts_at, ends_at)| {
                    Ok(Promotion {
                        id,
                        kind: PromotionKind::parse(&kind).ok_or_else(|| {
                            StoreError::Corrupt(format!("promotion kind {kind:?}"))
                        })?,
                        title,
                        description,
                        city,
                        store_id: store.map(StoreId::new),
                        starts_at,
                        ends_at,
                    })
                },
            )
            .collect()
    }

    async fn save_promotion(
        &self,
        id: Option<i64>,
        promotion: &Promotion,
        mut audit: kopilka_store::NewAuditEntry,
    ) -> StoreResult<i64> {
        let p = promotion.clone();
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let sql = match id {
                None => "INSERT INTO promotions (kind, title, description, city, city_key, store_id, starts_at, ends_at) \
                         SELECT $2, $3, $4, $5, $6, $7, $8, $9 WHERE $1::bigint IS NULL RETURNING id",
                Some(_) => "UPDATE promotions SET kind = $2, title = $3, description = $4, city = $5, city_key = $6, \
                            store_id = $7, starts_at = $8, ends_at = $9 WHERE id = $1 RETURNING id",
            };
            let saved: Option<i64> = sqlx::query_scalar(sql)
                .bind(id)
                .bind(p.kind.as_str())
                .bind(&p.title)
                .bind(&p.description)
                .bind(&p.city)
                .bind(p.city.as_deref().map(city_key))
                .bind(p.store_id.map(|id| id.get()))
                .bind(p.starts_at)
                .bind(p.ends_at)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            let id = saved.ok_or(StoreError::NotFound)?;
            audit.subject = format!("promotion:{id}");
            crate::catalog::insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(id)
        })
        .await
    }

    async fn reach(&self, audience: &Audience) -> StoreResult<u64> {
        const LIVE: &str = "SELECT count(*) FROM members m WHERE m.deleted_at IS NULL";
        let count: i64 = match audience {
            Audience::Everyone => sqlx::query_scalar(LIVE).fetch_one(&self.pool).await,
            Audience::FavouriteCategory(id) => {
                sqlx::query_scalar(&format!("{LIVE} AND m.favourite_category_id = $1"))
                    .bind(*id)
                    .fetch_one(&self.pool)
                    .await
            }
            Audience::CityKey(key) => {
                sqlx::query_scalar(&format!("{LIVE} AND m.city_key = $1"))
                    .bind(key)
                    .fetch_one(&self.pool)
                    .await
            }
            Audience::BirthMonth(month) => {
                sqlx::query_scalar(&format!("{LIVE} AND extract(month FROM m.birth_date) = $1"))
                    .bind(i32::try_from(*month).unwrap_or_default())
                    .fetch_one(&self.pool)
                    .await
            }
            Audience::NoPurchaseSince(cutoff) => {
                sqlx::query_scalar(&format!(
                    "{LIVE} AND m.created_at <= $1 AND NOT EXISTS \
                     (SELECT 1 FROM purchases p WHERE p.member_id = m.id AND p.purchased_at > $1)"
                ))
                .bind(*cutoff)
                .fetch_one(&self.pool)
                .await
            }
        }
        .map_err(db)?;
        Ok(count.unsigned_abs())
    }
}

/// Products written per statement: a batch of arrays, not a round trip a row.
const PRODUCTS_PER_STATEMENT: usize = 5_000;

/// Adds or replaces products (the search column is generated from `terms`). Skus must not
/// repeat within the slice.
pub(crate) async fn write_products(
    tx: &mut sqlx::PgConnection,
    products: &[IndexedProduct],
) -> StoreResult<()> {
    for chunk in products.chunks(PRODUCTS_PER_STATEMENT) {
        let column = |f: fn(&IndexedProduct) -> String| chunk.iter().map(f).collect::<Vec<_>>();
        let skus = column(|p| p.product.sku.clone());
        let names = column(|p| p.product.name.clone());
        let units = column(|p| p.product.unit.clone());
        let terms = column(|p| p.terms.clone());
        let leads = column(|p| p.lead_term.clone());
        let categories: Vec<i64> = chunk.iter().map(|p| p.product.category_id).collect();
        let prices: Vec<i64> = chunk.iter().map(|p| p.product.price_kop).collect();
        sqlx::query(
            "INSERT INTO products (sku, category_id, name, price_kop, unit, terms, lead_term) \
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[]) \
             ON CONFLICT (sku) DO UPDATE SET \
             category_id = excluded.category_id, name = excluded.name, price_kop = excluded.price_kop, \
             unit = excluded.unit, terms = excluded.terms, lead_term = excluded.lead_term",
        )
        .bind(&skus)
        .bind(&categories)
        .bind(&names)
        .bind(&prices)
        .bind(&units)
        .bind(&terms)
        .bind(&leads)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::MemberId;
use kopilka_domain::member::StoreId;
use kopilka_domain::offers::{Audience, Offer, OfferId};
use kopilka_store::{
    city_key, Activation, IndexedProduct, Marketing, Product, ProductKey, ProductQuery, Promotion,
    PromotionKind, StoreError, StoreLocation, StoreQuery, StoreResult,
};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, Row};

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("stored offer is not valid JSON: {e}"))
}

/// An FTS5 query where every term must match as a prefix: `"молок"* AND "сыр"*`. The terms
/// are letters and digits only (kopilka_domain::search), so quoting is enough.
fn fts_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"*", t.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// An offer's columns as stored: id, title, description, reward and target JSON, start,
/// end, limit.
type OfferRow = (OfferId, String, String, String, String, i64, i64, u32);

fn offer_row(r: &Row) -> rusqlite::Result<OfferRow> {
    Ok((
        OfferId::new(r.get(0)?),
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn offer_from(row: OfferRow) -> StoreResult<Offer> {
    let (id, title, description, reward, target, starts, ends, limit) = row;
    Ok(Offer {
        id,
        title,
        description,
        reward: serde_json::from_str(&reward).map_err(json_err)?,
        target: serde_json::from_str(&target).map_err(json_err)?,
        starts_at: time(starts),
        ends_at: time(ends),
        per_customer_limit: limit,
    })
}

const OFFER_COLUMNS: &str =
    "id, title, description, reward, target, starts_at, ends_at, per_customer_limit";

#[async_trait]
impl Marketing for SqliteStore {
    async fn upsert_products(&self, products: &[IndexedProduct]) -> StoreResult<()> {
        let products = products.to_vec();
        self.write(move |tx| write_products(tx, &products)).await
    }

    async fn find_products(&self, query: &ProductQuery) -> StoreResult<Vec<(ProductKey, Product)>> {
        let query = query.clone();
        self.read(move |c| {
            let mut args: Vec<Value> = Vec::new();
            let rank = match &query.lead {
                Some(lead) => {
                    args.push(Value::Text(format!("{lead}%")));
                    "CASE WHEN p.lead_term LIKE ?1 THEN 0 ELSE 1 END"
                }
                None => "0",
            };
            let mut sql = format!(
                "SELECT {rank} AS rank, p.sku, p.name, p.category_id, p.price_kop, p.unit FROM products p WHERE 1 = 1"
            );
            if !query.terms.is_empty() {
                args.push(Value::Text(fts_query(&query.terms)));
                sql.push_str(&format!(
                    " AND p.sku IN (SELECT sku FROM products_fts WHERE products_fts MATCH ?{})",
                    args.len()
                ));
            }
            if !query.categories.is_empty() {
                let first = args.len() + 1;
                args.extend(query.categories.iter().map(|&id| Value::Integer(id)));
                let marks: Vec<String> = (first..=args.len()).map(|i| format!("?{i}")).collect();
                sql.push_str(&format!(" AND p.category_id IN ({})", marks.join(", ")));
            }
            if let Some(after) = &query.after {
                let n = args.len();
                args.push(Value::Integer(i64::from(after.rank)));
                args.push(Value::Text(after.name.clone()));
                args.push(Value::Text(after.sku.clone()));
                sql.push_str(&format!(
                    " AND ({rank}, p.name, p.sku) > (?{}, ?{}, ?{})",
                    n + 1,
                    n + 2,
                    n + 3
                ));
            }
            args.push(Value::Integer(i64::from(query.limit)));
            sql.push_str(&format!(" ORDER BY rank, p.name, p.sku LIMIT ?{}", args.len()));
            let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(params_from_iter(args), |r| {
                    let key = ProductKey {
                        rank: r.get(0)?,
                        name: r.get(2)?,
                        sku: r.get(1)?,
                    };
                    let product = Product {
                        sku: r.get(1)?,
                        name: r.get(2)?,
                        category_id: r.get(3)?,
                        price_kop: r.get(4)?,
                        unit: r.get(5)?,
                    };
                    Ok((key, product))
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn find_stores(&self, query: &StoreQuery) -> StoreResult<Vec<StoreLocation>> {
        let query = query.clone();
        self.read(move |c| {
            let mut args: Vec<Value> = Vec::new();
            let mut sql = "SELECT id, name, city, address, lat, lon, hours FROM stores WHERE 1 = 1"
                .to_owned();
            if let Some(city) = &query.city_key {
                args.push(Value::Text(city.clone()));
                sql.push_str(&format!(" AND city_key = ?{}", args.len()));
            }
            if let Some((min_lat, max_lat, min_lon, max_lon)) = query.within {
                let n = args.len();
                args.extend([min_lat, max_lat, min_lon, max_lon].map(Value::Real));
                sql.push_str(&format!(
                    " AND lat BETWEEN ?{} AND ?{} AND lon BETWEEN ?{} AND ?{}",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4
                ));
            }
            sql.push_str(" ORDER BY id");
            if let Some(limit) = query.limit {
                args.push(Value::Integer(i64::from(limit)));
                sql.push_str(&format!(" LIMIT ?{}", args.len()));
            }
            let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(params_from_iter(args), |r| {
                    Ok(StoreLocation {
                        id: StoreId::new(r.get(0)?),
                        name: r.get(1)?,
                        city: r.get(2)?,
                        address: r.get(3)?,
                        lat: r.get(4)?,
                        lon: r.get(5)?,
                        hours: r.get(6)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn upsert_promotions(&self, items: &[Promotion]) -> StoreResult<()> {
        let items = items.to_vec();
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO promotions (id, kind, title, description, city, city_key, store_id, starts_at, ends_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, \
                     title = excluded.title, description = excluded.description, city = excluded.city, \
                     city_key = excluded.city_key, store_id = excluded.store_id, starts_at = excluded.starts_at, \
                     ends_at = excluded.ends_at",
                )
                .map_err(backend)?;
            for p in &items {
                stmt.execute(params![
                    p.id,
                    p.kind.as_str(),
                    p.title,
                    p.description,
                    p.city,
                    p.city.as_deref().map(city_key),
                    p.store_id.map(|id| id.get()),
                    micros(p.starts_at),
                    micros(p.ends_at)
                ])
                .map_err(backend)?;
            }
            Ok(())
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
        let city = city_key.map(str::to_owned);
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, title, description, city, store_id, starts_at, ends_at FROM promotions \
                     WHERE kind = ?1 AND ends_at > ?2 AND (?3 IS NULL OR starts_at < ?3) \
                     AND (?4 IS NULL OR city_key IS NULL OR city_key = ?4) ORDER BY starts_at, id",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![kind.as_str(), micros(from), to.map(micros), city],
                    |r| {
                        Ok(Promotion {
                            id: r.get(0)?,
                            kind,
                            title: r.get(1)?,
                            description: r.get(2)?,
                            city: r.get(3)?,
                            store_id: r.get::<_, Option<i64>>(4)?.map(StoreId::new),
                            starts_at: time(r.get(5)?),
                            ends_at: time(r.get(6)?),
                        })
                    },
                )
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
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
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO offers (id, title, description, reward, target, starts_at, ends_at, per_customer_limit) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET title = excluded.title, \
                     description = excluded.description, reward = excluded.reward, target = excluded.target, \
                     starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
                     per_customer_limit = excluded.per_customer_limit",
                )
                .map_err(backend)?;
            for (o, reward, target) in &rows {
                stmt.execute(params![
                    o.id.get(),
                    o.title,
                    o.description,
                    reward,
                    target,
                    micros(o.starts_at),
                    micros(o.ends_at),
                    o.per_customer_limit
                ])
                .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn running_offers(&self, at: DateTime<Utc>) -> StoreResult<Vec<Offer>> {
        let rows = self
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {OFFER_COLUMNS} FROM offers WHERE ends_at > ?1 AND starts_at <= ?1 ORDER BY id"
                    ))
                    .map_err(backend)?;
                let rows = stmt.query_map([micros(at)], offer_row).map_err(backend)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(backend)
            })
            .await?;
        rows.into_iter().map(offer_from).collect()
    }

    async fn offer(&self, id: OfferId) -> StoreResult<Option<Offer>> {
        let row = self
            .read(move |c| {
                optional(
                    c.prepare_cached(&format!("SELECT {OFFER_COLUMNS} FROM offers WHERE id = ?1"))
                        .and_then(|mut s| s.query_row([id.get()], offer_row)),
                )
            })
            .await?;
        row.map(offer_from).transpose()
    }

    async fn activations(&self, member: MemberId) -> StoreResult<Vec<Activation>> {
        self.read(move |c| activations_of(c, member)).await
    }

    async fn activate_offer(
        &self,
        member: MemberId,
        offer: OfferId,
        at: DateTime<Utc>,
    ) -> StoreResult<Activation> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO offer_activations (member_id, offer_id, activated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (member_id, offer_id) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![member.get(), offer.get(), micros(at)]))
            .map_err(backend)?;
            tx.prepare_cached(
                "SELECT offer_id, activated_at, uses FROM offer_activations WHERE member_id = ?1 AND offer_id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![member.get(), offer.get()], |r| {
                    Ok(Activation {
                        offer_id: OfferId::new(r.get(0)?),
                        activated_at: time(r.get(1)?),
                        uses: r.get(2)?,
                    })
                })
            })
            .map_err(backend)
        })
        .await
    }

    async fn last_purchase_at(&self, member: MemberId) -> StoreResult<Option<DateTime<Utc>>> {
        self.read(move |c| {
            let at: Option<i64> = c
                .prepare_cached("SELECT MAX(purchased_at) FROM purchases WHERE member_id = ?1")
                .and_then(|mut s| s.query_row([member.get()], |r| r.get(0)))
                .map_err(backend)?;
            Ok(at.map(time))
        })
        .await
    }

    async fn all_offers(&self, limit: u32) -> StoreResult<Vec<Offer>> {
        let rows = self
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {OFFER_COLUMNS} FROM offers ORDER BY id DESC LIMIT ?1"
                    ))
                    .map_err(backend)?;
                let rows = stmt.query_map([limit], offer_row).map_err(backend)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(backend)
            })
            .await?;
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
        self.write(move |tx| {
            let values = params![
                id.map(OfferId::get),
                o.title,
                o.description,
                reward,
                target,
                micros(o.starts_at),
                micros(o.ends_at),
                o.per_customer_limit
            ];
            let id = match id {
                None => {
                    tx.execute(
                        "INSERT INTO offers (id, title, description, reward, target, starts_at, ends_at, per_customer_limit) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        values,
                    )
                    .map_err(backend)?;
                    OfferId::new(tx.last_insert_rowid())
                }
                Some(id) => {
                    let changed = tx
                        .execute(
                            "UPDATE offers SET title = ?2, description = ?3, reward = ?4, target = ?5, \
                             starts_at = ?6, ends_at = ?7, per_customer_limit = ?8 WHERE id = ?1",
                            values,
                        )
                        .map_err(backend)?;
                    if changed == 0 {
                        return Err(StoreError::NotFound);
                    }
                    id
                }
            };
            audit.subject = format!("offer:{id}");
            crate::catalog::insert_audit(tx, &audit)?;
            Ok(id)
        })
        .await
    }

    async fn all_promotions(&self, id: Option<i64>, limit: u32) -> StoreResult<Vec<Promotion>> {
        let rows: Vec<(
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<i64>,
            i64,
            i64,
        )> = self
            .read(move |c| {
                c.prepare_cached(
                    "SELECT id, kind, title, description, city, store_id, starts_at, ends_at \
                     FROM promotions WHERE ?2 IS NULL OR id = ?2 ORDER BY id DESC LIMIT ?1",
                )
                .and_then(|mut s| {
                    s.query_map(params![limit, id], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                        ))
                    })?
                    .collect()
                })
                .map_err(backend)
            })
            .await?;
        rows.into_iter()
            .map(
                |(id, kind, title, description, city, store, starts, ends)| {
                    Ok(Promotion {
                        id,
                        kind: PromotionKind::parse(&kind).ok_or_else(|| {
                            StoreError::Corrupt(format!("promotion kind {kind:?}"))
                        })?,
                        title,
                        description,
                        city,
                        store_id: store.map(StoreId::new),
                        starts_at: time(starts),
                        ends_at: time(ends),
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
        self.write(move |tx| {
            let values = params![
                id,
                p.kind.as_str(),
                p.title,
                p.description,
                p.city,
                p.city.as_deref().map(city_key),
                p.store_id.map(|id| id.get()),
                micros(p.starts_at),
                micros(p.ends_at)
            ];
            let id = match id {
                None => {
                    tx.execute(
                        "INSERT INTO promotions (id, kind, title, description, city, city_key, store_id, starts_at, ends_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        values,
                    )
                    .map_err(backend)?;
                    tx.last_insert_rowid()
                }
                Some(id) => {
                    let changed = tx
                        .execute(
                            "UPDATE promotions SET kind = ?2, title = ?3, description = ?4, city = ?5, city_key = ?6, \
                             store_id = ?7, starts_at = ?8, ends_at = ?9 WHERE id = ?1",
                            values,
                        )
                        .map_err(backend)?;
                    if changed == 0 {
                        return Err(StoreError::NotFound);
                    }
                    id
                }
            };
            audit.subject = format!("promotion:{id}");
            crate::catalog::insert_audit(tx, &audit)?;
            Ok(id)
        })
        .await
    }

    async fn reach(&self, audience: &Audience) -> StoreResult<u64> {
        const LIVE: &str = "SELECT count(*) FROM members m WHERE m.deleted_at IS NULL";
        let (sql, value): (String, Value) = match audience {
            Audience::Everyone => (format!("{LIVE} AND ?1 IS NULL"), Value::Null),
            Audience::FavouriteCategory(id) => (
                format!("{LIVE} AND m.favourite_category_id = ?1"),
                Value::Integer(*id),
            ),
            Audience::CityKey(key) => (
                format!("{LIVE} AND m.city_key = ?1"),
                Value::Text(key.clone()),
            ),
            // Dates are stored as YYYY-MM-DD; the index is on the month's two digits.
            Audience::BirthMonth(month) => (
                format!("{LIVE} AND substr(m.birth_date, 6, 2) = ?1"),
                Value::Text(format!("{month:02}")),
            ),
            Audience::NoPurchaseSince(cutoff) => (
                format!(
                    "{LIVE} AND m.created_at <= ?1 AND NOT EXISTS \
                     (SELECT 1 FROM purchases p WHERE p.member_id = m.id AND p.purchased_at > ?1)"
                ),
                Value::Integer(micros(*cutoff)),
            ),
        };
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
            let count: i64 = stmt.query_row([value], |r| r.get(0)).map_err(backend)?;
            Ok(count.unsigned_abs())
        })
        .await
    }
}

pub(crate) fn activations_of(c: &Connection, member: MemberId) -> StoreResult<Vec<Activation>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT offer_id, activated_at, uses FROM offer_activations WHERE member_id = ?1 ORDER BY offer_id",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map([member.get()], |r| {
            Ok(Activation {
                offer_id: OfferId::new(r.get(0)?),
                activated_at: time(r.get(1)?),
                uses: r.get(2)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

/// Adds or replaces products with their search index entries. The index row shares the
/// product's rowid, so that replacing one finds its entry by key, not by a scan.
pub(crate) fn write_products(tx: &Connection, products: &[IndexedProduct]) -> StoreResult<()> {
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO products (sku, category_id, name, price_kop, unit, terms, lead_term) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (sku) DO UPDATE SET \
             category_id = excluded.category_id, name = excluded.name, price_kop = excluded.price_kop, \
             unit = excluded.unit, terms = excluded.terms, lead_term = excluded.lead_term RETURNING rowid",
        )
        .map_err(backend)?;
    let mut unindex = tx
        .prepare_cached("DELETE FROM products_fts WHERE rowid = ?1")
        .map_err(backend)?;
    let mut index = tx
        .prepare_cached("INSERT INTO products_fts (rowid, terms, sku) VALUES (?1, ?2, ?3)")
        .map_err(backend)?;
    for p in products {
        let q = &p.product;
        let rowid: i64 = upsert
            .query_row(
                params![
                    q.sku,
                    q.category_id,
                    q.name,
                    q.price_kop,
                    q.unit,
                    p.terms,
                    p.lead_term
                ],
                |r| r.get(0),
            )
            .map_err(backend)?;
        unindex.execute([rowid]).map_err(backend)?;
        index
            .execute(params![rowid, p.terms, q.sku])
            .map_err(backend)?;
    }
    Ok(())
}

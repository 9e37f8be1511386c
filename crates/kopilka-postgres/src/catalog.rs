use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::{CategoryId, StoreId};
use kopilka_domain::staff::Role;
use kopilka_domain::staff::StaffId;
use kopilka_store::Marketing as _;
use kopilka_store::{
    convert, AuditEntry, AuditFilter, Catalog, CatalogRows, Category, Meta, NewAuditEntry, Product,
    Staff, StaffChange, StaffCredentials, StaffMember, StoreLocation, StoreResult,
};
use sqlx::postgres::PgRow;
use sqlx::Row;

#[async_trait]
impl Catalog for PostgresStore {
    async fn upsert_categories(&self, categories: &[Category]) -> StoreResult<()> {
        let pool = self.pool.clone();
        let categories = categories.to_vec();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            write_categories(&mut tx, &categories).await?;
            tx.commit().await.map_err(db)
        })
        .await
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        sqlx::query("SELECT id, name, parent_id FROM categories ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(Category {
                    id: r.try_get(0).map_err(db)?,
                    name: r.try_get(1).map_err(db)?,
                    parent_id: r.try_get(2).map_err(db)?,
                })
            })
            .collect()
    }

    async fn category_exists(&self, id: CategoryId) -> StoreResult<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM categories WHERE id = $1)")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn upsert_stores(&self, stores: &[StoreLocation]) -> StoreResult<()> {
        let pool = self.pool.clone();
        let stores = stores.to_vec();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            write_stores(&mut tx, &stores).await?;
            tx.commit().await.map_err(db)
        })
        .await
    }

    async fn stores(&self) -> StoreResult<Vec<StoreLocation>> {
        // Every store: the search with no filter.
        self.find_stores(&kopilka_store::StoreQuery::default())
            .await
    }

    async fn store_exists(&self, id: StoreId) -> StoreResult<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM stores WHERE id = $1)")
            .bind(id.get())
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn import_catalog(&self, rows: CatalogRows, audit: NewAuditEntry) -> StoreResult<u64> {
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            match &rows {
                CatalogRows::Products(products) => {
                    crate::marketing::write_products(&mut tx, products).await?;
                }
                CatalogRows::Categories(categories) => {
                    write_categories(&mut tx, categories).await?
                }
                CatalogRows::Stores(stores) => write_stores(&mut tx, stores).await?,
            }
            insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(rows.len() as u64)
        })
        .await
    }

    async fn products_after(&self, after: Option<String>, limit: u32) -> StoreResult<Vec<Product>> {
        let rows: Vec<(String, String, i64, i64, String)> = sqlx::query_as(
            "SELECT sku, name, category_id, price_kop, unit FROM products \
             WHERE $1::text IS NULL OR sku > $1 ORDER BY sku LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(sku, name, category_id, price_kop, unit)| Product {
                sku,
                name,
                category_id,
                price_kop,
                unit,
            })
            .collect())
    }
}

fn staff_member(r: &PgRow) -> StoreResult<StaffMember> {
    let roles: String = r.try_get("roles").map_err(db)?;
    Ok(StaffMember {
        id: StaffId::new(r.try_get("id").map_err(db)?),
        login: r.try_get("login").map_err(db)?,
        roles: convert::roles(&roles)?,
        created_at: r.try_get("created_at").map_err(db)?,
        disabled: r.try_get("disabled").map_err(db)?,
        totp_enrolled: r.try_get("totp_enrolled").map_err(db)?,
    })
}

const STAFF_COLUMNS: &str = "id, login, roles, created_at, disabled_at IS NOT NULL AS disabled, \
     totp_secret IS NOT NULL AS totp_enrolled";

pub(crate) async fn insert_audit(
    conn: &mut sqlx::PgConnection,
    e: &NewAuditEntry,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor, action, subject, details, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.subject)
    .bind(&e.details)
    .bind(e.at)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl Staff for PostgresStore {
    async fn create_staff(
        &self,
        login: &str,
        password_hash: &str,
        roles: &[Role],
        at: DateTime<Utc>,
        mut audit: NewAuditEntry,
    ) -> StoreResult<StaffMember> {
        let pool = self.pool.clone();
        let (login, hash, roles) = (
            login.to_owned(),
            password_hash.to_owned(),
            convert::roles_to_db(roles),
        );
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let row = sqlx::query(&format!(
                "INSERT INTO staff (login, password_hash, roles, created_at) VALUES ($1, $2, $3, $4) \
                 RETURNING {STAFF_COLUMNS}"
            ))
            .bind(&login)
            .bind(&hash)
            .bind(&roles)
            .bind(at)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            let staff = staff_member(&row)?;
            audit.subject.push_str(&staff.id.to_string());
            insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(staff)
        })
        .await
    }

    async fn staff_by_login(
        &self,
        login: &str,
    ) -> StoreResult<Option<(StaffMember, StaffCredentials)>> {
        sqlx::query(&format!(
            "SELECT {STAFF_COLUMNS}, password_hash, totp_secret FROM staff WHERE login = $1"
        ))
        .bind(login)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(|r| {
            Ok((
                staff_member(&r)?,
                StaffCredentials {
                    password_hash: r.try_get("password_hash").map_err(db)?,
                    totp_secret: r.try_get("totp_secret").map_err(db)?,
                },
            ))
        })
        .transpose()
    }

    async fn staff_member(&self, id: StaffId) -> StoreResult<Option<StaffMember>> {
        sqlx::query(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1"))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| staff_member(&r))
            .transpose()
    }

    async fn change_staff(
        &self,
        id: StaffId,
        change: StaffChange,
        audit: NewAuditEntry,
    ) -> StoreResult<bool> {
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let (query, ends_sessions) = match &change {
                StaffChange::Password(hash) => (
                    sqlx::query("UPDATE staff SET password_hash = $2 WHERE id = $1")
                        .bind(id.get())
                        .bind(hash.clone()),
                    true,
                ),
                StaffChange::Disable(at) => (
                    sqlx::query(
                        "UPDATE staff SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
                    )
                    .bind(id.get())
                    .bind(*at),
                    true,
                ),
                StaffChange::Totp(secret) => (
                    sqlx::query("UPDATE staff SET totp_secret = $2 WHERE id = $1")
                        .bind(id.get())
                        .bind(secret.clone()),
                    false,
                ),
            };
            let changed = query
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            if ends_sessions {
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $2 WHERE kind = 'staff' AND subject = $1 AND revoked_at IS NULL",
                )
                .bind(id.get())
                .bind(audit.at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            insert_audit(&mut tx, &audit).await?;
            tx.commit().await.map_err(db)?;
            Ok(true)
        })
        .await
    }

    async fn record_audit(&self, e: NewAuditEntry) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        insert_audit(&mut conn, &e).await
    }

    async fn audit_log(&self, filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let (kind, exact) = filter.subject_bounds();
        sqlx::query(
            "SELECT id, actor, action, subject, details, at FROM audit_log \
             WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR left(subject, length($2)) = $2) \
             AND ($3::text IS NULL OR subject = $3) AND ($4::timestamptz IS NULL OR at >= $4) \
             AND ($5::timestamptz IS NULL OR at < $5) ORDER BY id DESC LIMIT $6",
        )
            .bind(&filter.actor)
            .bind(kind)
            .bind(exact)
            .bind(filter.from)
            .bind(filter.to)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get(0).map_err(db)?,
                    actor: r.try_get(1).map_err(db)?,
                    action: r.try_get(2).map_err(db)?,
                    subject: r.try_get(3).map_err(db)?,
                    details: r.try_get(4).map_err(db)?,
                    at: r.try_get(5).map_err(db)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl Meta for PostgresStore {
    async fn server_secret(&self, candidate: &str) -> StoreResult<String> {
        sqlx::query_scalar(
            "WITH ins AS (INSERT INTO meta (key, value) VALUES ('server_secret', $1) ON CONFLICT (key) DO NOTHING RETURNING value) \
             SELECT value FROM ins UNION ALL SELECT value FROM meta WHERE key = 'server_secret' LIMIT 1",
        )
        .bind(candidate)
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

async fn write_categories(tx: &mut sqlx::PgConnection, categories: &[Category]) -> StoreResult<()> {
    for c in categories {
        sqlx::query(
            "INSERT INTO categories (id, name, parent_id) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id",
        )
        .bind(c.id)
        .bind(&c.name)
        .bind(c.parent_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

async fn write_stores(tx: &mut sqlx::PgConnection, stores: &[StoreLocation]) -> StoreResult<()> {
    for s in stores {
        sqlx::query(
            "INSERT INTO stores (id, name, city, address, lat, lon, hours, city_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, city = excluded.city, address = excluded.address, \
             lat = excluded.lat, lon = excluded.lon, hours = excluded.hours, city_key = excluded.city_key",
        )
        .bind(s.id.get())
        .bind(&s.name)
        .bind(&s.city)
        .bind(&s.address)
        .bind(s.lat)
        .bind(s.lon)
        .bind(&s.hours)
        .bind(kopilka_store::city_key(&s.city))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

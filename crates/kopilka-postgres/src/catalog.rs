use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::member::{CategoryId, StoreId};
use kopilka_domain::staff::Role;
use kopilka_store::Marketing as _;
use kopilka_store::{
    convert, AuditEntry, Catalog, Category, Meta, NewAuditEntry, Staff, StaffMember, StoreLocation,
    StoreResult,
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
            for c in &categories {
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
            for s in &stores {
                sqlx::query(
                    "INSERT INTO stores (id, name, city, address, lat, lon, hours, city_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, city = excluded.city, address = excluded.address, \
                     lat = excluded.lat, lon = excluded.lon, hours = excluded.hours, city_key = excluded.city_key",
                )
                .bind(s.id)
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
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }
}

fn staff_member(r: &PgRow) -> StoreResult<StaffMember> {
    let roles: String = r.try_get("roles").map_err(db)?;
    Ok(StaffMember {
        id: r.try_get("id").map_err(db)?,
        login: r.try_get("login").map_err(db)?,
        roles: convert::roles(&roles)?,
        created_at: r.try_get("created_at").map_err(db)?,
    })
}

#[async_trait]
impl Staff for PostgresStore {
    async fn create_staff(
        &self,
        login: &str,
        password_hash: &str,
        roles: &[Role],
        at: DateTime<Utc>,
    ) -> StoreResult<StaffMember> {
        let row = sqlx::query(
            "INSERT INTO staff (login, password_hash, roles, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, login, roles, created_at",
        )
        .bind(login)
        .bind(password_hash)
        .bind(convert::roles_to_db(roles))
        .bind(at)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        staff_member(&row)
    }

    async fn staff_by_login(&self, login: &str) -> StoreResult<Option<(StaffMember, String)>> {
        sqlx::query(
            "SELECT id, login, roles, created_at, password_hash FROM staff WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(|r| Ok((staff_member(&r)?, r.try_get("password_hash").map_err(db)?)))
        .transpose()
    }

    async fn staff_member(&self, id: i64) -> StoreResult<Option<StaffMember>> {
        sqlx::query("SELECT id, login, roles, created_at FROM staff WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| staff_member(&r))
            .transpose()
    }

    async fn record_audit(&self, e: NewAuditEntry) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_log (actor, action, subject, details, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.subject)
            .bind(&e.details)
            .bind(e.at)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        sqlx::query("SELECT id, actor, action, subject, details, at FROM audit_log ORDER BY id DESC LIMIT $1")
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

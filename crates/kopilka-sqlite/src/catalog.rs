use crate::{backend, micros, optional, time, SqliteStore};
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
use rusqlite::{params, Connection};

#[async_trait]
impl Catalog for SqliteStore {
    async fn upsert_categories(&self, categories: &[Category]) -> StoreResult<()> {
        let categories = categories.to_vec();
        self.write(move |tx| write_categories(tx, &categories))
            .await
    }

    async fn categories(&self) -> StoreResult<Vec<Category>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached("SELECT id, name, parent_id FROM categories ORDER BY id")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Category {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        parent_id: r.get(2)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn category_exists(&self, id: CategoryId) -> StoreResult<bool> {
        self.read(move |c| {
            Ok(optional(
                c.prepare_cached("SELECT 1 FROM categories WHERE id = ?1")
                    .and_then(|mut s| s.query_row([id], |r| r.get::<_, i64>(0))),
            )?
            .is_some())
        })
        .await
    }

    async fn upsert_stores(&self, stores: &[StoreLocation]) -> StoreResult<()> {
        let stores = stores.to_vec();
        self.write(move |tx| write_stores(tx, &stores)).await
    }

    async fn stores(&self) -> StoreResult<Vec<StoreLocation>> {
        // Every store: the search with no filter.
        self.find_stores(&kopilka_store::StoreQuery::default())
            .await
    }

    async fn store_exists(&self, id: StoreId) -> StoreResult<bool> {
        self.read(move |c| {
            Ok(optional(
                c.prepare_cached("SELECT 1 FROM stores WHERE id = ?1")
                    .and_then(|mut s| s.query_row([id.get()], |r| r.get::<_, i64>(0))),
            )?
            .is_some())
        })
        .await
    }

    async fn import_catalog(&self, rows: CatalogRows, audit: NewAuditEntry) -> StoreResult<u64> {
        self.write(move |tx| {
            match &rows {
                CatalogRows::Products(products) => crate::marketing::write_products(tx, products)?,
                CatalogRows::Categories(categories) => write_categories(tx, categories)?,
                CatalogRows::Stores(stores) => write_stores(tx, stores)?,
            }
            insert_audit(tx, &audit)?;
            Ok(rows.len() as u64)
        })
        .await
    }

    async fn products_after(&self, after: Option<String>, limit: u32) -> StoreResult<Vec<Product>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT sku, name, category_id, price_kop, unit FROM products \
                 WHERE ?1 IS NULL OR sku > ?1 ORDER BY sku LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![after, limit], |r| {
                    Ok(Product {
                        sku: r.get(0)?,
                        name: r.get(1)?,
                        category_id: r.get(2)?,
                        price_kop: r.get(3)?,
                        unit: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(backend)
        })
        .await
    }
}

const STAFF_COLUMNS: &str =
    "id, login, roles, created_at, disabled_at IS NOT NULL, totp_secret IS NOT NULL";

type StaffRow = (i64, String, String, i64, bool, bool);

fn staff_from_row(r: &rusqlite::Row) -> rusqlite::Result<StaffRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn staff_member(
    (id, login, roles, created_at, disabled, totp_enrolled): StaffRow,
) -> StoreResult<StaffMember> {
    Ok(StaffMember {
        id: StaffId::new(id),
        login,
        roles: convert::roles(&roles)?,
        created_at: time(created_at),
        disabled,
        totp_enrolled,
    })
}

pub(crate) fn insert_audit(tx: &rusqlite::Connection, e: &NewAuditEntry) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO audit_log (actor, action, subject, details, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            e.actor,
            e.action,
            e.subject,
            e.details,
            micros(e.at)
        ])
    })
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl Staff for SqliteStore {
    async fn create_staff(
        &self,
        login: &str,
        password_hash: &str,
        roles: &[Role],
        at: DateTime<Utc>,
        mut audit: NewAuditEntry,
    ) -> StoreResult<StaffMember> {
        let (login, hash, roles) = (
            login.to_owned(),
            password_hash.to_owned(),
            convert::roles_to_db(roles),
        );
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO staff (login, password_hash, roles, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![login, hash, roles, micros(at)],
            )
            .map_err(backend)?;
            let id = tx.last_insert_rowid();
            audit.subject.push_str(&id.to_string());
            insert_audit(tx, &audit)?;
            staff_member((id, login, roles, micros(at), false, false))
        })
        .await
    }

    async fn staff_by_login(
        &self,
        login: &str,
    ) -> StoreResult<Option<(StaffMember, StaffCredentials)>> {
        let login = login.to_owned();
        self.read(move |c| {
            let row = optional(c.query_row(
                &format!("SELECT {STAFF_COLUMNS}, password_hash, totp_secret FROM staff WHERE login = ?1"),
                [login],
                |r| Ok((staff_from_row(r)?, r.get::<_, String>(6)?, r.get::<_, Option<String>>(7)?)),
            ))?;
            row.map(|(s, password_hash, totp_secret)| {
                Ok((
                    staff_member(s)?,
                    StaffCredentials {
                        password_hash,
                        totp_secret,
                    },
                ))
            })
            .transpose()
        })
        .await
    }

    async fn staff_member(&self, id: StaffId) -> StoreResult<Option<StaffMember>> {
        self.read(move |c| {
            optional(c.query_row(
                &format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = ?1"),
                [id.get()],
                staff_from_row,
            ))?
            .map(staff_member)
            .transpose()
        })
        .await
    }

    async fn change_staff(
        &self,
        id: StaffId,
        change: StaffChange,
        audit: NewAuditEntry,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let (sql, value, ends_sessions) = match &change {
                StaffChange::Password(hash) => (
                    "UPDATE staff SET password_hash = ?2 WHERE id = ?1",
                    rusqlite::types::Value::Text(hash.clone()),
                    true,
                ),
                StaffChange::Disable(at) => (
                    "UPDATE staff SET disabled_at = COALESCE(disabled_at, ?2) WHERE id = ?1",
                    rusqlite::types::Value::Integer(micros(*at)),
                    true,
                ),
                StaffChange::Totp(secret) => (
                    "UPDATE staff SET totp_secret = ?2 WHERE id = ?1",
                    rusqlite::types::Value::Text(secret.clone()),
                    false,
                ),
            };
            if tx.execute(sql, params![id.get(), value]).map_err(backend)? == 0 {
                return Ok(false);
            }
            if ends_sessions {
                tx.execute(
                    "UPDATE sessions SET revoked_at = ?2 WHERE kind = 'staff' AND subject = ?1 AND revoked_at IS NULL",
                    params![id.get(), micros(audit.at)],
                )
                .map_err(backend)?;
            }
            insert_audit(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn record_audit(&self, e: NewAuditEntry) -> StoreResult<()> {
        self.write(move |tx| insert_audit(tx, &e)).await
    }

    async fn audit_log(&self, filter: &AuditFilter, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let (kind, exact) = filter.subject_bounds();
        let actor = filter.actor.clone();
        let (from, to) = (filter.from.map(micros), filter.to.map(micros));
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, actor, action, subject, details, at FROM audit_log \
                     WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR substr(subject, 1, length(?2)) = ?2) \
                     AND (?3 IS NULL OR subject = ?3) AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5) \
                     ORDER BY id DESC LIMIT ?6",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![actor, kind, exact, from, to, limit], |r| {
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        actor: r.get(1)?,
                        action: r.get(2)?,
                        subject: r.get(3)?,
                        details: r.get(4)?,
                        at: time(r.get(5)?),
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl Meta for SqliteStore {
    async fn server_secret(&self, candidate: &str) -> StoreResult<String> {
        let candidate = candidate.to_owned();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('server_secret', ?1) ON CONFLICT (key) DO NOTHING",
                [candidate],
            )
            .map_err(backend)?;
            tx.query_row("SELECT value FROM meta WHERE key = 'server_secret'", [], |r| r.get(0))
                .map_err(backend)
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
            .await
    }
}

pub(crate) fn write_categories(tx: &Connection, categories: &[Category]) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO categories (id, name, parent_id) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id",
        )
        .map_err(backend)?;
    for c in categories {
        stmt.execute(params![c.id, c.name, c.parent_id])
            .map_err(backend)?;
    }
    Ok(())
}

pub(crate) fn write_stores(tx: &Connection, stores: &[StoreLocation]) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO stores (id, name, city, address, lat, lon, hours, city_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, city = excluded.city, address = excluded.address, \
             lat = excluded.lat, lon = excluded.lon, hours = excluded.hours, city_key = excluded.city_key",
        )
        .map_err(backend)?;
    for s in stores {
        stmt.execute(params![
            s.id.get(),
            s.name,
            s.city,
            s.address,
            s.lat,
            s.lon,
            s.hours,
            kopilka_store::city_key(&s.city)
        ])
        .map_err(backend)?;
    }
    Ok(())
}

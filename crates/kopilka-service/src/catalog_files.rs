//! Catalogue files: products, categories and stores exported and imported as CSV (SPEC §8).
//! An import is read row by row from a stream, every row checked; any wrong row refuses the
//! whole file with every wrong row by line, and a file with none is written in one
//! transaction with its audit row.

use crate::staff::{authorize, Actor};
use crate::{Kopilka, ServiceError, ServiceResult};
use kopilka_domain::error::RowError;
use kopilka_domain::member::{CategoryId, StoreId};
use kopilka_domain::staff::Permission;
use kopilka_domain::DomainError;
use kopilka_store::{CatalogRows, Category, IndexedProduct, Product, StaffMember, StoreLocation};
use kopilka_text::Message;
use std::collections::{HashMap, HashSet};
use std::io::Read;

/// Wrong rows one answer names; the count of the rest is said too.
pub const ROW_ERRORS_REPORTED: usize = 100;
/// Products one page of an export reads from the store.
pub const EXPORT_PAGE: u32 = 10_000;
const NAME_MAX_CHARS: usize = 200;
const UNIT_MAX_CHARS: usize = 20;
const SKU_MAX_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogFile {
    Products,
    Categories,
    Stores,
}

impl CatalogFile {
    pub const ALL: [CatalogFile; 3] = [
        CatalogFile::Products,
        CatalogFile::Categories,
        CatalogFile::Stores,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogFile::Products => "products",
            CatalogFile::Categories => "categories",
            CatalogFile::Stores => "stores",
        }
    }

    /// The file's columns, in the order an export writes them.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            CatalogFile::Products => &["sku", "name", "category_id", "price_kop", "unit"],
            CatalogFile::Categories => &["id", "name", "parent_id"],
            CatalogFile::Stores => &["id", "name", "city", "address", "lat", "lon", "hours"],
        }
    }
}

fn row_error(line: u64, message: impl Into<Message>) -> RowError {
    RowError {
        line,
        message: message.into(),
    }
}

/// Reads `reader` as CSV of `file`'s columns, calling `row` with each row's line number and
/// its values by column name; what `row` refuses, and any row that cannot be read, is
/// collected by line. Semicolons separate columns when the header has them and no commas
/// (a spreadsheet's Russian export).
fn each_row<R: Read>(
    file: CatalogFile,
    reader: R,
    mut row: impl FnMut(u64, &HashMap<&'static str, &str>) -> Result<(), Message>,
) -> Result<u64, Vec<RowError>> {
    let mut buffered = std::io::BufReader::new(reader);
    let head = std::io::BufRead::fill_buf(&mut buffered)
        .map_err(|_| vec![row_error(1, "csv_unreadable")])?;
    let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first.contains(&b';') && !first.contains(&b',') {
        b';'
    } else {
        b','
    };
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(buffered);
    let headers = csv
        .headers()
        .map_err(|_| vec![row_error(1, "csv_unreadable")])?
        .clone();
    let mut at = Vec::new();
    for name in file.columns() {
        let position = headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name));
        match position {
            Some(i) => at.push((*name, i)),
            // A product's unit, a category's parent and a store's hours may be left out.
            None if matches!(*name, "unit" | "parent_id" | "hours") => {}
            None => {
                return Err(vec![row_error(
                    1,
                    Message::new("csv_column_missing").with("column", name),
                )])
            }
        }
    }
    let mut errors = Vec::new();
    let mut wrong = 0u64;
    let mut rows = 0u64;
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let values: HashMap<&'static str, &str> = at
                    .iter()
                    .map(|(name, i)| (*name, record.get(*i).unwrap_or_default()))
                    .collect();
                rows += 1;
                if let Err(message) = row(line, &values) {
                    wrong += 1;
                    if errors.len() < ROW_ERRORS_REPORTED {
                        errors.push(row_error(line, message));
                    }
                }
            }
            Err(_) => {
                wrong += 1;
                if errors.len() < ROW_ERRORS_REPORTED {
                    errors.push(row_error(line, "csv_unreadable"));
                }
                // A broken quote can swallow the rest: nothing after it can be trusted.
                break;
            }
        }
    }
    if wrong > 0 {
        if wrong > errors.len() as u64 {
            errors.push(row_error(
                0,
                Message::new("csv_more_wrong_rows").with("count", wrong - errors.len() as u64),
            ));
        }
        return Err(errors);
    }
    if rows == 0 {
        return Err(vec![row_error(1, "csv_empty")]);
    }
    Ok(rows)
}

fn text(value: &str, max: usize, key: &'static str) -> Result<String, Message> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        Err(Message::new(key))
    } else {
        Ok(value.to_owned())
    }
}

fn number<T: std::str::FromStr>(value: &str, key: &'static str) -> Result<T, Message> {
    value.trim().parse().map_err(|_| Message::new(key))
}

/// A products file, every row checked: a sku once, a name, a known category, a price in
/// kopecks, a unit.
pub fn read_products(
    reader: impl Read,
    categories: &HashSet<CategoryId>,
) -> Result<Vec<IndexedProduct>, Vec<RowError>> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut products = Vec::new();
    each_row(CatalogFile::Products, reader, |line, v| {
        let sku = text(v["sku"], SKU_MAX_CHARS, "catalog_sku_invalid")?;
        let name = text(v["name"], NAME_MAX_CHARS, "catalog_name_invalid")?;
        let category_id: CategoryId = number(v["category_id"], "catalog_category_unknown")?;
        if !categories.contains(&category_id) {
            return Err(Message::new("catalog_category_unknown"));
        }
        let price_kop: i64 = number(v["price_kop"], "catalog_price_invalid")?;
        if price_kop < 0 {
            return Err(Message::new("catalog_price_invalid"));
        }
        let unit = match v.get("unit").copied().unwrap_or_default().trim() {
            "" => "шт".to_owned(),
            unit => text(unit, UNIT_MAX_CHARS, "catalog_unit_invalid")?,
        };
        if let Some(first) = seen.insert(sku.clone(), line) {
            return Err(Message::new("catalog_sku_repeated").with("line", first));
        }
        let (terms, lead_term) = kopilka_domain::search::index(&name);
        products.push(IndexedProduct {
            product: Product {
                sku,
                name,
                category_id,
                price_kop,
                unit,
            },
            terms,
            lead_term,
        });
        Ok(())
    })?;
    Ok(products)
}

/// A categories file, every row checked; parents (in the file or already there) come
/// before their children, and no category is its own ancestor.
pub fn read_categories(
    reader: impl Read,
    existing: &[Category],
) -> Result<Vec<Category>, Vec<RowError>> {
    let mut rows: Vec<(u64, Category)> = Vec::new();
    let mut seen: HashMap<CategoryId, u64> = HashMap::new();
    each_row(CatalogFile::Categories, reader, |line, v| {
        let id: CategoryId = number(v["id"], "catalog_id_invalid")?;
        if id <= 0 {
            return Err(Message::new("catalog_id_invalid"));
        }
        let name = text(v["name"], NAME_MAX_CHARS, "catalog_name_invalid")?;
        let parent_id = match v.get("parent_id").copied().unwrap_or_default().trim() {
            "" => None,
            p => Some(number::<CategoryId>(p, "catalog_parent_unknown")?),
        };
        if let Some(first) = seen.insert(id, line) {
            return Err(Message::new("catalog_id_repeated").with("line", first));
        }
        rows.push((
            line,
            Category {
                id,
                name,
                parent_id,
            },
        ));
        Ok(())
    })?;
    // The tree as it will be: what is there, with the file's rows over it.
    let mut parent: HashMap<CategoryId, Option<CategoryId>> =
        existing.iter().map(|c| (c.id, c.parent_id)).collect();
    for (_, c) in &rows {
        parent.insert(c.id, c.parent_id);
    }
    let mut errors = Vec::new();
    let mut depth: HashMap<CategoryId, usize> = HashMap::new();
    for (line, c) in &rows {
        let mut at = c.parent_id;
        let mut steps = 0;
        let mut wrong = None;
        while let Some(p) = at {
            steps += 1;
            match parent.get(&p) {
                None => wrong = Some("catalog_parent_unknown"),
                Some(_) if p == c.id || steps > parent.len() => {
                    wrong = Some("catalog_parent_cycle")
                }
                Some(next) => {
                    at = *next;
                    continue;
                }
            }
            break;
        }
        match wrong {
            Some(key) if errors.len() < ROW_ERRORS_REPORTED => errors.push(row_error(*line, key)),
            Some(_) => {}
            None => {
                depth.insert(c.id, steps);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut categories: Vec<Category> = rows.into_iter().map(|(_, c)| c).collect();
    categories.sort_by_key(|c| depth.get(&c.id).copied().unwrap_or_default());
    Ok(categories)
}

/// A stores file, every row checked: an id once, a name, a city, an address, a place.
pub fn read_stores(reader: impl Read) -> Result<Vec<StoreLocation>, Vec<RowError>> {
    let mut seen: HashMap<i64, u64> = HashMap::new();
    let mut stores = Vec::new();
    each_row(CatalogFile::Stores, reader, |line, v| {
        let id: i64 = number(v["id"], "catalog_id_invalid")?;
        if id <= 0 {
            return Err(Message::new("catalog_id_invalid"));
        }
        let name = text(v["name"], NAME_MAX_CHARS, "catalog_name_invalid")?;
        let city = kopilka_domain::member::parse_city(v["city"]).map_err(Message::from)?;
        let address = text(v["address"], NAME_MAX_CHARS, "catalog_address_invalid")?;
        let lat: f64 = number(v["lat"], "catalog_place_invalid")?;
        let lon: f64 = number(v["lon"], "catalog_place_invalid")?;
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(Message::new("catalog_place_invalid"));
        }
        let hours = v
            .get("hours")
            .copied()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if let Some(first) = seen.insert(id, line) {
            return Err(Message::new("catalog_id_repeated").with("line", first));
        }
        stores.push(StoreLocation {
            id: StoreId::new(id),
            name,
            city,
            address,
            lat,
            lon,
            hours,
        });
        Ok(())
    })?;
    Ok(stores)
}

/// Rows as CSV lines, with the header first when `header`.
fn csv_of<'a>(
    file: CatalogFile,
    header: bool,
    rows: impl Iterator<Item = Vec<String>> + 'a,
) -> ServiceResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ServiceError::Internal(format!("writing CSV: {e}"));
    if header {
        out.write_record(file.columns()).map_err(fail)?;
    }
    for row in rows {
        out.write_record(&row).map_err(fail)?;
    }
    out.into_inner()
        .map_err(|e| ServiceError::Internal(format!("writing CSV: {e}")))
}

/// Products as CSV lines (a page of an export).
pub fn products_csv(products: &[Product], header: bool) -> ServiceResult<Vec<u8>> {
    csv_of(
        CatalogFile::Products,
        header,
        products.iter().map(|p| {
            vec![
                p.sku.clone(),
                p.name.clone(),
                p.category_id.to_string(),
                p.price_kop.to_string(),
                p.unit.clone(),
            ]
        }),
    )
}

impl Kopilka {
    /// Imports a catalogue file read from `reader` (store managers, marketing,
    /// administrators): all of it or, with any wrong row, nothing. How many rows.
    pub async fn import_catalog(
        &self,
        staff: &StaffMember,
        file: CatalogFile,
        reader: impl Read + Send + 'static,
    ) -> ServiceResult<u64> {
        authorize(staff, Permission::EditCatalogue)?;
        let store = self.store();
        let checked = match file {
            CatalogFile::Products => {
                let categories: HashSet<CategoryId> = store
                    .categories()
                    .await?
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                blocking(move || read_products(reader, &categories).map(CatalogRows::Products))
                    .await?
            }
            CatalogFile::Categories => {
                let existing = store.categories().await?;
                blocking(move || read_categories(reader, &existing).map(CatalogRows::Categories))
                    .await?
            }
            CatalogFile::Stores => {
                blocking(move || read_stores(reader).map(CatalogRows::Stores)).await?
            }
        };
        let rows = checked.map_err(DomainError::InvalidRows)?;
        let audit = self.audit_entry(
            Actor::Staff(staff.id.get()),
            "catalog.import",
            &format!("catalog:{}", file.as_str()),
            serde_json::json!({ "rows": rows.len() }).to_string(),
        );
        let count = store.import_catalog(rows, audit).await?;
        self.inner.categories.forget();
        tracing::info!(file = file.as_str(), rows = count, "catalogue imported");
        Ok(count)
    }

    /// One page of the products export, in sku order after `after`.
    pub async fn export_products_page(
        &self,
        staff: &StaffMember,
        after: Option<String>,
    ) -> ServiceResult<Vec<Product>> {
        authorize(staff, Permission::EditCatalogue)?;
        Ok(self.store().products_after(after, EXPORT_PAGE).await?)
    }

    /// The categories or stores file, whole: they are short.
    pub async fn export_small_catalog(
        &self,
        staff: &StaffMember,
        file: CatalogFile,
    ) -> ServiceResult<Vec<u8>> {
        authorize(staff, Permission::EditCatalogue)?;
        match file {
            CatalogFile::Categories => {
                let categories = self.store().categories().await?;
                csv_of(
                    file,
                    true,
                    categories.into_iter().map(|c| {
                        vec![
                            c.id.to_string(),
                            c.name,
                            c.parent_id.map(|p| p.to_string()).unwrap_or_default(),
                        ]
                    }),
                )
            }
            CatalogFile::Stores => {
                let stores = self.store().stores().await?;
                csv_of(
                    file,
                    true,
                    stores.into_iter().map(|s| {
                        vec![
                            s.id.to_string(),
                            s.name,
                            s.city,
                            s.address,
                            s.lat.to_string(),
                            s.lon.to_string(),
                            s.hours,
                        ]
                    }),
                )
            }
            CatalogFile::Products => Err(ServiceError::Internal(
                "products are exported a page at a time".into(),
            )),
        }
    }
}

/// Runs a file's reading on a blocking thread: it reads a stream synchronously.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(format!("reading a catalogue file: {e}")))
}

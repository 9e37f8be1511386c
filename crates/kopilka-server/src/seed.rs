//! `kopilka seed --demo`: the reference data a fresh installation is shown with. Idempotent:
//! everything is keyed by a fixed id and written with upserts.

use kopilka_store::{Category, Store, StoreLocation, StoreResult};

/// The category tree: (id, name, parent).
const CATEGORIES: &[(i64, &str, Option<i64>)] = &[
    (1, "Продукты питания", None),
    (10, "Молочные продукты", Some(1)),
    (11, "Овощи и фрукты", Some(1)),
    (12, "Мясо и птица", Some(1)),
    (13, "Рыба и морепродукты", Some(1)),
    (14, "Хлеб и выпечка", Some(1)),
    (15, "Бакалея", Some(1)),
    (16, "Сыры", Some(1)),
    (17, "Напитки", Some(1)),
    (18, "Сладости и снеки", Some(1)),
    (19, "Замороженные продукты", Some(1)),
    (2, "Товары для дома", None),
    (20, "Бытовая химия", Some(2)),
    (21, "Посуда и кухня", Some(2)),
    (22, "Домашний текстиль", Some(2)),
    (3, "Красота и здоровье", None),
    (30, "Косметика и гигиена", Some(3)),
    (4, "Детские товары", None),
    (40, "Детское питание", Some(4)),
    (41, "Игрушки", Some(4)),
    (5, "Зоотовары", None),
    (6, "Электроника и бытовая техника", None),
    (7, "Алкогольные напитки", None),
    (8, "Табачная продукция", None),
];

/// (id, name, city, address, lat, lon, hours)
const STORES: &[(i64, &str, &str, &str, f64, f64, &str)] = &[
    (
        1,
        "Гипермаркет «Ленинградский»",
        "Москва",
        "Ленинградское шоссе, 16А, стр. 4",
        55.84645,
        37.48736,
        "08:00–23:00",
    ),
    (
        2,
        "Гипермаркет «Варшавский»",
        "Москва",
        "Варшавское шоссе, 97",
        55.64190,
        37.62010,
        "круглосуточно",
    ),
    (
        3,
        "Гипермаркет «Новокосино»",
        "Москва",
        "ул. Суздальская, 18Б",
        55.74440,
        37.86320,
        "08:00–23:00",
    ),
    (
        4,
        "Гипермаркет «Профсоюзный»",
        "Москва",
        "ул. Профсоюзная, 61А",
        55.66410,
        37.55120,
        "08:00–23:00",
    ),
    (
        5,
        "Гипермаркет «Гражданский»",
        "Санкт-Петербург",
        "Гражданский проспект, 41",
        60.01600,
        30.39550,
        "круглосуточно",
    ),
    (
        6,
        "Гипермаркет «Пулковский»",
        "Санкт-Петербург",
        "Пулковское шоссе, 25",
        59.83120,
        30.32080,
        "08:00–23:00",
    ),
    (
        7,
        "Гипермаркет «Богатырский»",
        "Санкт-Петербург",
        "Богатырский проспект, 42",
        60.00700,
        30.23800,
        "08:00–23:00",
    ),
    (
        8,
        "Гипермаркет «Победа»",
        "Казань",
        "проспект Победы, 91",
        55.75430,
        49.21760,
        "08:00–23:00",
    ),
    (
        9,
        "Гипермаркет «Ямашева»",
        "Казань",
        "проспект Ямашева, 46",
        55.82810,
        49.13500,
        "08:00–22:00",
    ),
    (
        10,
        "Гипермаркет «Металлургов»",
        "Екатеринбург",
        "ул. Металлургов, 87",
        56.82220,
        60.52550,
        "08:00–23:00",
    ),
];

#[derive(Debug, Clone, Copy)]
pub struct SeedReport {
    pub categories: usize,
    pub stores: usize,
}

pub async fn demo(store: &dyn Store) -> StoreResult<SeedReport> {
    let categories: Vec<Category> = CATEGORIES
        .iter()
        .map(|&(id, name, parent_id)| Category {
            id,
            name: name.to_owned(),
            parent_id,
        })
        .collect();
    // Parents first, so every parent_id refers to a row that exists.
    let (roots, children): (Vec<_>, Vec<_>) =
        categories.into_iter().partition(|c| c.parent_id.is_none());
    store.upsert_categories(&roots).await?;
    store.upsert_categories(&children).await?;
    let stores: Vec<StoreLocation> = STORES
        .iter()
        .map(
            |&(id, name, city, address, lat, lon, hours)| StoreLocation {
                id,
                name: name.to_owned(),
                city: city.to_owned(),
                address: address.to_owned(),
                lat,
                lon,
                hours: hours.to_owned(),
            },
        )
        .collect();
    store.upsert_stores(&stores).await?;
    Ok(SeedReport {
        categories: CATEGORIES.len(),
        stores: STORES.len(),
    })
}

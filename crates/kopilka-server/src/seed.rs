//! `kopilka seed --demo`: the reference data a fresh installation is shown with. Idempotent:
//! everything is keyed by a fixed id and written with upserts. Promotions, events and offers
//! are dated from the first day of the current month, so the demo stays current and a second
//! run in the same month changes nothing.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use kopilka_domain::member::StoreId;
use kopilka_domain::offers::OfferId;
use kopilka_domain::offers::{Offer, OfferReward, OfferTarget};
use kopilka_domain::search;
use kopilka_service::seeding::ReferenceData;
use kopilka_service::{Kopilka, ServiceResult};
use kopilka_store::{
    Category, IndexedProduct, Product, Promotion, PromotionKind, StoreError, StoreLocation,
    StoreResult,
};

/// The product catalogue: sku, category id, name, price in kopecks, unit.
const PRODUCTS_TSV: &str = include_str!("../data/products.tsv");

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
    pub products: usize,
    pub promotions: usize,
    pub offers: usize,
}

fn products() -> StoreResult<Vec<IndexedProduct>> {
    let bad = |line: &str| StoreError::Corrupt(format!("demo products: bad line {line:?}"));
    PRODUCTS_TSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let [sku, category, name, price, unit] = f[..] else {
                return Err(bad(line));
            };
            let (terms, lead_term) = search::index(name);
            Ok(IndexedProduct {
                product: Product {
                    sku: sku.to_owned(),
                    name: name.to_owned(),
                    category_id: category.parse().map_err(|_| bad(line))?,
                    price_kop: price.parse().map_err(|_| bad(line))?,
                    unit: unit.to_owned(),
                },
                terms,
                lead_term,
            })
        })
        .collect()
}

/// Midnight (chain time) of the first day of the month `offset` months from `now`'s, then
/// `day - 1` days on.
fn month_day(now: DateTime<Utc>, tz: Tz, offset: i32, day: u32) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive();
    let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local);
    let month = if offset >= 0 {
        first.checked_add_months(Months::new(offset.unsigned_abs()))
    } else {
        first.checked_sub_months(Months::new(offset.unsigned_abs()))
    }
    .unwrap_or(first);
    let date = month + chrono::Duration::days(i64::from(day.saturating_sub(1)));
    date.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

fn promotions(now: DateTime<Utc>, tz: Tz) -> Vec<Promotion> {
    let at = |offset, day| month_day(now, tz, offset, day);
    let p = |id,
             kind,
             title: &str,
             description: &str,
             city: Option<&str>,
             store_id,
             starts_at,
             ends_at| Promotion {
        id,
        kind,
        title: title.to_owned(),
        description: description.to_owned(),
        city: city.map(str::to_owned),
        store_id,
        starts_at,
        ends_at,
    };
    use PromotionKind::{Event, Promotion as Promo};
    vec![
        p(
            1,
            Promo,
            "Молочная неделя",
            "Скидки до 25% на молоко, кефир и йогурты всех марок.",
            None,
            None,
            at(0, 1),
            at(0, 15),
        ),
        p(
            2,
            Promo,
            "Свежие фрукты по выходным",
            "Яблоки, груши и цитрусовые со скидкой 20% по субботам и воскресеньям.",
            None,
            None,
            at(0, 1),
            at(1, 1),
        ),
        p(
            3,
            Promo,
            "Сырная тарелка",
            "Второй сыр в чеке — за полцены.",
            Some("Москва"),
            None,
            at(0, 10),
            at(1, 10),
        ),
        p(
            4,
            Promo,
            "Товары для дома",
            "Бытовая химия и посуда: скидка 15% при покупке от 1 500 ₽.",
            Some("Санкт-Петербург"),
            None,
            at(0, 1),
            at(1, 1),
        ),
        p(
            5,
            Promo,
            "Новогодняя ярмарка",
            "Подарочные наборы, мандарины и всё к праздничному столу.",
            None,
            None,
            at(1, 1),
            at(2, 1),
        ),
        p(
            6,
            Promo,
            "Зоотовары: 3 по цене 2",
            "Корма и лакомства для кошек и собак.",
            Some("Казань"),
            None,
            at(1, 5),
            at(1, 25),
        ),
        p(
            7,
            Promo,
            "Неделя выпечки",
            "Свежий хлеб из собственной пекарни со скидкой 10% после 20:00.",
            Some("Екатеринбург"),
            Some(StoreId::new(10)),
            at(0, 1),
            at(0, 28),
        ),
        p(
            101,
            Event,
            "Дегустация сыров",
            "Сыровары из Подмосковья рассказывают о выдержке и угощают.",
            Some("Москва"),
            Some(StoreId::new(1)),
            at(0, 20),
            at(0, 21),
        ),
        p(
            102,
            Event,
            "Мастер-класс для детей: пряники",
            "Расписываем пряники глазурью, для детей от 5 лет.",
            Some("Санкт-Петербург"),
            Some(StoreId::new(5)),
            at(0, 27),
            at(0, 28),
        ),
        p(
            103,
            Event,
            "Фермерская ярмарка",
            "Мёд, овощи и молочные продукты от фермеров Татарстана.",
            Some("Казань"),
            Some(StoreId::new(8)),
            at(1, 6),
            at(1, 8),
        ),
        p(
            104,
            Event,
            "День открытых дверей пекарни",
            "Экскурсия в пекарню гипермаркета и свежий хлеб из печи.",
            Some("Екатеринбург"),
            Some(StoreId::new(10)),
            at(1, 12),
            at(1, 13),
        ),
        p(
            105,
            Event,
            "Ёлочный базар",
            "Живые ёлки и украшения на парковке гипермаркета.",
            None,
            None,
            at(1, 15),
            at(1, 31),
        ),
    ]
}

fn offers(now: DateTime<Utc>, tz: Tz) -> Vec<Offer> {
    let (starts_at, ends_at) = (month_day(now, tz, 0, 1), month_day(now, tz, 3, 1));
    let o = |id, title: &str, description: &str, reward, target, per_customer_limit| Offer {
        id,
        title: title.to_owned(),
        description: description.to_owned(),
        reward,
        target,
        starts_at,
        ends_at,
        per_customer_limit,
    };
    vec![
        o(
            OfferId::new(1),
            "Баллы ×3 на любимую категорию",
            "Втрое больше баллов на товары любимой категории в пяти покупках.",
            OfferReward::CategoryPoints {
                category_id: 10,
                extra_multiplier: 2,
            },
            OfferTarget::FavouriteCategory { category_id: 10 },
            5,
        ),
        o(
            OfferId::new(2),
            "Баллы ×2 на овощи и фрукты",
            "Вдвое больше баллов на овощи и фрукты в трёх покупках.",
            OfferReward::CategoryPoints {
                category_id: 11,
                extra_multiplier: 1,
            },
            OfferTarget::Everyone,
            3,
        ),
        o(
            OfferId::new(3),
            "500 баллов за покупку от 3 000 ₽",
            "Бонус за одну покупку от 3 000 ₽, оплаченную деньгами.",
            OfferReward::ReceiptBonus {
                min_paid_kop: 300_000,
                points: 500,
            },
            OfferTarget::Everyone,
            1,
        ),
        o(
            OfferId::new(4),
            "С днём рождения!",
            "300 баллов за покупку от 1 000 ₽ в месяц вашего дня рождения.",
            OfferReward::ReceiptBonus {
                min_paid_kop: 100_000,
                points: 300,
            },
            OfferTarget::BirthdayMonth,
            1,
        ),
        o(
            OfferId::new(5),
            "Мы скучали",
            "1 000 баллов за покупку от 2 000 ₽, если вас не было у нас 30 дней.",
            OfferReward::ReceiptBonus {
                min_paid_kop: 200_000,
                points: 1_000,
            },
            OfferTarget::Inactive { days: 30 },
            1,
        ),
        o(
            OfferId::new(6),
            "Московское молоко ×5",
            "Впятеро больше баллов на молоко пастеризованное 3,2% в Москве.",
            OfferReward::ProductPoints {
                sku: "10000001".to_owned(),
                extra_multiplier: 4,
            },
            OfferTarget::City {
                city: "Москва".to_owned(),
            },
            10,
        ),
    ]
}

pub async fn demo(kopilka: &Kopilka) -> ServiceResult<SeedReport> {
    let (now, tz) = (kopilka.now(), kopilka.rules().timezone);
    let categories = CATEGORIES
        .iter()
        .map(|&(id, name, parent_id)| Category {
            id,
            name: name.to_owned(),
            parent_id,
        })
        .collect();
    let stores = STORES
        .iter()
        .map(
            |&(id, name, city, address, lat, lon, hours)| StoreLocation {
                id: StoreId::new(id),
                name: name.to_owned(),
                city: city.to_owned(),
                address: address.to_owned(),
                lat,
                lon,
                hours: hours.to_owned(),
            },
        )
        .collect();
    let data = ReferenceData {
        categories,
        stores,
        products: products()?,
        promotions: promotions(now, tz),
        offers: offers(now, tz),
    };
    kopilka.load_reference_data(&data).await?;
    let (products, promotions, offers) = (&data.products, &data.promotions, &data.offers);
    Ok(SeedReport {
        categories: CATEGORIES.len(),
        stores: STORES.len(),
        products: products.len(),
        promotions: promotions.len(),
        offers: offers.len(),
    })
}

//! `kopilka seed --members N`: many plausible members at once, for load tests; and the
//! reference data an installation starts with (`kopilka seed --demo`).

use crate::{Kopilka, ServiceResult};
use chrono::NaiveDate;
use kopilka_domain::card::CardRange;
use kopilka_domain::member::{Consents, Gender, Profile};
use kopilka_domain::offers::Offer;
use kopilka_domain::{CardKind, CardNumber, Phone};
use kopilka_store::{
    Category, ImportedMember, IndexedProduct, Promotion, StoreError, StoreLocation,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const LAST_NAMES: &[(&str, &str)] = &[
    ("Иванов", "Иванова"),
    ("Смирнов", "Смирнова"),
    ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"),
    ("Васильев", "Васильева"),
    ("Петров", "Петрова"),
    ("Соколов", "Соколова"),
    ("Михайлов", "Михайлова"),
    ("Новиков", "Новикова"),
    ("Фёдоров", "Фёдорова"),
    ("Морозов", "Морозова"),
    ("Волков", "Волкова"),
];
const MALE: &[&str] = &[
    "Александр",
    "Дмитрий",
    "Максим",
    "Сергей",
    "Андрей",
    "Алексей",
    "Иван",
    "Михаил",
];
const FEMALE: &[&str] = &[
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Екатерина",
    "Ирина",
];
const CITIES: &[&str] = &["Москва", "Санкт-Петербург", "Казань", "Екатеринбург"];

/// Members per transaction.
const BATCH: usize = 5000;
/// Fresh card numbers tried for one member before giving up.
const NUMBER_TRIES: usize = 8;

/// Categories, stores, products, promotions and offers, written with upserts by id.
pub struct ReferenceData {
    pub categories: Vec<Category>,
    pub stores: Vec<StoreLocation>,
    pub products: Vec<IndexedProduct>,
    pub promotions: Vec<Promotion>,
    pub offers: Vec<Offer>,
}

impl Kopilka {
    /// Writes the reference data; running it again with the same data changes nothing.
    pub async fn load_reference_data(&self, data: &ReferenceData) -> ServiceResult<()> {
        let store = self.store();
        // Parents first, so every parent_id refers to a row that exists.
        let (roots, children): (Vec<Category>, Vec<Category>) = data
            .categories
            .iter()
            .cloned()
            .partition(|c| c.parent_id.is_none());
        store.upsert_categories(&roots).await?;
        store.upsert_categories(&children).await?;
        store.upsert_stores(&data.stores).await?;
        store.upsert_products(&data.products).await?;
        store.upsert_promotions(&data.promotions).await?;
        store.upsert_offers(&data.offers).await?;
        Ok(())
    }

    /// Forgets rate-limit counters, codes and sessions that ended before `before`.
    pub async fn purge_expired(&self, before: chrono::DateTime<chrono::Utc>) -> ServiceResult<u64> {
        Ok(self.store().purge_expired(before).await?)
    }

    /// Whether the store answers, for a readiness probe.
    pub async fn ping(&self) -> ServiceResult<()> {
        Ok(self.store().ping().await?)
    }

    pub async fn seed_members(&self, count: usize) -> ServiceResult<Vec<CardNumber>> {
        let mut rng = StdRng::from_entropy();
        let mut next_phone = u64::try_from(self.store().member_count().await?).unwrap_or(0);
        let categories: Vec<i64> = self
            .store()
            .categories()
            .await?
            .into_iter()
            .filter(|c| c.parent_id.is_some())
            .map(|c| c.id)
            .collect();
        let mut cards = Vec::with_capacity(count);
        while cards.len() < count {
            let first_size = (count - cards.len()).min(BATCH);
            let first = self.member_batch(&mut rng, &mut next_phone, first_size, &categories);
            let second_size = (count - cards.len() - first.len()).min(BATCH);
            let second = self.member_batch(&mut rng, &mut next_phone, second_size, &categories);
            // Two batches at once: PostgreSQL works each on one backend, so one at a time
            // would leave a core idle. (SQLite's one writer takes them in turn.)
            let (first, second) = tokio::join!(
                self.store().import_members(first),
                self.store().import_members(second)
            );
            for (id, card) in first?.into_iter().chain(second?) {
                let card = match card {
                    Some(card) => card,
                    None => self.retry_card_number(id.get(), &mut rng).await?,
                };
                cards.push(card);
            }
        }
        cards.truncate(count);
        self.store().refresh_statistics().await?;
        Ok(cards)
    }

    /// `size` new members with the next phone numbers and random names, birthdays and cities.
    fn member_batch(
        &self,
        rng: &mut StdRng,
        next_phone: &mut u64,
        size: usize,
        categories: &[i64],
    ) -> Vec<ImportedMember> {
        let rules = self.rules();
        let now = self.now();
        (0..size)
            .filter_map(|_| {
                *next_phone += 1;
                let phone = Phone::parse(&format!("+79{:09}", *next_phone % 1_000_000_000)).ok()?;
                let female = rng.gen_bool(0.55);
                let (male_name, female_name) = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
                let first_names = if female { FEMALE } else { MALE };
                Some(ImportedMember {
                    phone,
                    profile: Profile {
                        last_name: Some(if female { female_name } else { male_name }.to_owned()),
                        first_name: Some(
                            first_names[rng.gen_range(0..first_names.len())].to_owned(),
                        ),
                        gender: Some(if female { Gender::Female } else { Gender::Male }),
                        birth_date: NaiveDate::from_ymd_opt(
                            rng.gen_range(1950..2006),
                            rng.gen_range(1..13),
                            rng.gen_range(1..29),
                        ),
                        city: Some(CITIES[rng.gen_range(0..CITIES.len())].to_owned()),
                        email: None,
                        favourite_store_id: None,
                        favourite_category_id: (!categories.is_empty())
                            .then(|| categories[rng.gen_range(0..categories.len())]),
                    },
                    consents: Consents {
                        personal_data: true,
                        newsletters: rng.gen_bool(0.3),
                        version: rules.consent_version.clone(),
                        recorded_at: now,
                    },
                    card: CardNumber::generate(CardRange::Virtual, &mut *rng),
                    card_kind: CardKind::Virtual,
                    welcome: self.welcome_credit(now),
                    at: now,
                })
            })
            .collect()
    }

    /// A card for a member whose generated number was taken: new numbers until one is free.
    async fn retry_card_number(&self, member: i64, rng: &mut StdRng) -> ServiceResult<CardNumber> {
        let mut tries = 0;
        loop {
            let number = CardNumber::generate(CardRange::Virtual, &mut *rng);
            match self
                .store()
                .add_virtual_card(
                    kopilka_domain::member::MemberId::new(member),
                    &number,
                    self.now(),
                )
                .await
            {
                Ok(card) => return Ok(card.number),
                Err(StoreError::Conflict(_)) if tries < NUMBER_TRIES => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

//! `kopilka seed --members N`: many plausible members at once, for load tests.

use crate::{Kopilka, ServiceResult};
use chrono::NaiveDate;
use kopilka_domain::card::CardRange;
use kopilka_domain::member::{Consents, Gender, Profile};
use kopilka_domain::{CardKind, CardNumber, Phone};
use kopilka_store::{ImportedMember, StoreError};
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

impl Kopilka {
    /// Adds `count` members with phones from +7 900 000-00-00 upwards (skipping taken ones),
    /// each with an active virtual card and the welcome points; returns their card numbers.
    pub async fn seed_members(&self, count: usize) -> ServiceResult<Vec<CardNumber>> {
        let mut rng = StdRng::from_entropy();
        let rules = self.rules().clone();
        let mut next_phone = u64::try_from(self.store().member_count().await?).unwrap_or(0);
        // Favourites among the categories that exist (none on a store without a catalogue).
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
            let now = self.now();
            let batch: Vec<ImportedMember> = (0..(count - cards.len()).min(BATCH))
                .filter_map(|_| {
                    next_phone += 1;
                    let phone =
                        Phone::parse(&format!("+79{:09}", next_phone % 1_000_000_000)).ok()?;
                    let female = rng.gen_bool(0.55);
                    let (male_name, female_name) = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
                    Some(ImportedMember {
                        phone,
                        profile: Profile {
                            last_name: Some(
                                if female { female_name } else { male_name }.to_owned(),
                            ),
                            first_name: Some(
                                if female {
                                    FEMALE[rng.gen_range(0..FEMALE.len())]
                                } else {
                                    MALE[rng.gen_range(0..MALE.len())]
                                }
                                .to_owned(),
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
                        card: CardNumber::generate(CardRange::Virtual, &mut rng),
                        card_kind: CardKind::Virtual,
                        welcome: self.welcome_credit(now),
                        at: now,
                    })
                })
                .collect();
            for (id, card) in self.store().import_members(batch).await? {
                let card = match card {
                    Some(card) => card,
                    // A number that was taken (one in a thousand at ten million members):
                    // fresh ones until one is free.
                    None => {
                        let mut tries = 0;
                        loop {
                            let number = CardNumber::generate(CardRange::Virtual, &mut rng);
                            match self.store().add_virtual_card(id, &number, now).await {
                                Ok(card) => break card.number,
                                Err(StoreError::Conflict(_)) if tries < NUMBER_TRIES => tries += 1,
                                Err(e) => return Err(e.into()),
                            }
                        }
                    }
                };
                cards.push(card);
            }
        }
        cards.truncate(count);
        Ok(cards)
    }
}

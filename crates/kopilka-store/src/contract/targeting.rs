//! Marketing's reach: what a store counts for a target is what the domain's own rule
//! (`Offer::is_for`) says of each customer; and offers and promotions are added, changed and
//! listed with their audit rows.

use super::members::register;
use super::{at, audit};
use crate::*;
use chrono::{Duration, NaiveDate};
use kopilka_domain::member::Profile;
use kopilka_domain::offers::{Offer, OfferId, OfferReward, OfferTarget};

fn offer(target: OfferTarget) -> Offer {
    Offer {
        id: OfferId::new(0),
        title: "Охват".into(),
        description: "Проверка охвата".into(),
        reward: OfferReward::ReceiptBonus {
            min_paid_kop: 100_000,
            points: 50,
        },
        target,
        starts_at: at(1),
        ends_at: at(20),
        per_customer_limit: 1,
    }
}

pub async fn targeting(store: &dyn Store) {
    let tz = chrono_tz::Europe::Moscow;
    let now = at(12) + Duration::days(40);
    let targets = [
        OfferTarget::Everyone,
        OfferTarget::City {
            city: "орёл".into(),
        },
        OfferTarget::City {
            city: "Тверь".into(),
        },
        OfferTarget::FavouriteCategory { category_id: 902 },
        OfferTarget::BirthdayMonth,
        OfferTarget::Inactive { days: 30 },
        OfferTarget::Inactive { days: 60 },
    ];
    let mut before = Vec::new();
    for t in &targets {
        before.push(store.reach(&t.audience(now, tz)).await.unwrap());
    }
    // Customers whose cities are written differently, born in this month or not, one with a
    // favourite category.
    let people = [
        ("+79990007701", "260000007701", "Орёл", (1990, 4, 5)),
        ("+79990007702", "260000007702", " ОРЕЛ ", (1985, 11, 30)),
        ("+79990007703", "260000007703", "Тверь", (1970, 4, 19)),
        ("+79990007704", "260000007704", "Тверь", (2000, 1, 1)),
    ];
    let mut added = Vec::new();
    for (phone, card, city, (y, m, d)) in people {
        let (member, _) = register(store, phone, card).await;
        let profile = Profile {
            last_name: Some("Охватова".into()),
            city: Some(city.into()),
            birth_date: NaiveDate::from_ymd_opt(y, m, d),
            ..member.profile.clone()
        };
        let updated = store
            .update_profile(member.id, &profile, &member.consents)
            .await
            .unwrap();
        added.push(updated);
    }
    assert!(store
        .set_favourite_category(added[2].id, 902, at(4), at(4))
        .await
        .unwrap());
    for (t, before) in targets.iter().zip(before) {
        let offer = offer(t.clone());
        let mut model = 0;
        for m in &added {
            let fresh = store.member(m.id).await.unwrap().unwrap();
            let last = store.last_purchase_at(m.id).await.unwrap();
            if offer.is_for(&fresh, last, now, tz) {
                model += 1;
            }
        }
        let after = store.reach(&t.audience(now, tz)).await.unwrap();
        assert_eq!(after - before, model, "{t:?}");
    }

    // Offers: added (numbered by the store), changed, listed newest first, each audited.
    let mut draft = offer(OfferTarget::BirthdayMonth);
    let id = store
        .save_offer(None, &draft, audit("offer.create", 3))
        .await
        .unwrap();
    draft.id = id;
    assert_eq!(store.offer(id).await.unwrap(), Some(draft.clone()));
    draft.title = "Охват, вторая редакция".into();
    store
        .save_offer(Some(id), &draft, audit("offer.update", 4))
        .await
        .unwrap();
    assert_eq!(store.all_offers(1).await.unwrap(), vec![draft.clone()]);
    assert!(matches!(
        store
            .save_offer(
                Some(OfferId::new(i64::MAX)),
                &draft,
                audit("offer.update", 4)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let promotion = Promotion {
        id: 0,
        kind: PromotionKind::Event,
        title: "Дегустация".into(),
        description: "Сыры".into(),
        city: Some("Тверь".into()),
        store_id: None,
        starts_at: at(2),
        ends_at: at(6),
    };
    let pid = store
        .save_promotion(None, &promotion, audit("promotion.create", 3))
        .await
        .unwrap();
    let listed = store.all_promotions(None, 1).await.unwrap();
    assert_eq!(store.all_promotions(Some(pid), 10).await.unwrap(), listed);
    assert_eq!(
        listed,
        vec![Promotion {
            id: pid,
            ..promotion.clone()
        }]
    );
    let events = store
        .promotions(PromotionKind::Event, Some(&city_key("тверь")), at(1), None)
        .await
        .unwrap();
    assert!(events.iter().any(|p| p.id == pid));
    let audited = store.audit_log(&AuditFilter::default(), 100).await.unwrap();
    for subject in [format!("offer:{id}"), format!("promotion:{pid}")] {
        assert!(
            audited.iter().any(|e| e.subject == subject),
            "{subject} audited"
        );
    }
}

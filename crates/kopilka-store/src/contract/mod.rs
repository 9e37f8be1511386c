//! The store contract: what every implementation of the storage traits must do, whatever
//! database is behind it. Each store's tests run it against a fresh database of their own
//! (`kopilka-sqlite/tests/contract.rs`, `kopilka-postgres/tests/contract.rs`), so the two
//! implementations answer alike; the integration suite then runs every story on both.

mod accounts;
mod approvals;
mod employee_messages;
mod employees;
mod ledger;
mod members;
mod paper_forms;
mod search;
mod targeting;

pub use accounts::accounts;
pub use approvals::approvals;
pub use employee_messages::employee_messages;
pub use employees::employees;
pub use ledger::ledger_and_cards;
pub use members::{members_and_their_points, register};
pub use paper_forms::paper_forms;
pub use search::member_search;
pub use targeting::targeting;

use crate::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use kopilka_domain::member::StoreId;
use kopilka_domain::receipt::PurchaseId;
use kopilka_domain::staff::Role;
use kopilka_domain::support::{Author, TicketChannel, TicketStatus};
use kopilka_domain::Phone;

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, hour, 0, 0)
        .single()
        .expect("a time")
}

fn audit(action: &str, hour: u32) -> NewAuditEntry {
    NewAuditEntry {
        actor: "cli".into(),
        action: action.into(),
        subject: "contract".into(),
        details: "{}".into(),
        at: at(hour),
    }
}

/// Every part of the contract, on one fresh store.
pub async fn run_all(store: &dyn Store) {
    limits(store).await;
    otps(store).await;
    catalog(store).await;
    staff(store).await;
    meta(store).await;
    receipts_of_a_stranger(store).await;
    sessions(store).await;
    support(store).await;
    stores_by_city(store).await;
    products(store).await;
    promotions_by_city(store).await;
    offers(store).await;
    members_and_their_points(store).await;
    ledger_and_cards(store).await;
    accounts(store).await;
    employees(store).await;
    employee_messages(store).await;
    approvals(store).await;
    member_search(store).await;
    paper_forms(store).await;
    targeting(store).await;
}

/// Counters count per key and window; a claim never passes its maximum; cooldowns run once.
pub async fn limits(store: &dyn Store) {
    let (w1, w2) = (at(1), at(2));
    assert_eq!(store.hit("k:hits", w1).await.unwrap(), 1);
    assert_eq!(store.hit("k:hits", w1).await.unwrap(), 2);
    assert_eq!(
        store.hit("k:hits", w2).await.unwrap(),
        1,
        "a window of its own"
    );
    assert_eq!(
        store.hit("k:other", w1).await.unwrap(),
        1,
        "a key of its own"
    );
    assert_eq!(store.peek("k:hits", w1).await.unwrap(), 2);
    assert_eq!(store.peek("k:never", w1).await.unwrap(), 0);

    assert_eq!(store.claim("k:claim", w1, 2, 5).await.unwrap(), Some(2));
    assert_eq!(store.claim("k:claim", w1, 3, 5).await.unwrap(), Some(5));
    assert_eq!(store.claim("k:claim", w1, 1, 5).await.unwrap(), None);
    assert_eq!(
        store.peek("k:claim", w1).await.unwrap(),
        5,
        "a refused claim counts nothing"
    );
    store.release("k:claim", w1, 2).await.unwrap();
    assert_eq!(store.peek("k:claim", w1).await.unwrap(), 3);
    assert_eq!(store.claim("k:claim", w1, 2, 5).await.unwrap(), Some(5));

    let until = at(3);
    assert_eq!(
        store.start_cooldown("k:cool", at(2), until).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .start_cooldown("k:cool", at(2) + Duration::minutes(1), at(4))
            .await
            .unwrap(),
        Some(until),
        "a running cooldown is not restarted"
    );
    assert_eq!(
        store.start_cooldown("k:cool", at(5), at(6)).await.unwrap(),
        None,
        "one that ended starts again"
    );

    assert!(
        store
            .purge_expired(at(23) + Duration::days(30))
            .await
            .unwrap()
            > 0
    );
    assert_eq!(store.peek("k:hits", w1).await.unwrap(), 0, "purged");
}

/// The newest code of a phone and purpose is the one that counts; its tries are claimed one
/// by one up to the maximum; it is used once.
pub async fn otps(store: &dyn Store) {
    let phone = Phone::parse("+79990001122").unwrap();
    let new = |hash: &str, hour| NewOtp {
        phone: phone.clone(),
        purpose: OtpPurpose::SignIn,
        code_hash: hash.into(),
        created_at: at(hour),
        expires_at: at(hour) + Duration::minutes(5),
    };
    store.create_otp(new("first", 1)).await.unwrap();
    let id = store.create_otp(new("second", 2)).await.unwrap();
    let latest = store
        .latest_otp(&phone, OtpPurpose::SignIn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.id, latest.code_hash.as_str()), (id, "second"));
    assert_eq!(latest.failed_attempts, 0);
    assert_eq!(latest.expires_at, at(2) + Duration::minutes(5));
    assert!(store
        .latest_otp(&phone, OtpPurpose::PasswordReset)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.claim_otp_attempt(id, 2).await.unwrap(), Some(1));
    assert_eq!(store.claim_otp_attempt(id, 2).await.unwrap(), Some(2));
    assert_eq!(store.claim_otp_attempt(id, 2).await.unwrap(), None);
    assert!(store.consume_otp(id, at(2)).await.unwrap());
    assert!(!store.consume_otp(id, at(2)).await.unwrap(), "used once");
}

/// Categories and stores are written by id, again and again, and read back as written.
pub async fn catalog(store: &dyn Store) {
    let category = |id, name: &str, parent| Category {
        id,
        name: name.into(),
        parent_id: parent,
    };
    store
        .upsert_categories(&[category(901, "Корм", None)])
        .await
        .unwrap();
    store
        .upsert_categories(&[category(902, "Для кошек", Some(901))])
        .await
        .unwrap();
    store
        .upsert_categories(&[category(901, "Зоотовары", None)])
        .await
        .unwrap();
    let all = store.categories().await.unwrap();
    assert!(all.contains(&category(901, "Зоотовары", None)), "{all:?}");
    assert!(all.contains(&category(902, "Для кошек", Some(901))));
    assert!(store.category_exists(902).await.unwrap());
    assert!(!store.category_exists(903).await.unwrap());

    let shop = StoreLocation {
        id: StoreId::new(901),
        name: "Гипермаркет «Контракт»".into(),
        city: "Тверь".into(),
        address: "ул. Тестовая, 1".into(),
        lat: 56.8587,
        lon: 35.9176,
        hours: "08:00–22:00".into(),
    };
    store
        .upsert_stores(std::slice::from_ref(&shop))
        .await
        .unwrap();
    assert!(store.stores().await.unwrap().contains(&shop));
    assert!(store.store_exists(StoreId::new(901)).await.unwrap());
    assert!(!store.store_exists(StoreId::new(902)).await.unwrap());
}

/// Staff accounts: one per login, with their roles, disabled once and for all; every change
/// leaves an audit row, newest first.
pub async fn staff(store: &dyn Store) {
    let roles = [Role::Support, Role::Marketing];
    let created = store
        .create_staff("contract", "hash", &roles, at(1), audit("staff.create", 1))
        .await
        .unwrap();
    assert_eq!(created.login, "contract");
    assert_eq!(created.roles, roles);
    assert!(!created.disabled && !created.totp_enrolled);
    assert!(matches!(
        store
            .create_staff("contract", "other", &[], at(2), audit("staff.create", 2))
            .await,
        Err(StoreError::Conflict("login"))
    ));
    let (found, credentials) = store.staff_by_login("contract").await.unwrap().unwrap();
    assert_eq!(found, created);
    assert_eq!(credentials.password_hash, "hash");
    assert!(store.staff_by_login("nobody").await.unwrap().is_none());

    assert!(store
        .change_staff(
            created.id,
            StaffChange::Disable(at(3)),
            audit("staff.disable", 3)
        )
        .await
        .unwrap());
    assert!(
        store
            .staff_member(created.id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    store.record_audit(audit("contract.note", 4)).await.unwrap();
    let log = store
        .audit_log(&crate::AuditFilter::default(), 10)
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[..3],
        ["contract.note", "staff.disable", "staff.create"],
        "newest first"
    );
    // Narrowed by who, what and when.
    let about = |subject: &str, actor: &str, hour| NewAuditEntry {
        actor: actor.into(),
        subject: subject.into(),
        ..audit("contract.filter", hour)
    };
    for entry in [
        about("till:7", "staff:5", 5),
        about("till:8", "staff:6", 6),
        about("tilling:1", "staff:5", 7),
    ] {
        store.record_audit(entry).await.unwrap();
    }
    let subjects = |filter: AuditFilter| async move {
        store
            .audit_log(&filter, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.subject)
            .collect::<Vec<_>>()
    };
    let kind = |k: &str| Some(AuditSubject::Kind(k.into()));
    assert_eq!(
        subjects(AuditFilter {
            subject: kind("till"),
            ..AuditFilter::default()
        })
        .await,
        ["till:8", "till:7"]
    );
    assert_eq!(
        subjects(AuditFilter {
            subject: Some(AuditSubject::Exact("till:7".into())),
            ..AuditFilter::default()
        })
        .await,
        ["till:7"]
    );
    assert_eq!(
        subjects(AuditFilter {
            actor: Some("staff:5".into()),
            ..AuditFilter::default()
        })
        .await,
        ["tilling:1", "till:7"]
    );
    assert_eq!(
        subjects(AuditFilter {
            from: Some(at(6)),
            to: Some(at(7)),
            ..AuditFilter::default()
        })
        .await,
        ["till:8"]
    );
}

/// The secret is the first node's, whoever asks later.
pub async fn meta(store: &dyn Store) {
    let first = store.server_secret("first-candidate").await.unwrap();
    assert_eq!(first, "first-candidate");
    assert_eq!(store.server_secret("another").await.unwrap(), first);
    store.ping().await.unwrap();
}

/// Someone with no purchases has no receipts, and nobody reads another's.
pub async fn receipts_of_a_stranger(store: &dyn Store) {
    assert!(store
        .purchases_of(kopilka_domain::member::MemberId::new(987_654), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .receipt(
            kopilka_domain::member::MemberId::new(987_654),
            PurchaseId::new(1)
        )
        .await
        .unwrap()
        .is_none());
    assert!(store
        .spending_by_category(kopilka_domain::member::MemberId::new(987_654), at(0))
        .await
        .unwrap()
        .is_empty());
}

/// Sessions are found by their kind and token until they expire or are revoked; a subject's
/// are listed and ended together, one kept if asked.
pub async fn sessions(store: &dyn Store) {
    let new = |hash: &str, hour| NewSession {
        kind: TokenKind::Staff,
        subject: 4242,
        phone: None,
        token_hash: hash.into(),
        created_at: at(hour),
        expires_at: at(hour) + Duration::hours(12),
        ip: "127.0.0.1".into(),
        user_agent: "contract".into(),
    };
    for (hash, hour) in [("s1", 1), ("s2", 2), ("s3", 3)] {
        store.create_session(new(hash, hour)).await.unwrap();
    }
    let now = at(4);
    let found = store
        .session(TokenKind::Staff, "s1", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.subject, found.created_at), (4242, at(1)));
    assert!(
        store
            .session(TokenKind::Customer, "s1", now)
            .await
            .unwrap()
            .is_none(),
        "another kind's token is no session"
    );
    assert!(
        store
            .session(TokenKind::Staff, "s1", at(1) + Duration::hours(13))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    store
        .touch_session(TokenKind::Staff, "s1", now)
        .await
        .unwrap();
    let touched = store
        .session(TokenKind::Staff, "s1", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_seen_at, now);
    assert_eq!(
        store
            .sessions_of(TokenKind::Staff, 4242, now)
            .await
            .unwrap()
            .len(),
        3
    );

    assert!(store
        .revoke_session(TokenKind::Staff, "s1", now)
        .await
        .unwrap());
    assert!(
        !store
            .revoke_session(TokenKind::Staff, "s1", now)
            .await
            .unwrap(),
        "once"
    );
    assert!(store
        .session(TokenKind::Staff, "s1", now)
        .await
        .unwrap()
        .is_none());
    let s2 = store
        .session(TokenKind::Staff, "s2", now)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !store
            .revoke_session_id(TokenKind::Staff, 4243, s2.id, now)
            .await
            .unwrap(),
        "not another subject's"
    );
    let kept = store
        .session(TokenKind::Staff, "s3", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .revoke_sessions_of(TokenKind::Staff, 4242, now, Some(kept.id))
            .await
            .unwrap(),
        1
    );
    let left = store
        .sessions_of(TokenKind::Staff, 4242, now)
        .await
        .unwrap();
    assert_eq!(left.iter().map(|s| s.id).collect::<Vec<_>>(), [kept.id]);
    assert!(store
        .revoke_session_id(TokenKind::Staff, 4242, kept.id, now)
        .await
        .unwrap());
}

/// A ticket is a thread: opened with its first message, answered, closed; the queue finds
/// it by status.
pub async fn support(store: &dyn Store) {
    let ticket = store
        .create_ticket(NewTicket {
            member_id: None,
            channel: TicketChannel::Customer,
            name: Some("Анна".into()),
            phone: None,
            email: Some("anna@example.ru".into()),
            subject: "Карта".into(),
            body: "Где получить карту?".into(),
            at: at(1),
        })
        .await
        .unwrap();
    assert_eq!(ticket.status, TicketStatus::Open);
    assert_eq!(store.ticket(ticket.id).await.unwrap().unwrap(), ticket);
    assert!(store
        .tickets(Some(TicketStatus::Open), 100)
        .await
        .unwrap()
        .iter()
        .any(|t| t.id == ticket.id));
    let answer = store
        .add_ticket_message(
            ticket.id,
            Author::Staff,
            None,
            "В любом магазине.",
            TicketStatus::Answered,
            at(2),
            Some(audit("ticket.answer", 2)),
        )
        .await
        .unwrap();
    assert_eq!(answer.author, Author::Staff);
    let thread = store.ticket_messages(ticket.id.get()).await.unwrap();
    let bodies: Vec<&str> = thread.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        bodies,
        ["Где получить карту?", "В любом магазине."],
        "oldest first"
    );
    let answered = store.ticket(ticket.id).await.unwrap().unwrap();
    assert_eq!(
        (answered.status, answered.updated_at),
        (TicketStatus::Answered, at(2))
    );
    store
        .set_ticket_status(ticket.id, TicketStatus::Closed, at(3), None)
        .await
        .unwrap();
    assert_eq!(
        store.ticket(ticket.id).await.unwrap().unwrap().status,
        TicketStatus::Closed
    );
    assert!(store
        .member_tickets(kopilka_domain::member::MemberId::new(987_654))
        .await
        .unwrap()
        .is_empty());
}

/// Stores are found by their city's key (lower case), within a box, or all.
pub async fn stores_by_city(store: &dyn Store) {
    let found = store
        .find_stores(&StoreQuery {
            city_key: Some(city_key("ТВЕРЬ")),
            within: None,
            limit: Some(10),
        })
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|s| s.id).collect::<Vec<_>>(),
        [StoreId::new(901)]
    );
    let boxed = store
        .find_stores(&StoreQuery {
            city_key: None,
            within: Some((56.0, 57.0, 35.0, 36.0)),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(
        boxed.iter().map(|s| s.id).collect::<Vec<_>>(),
        [StoreId::new(901)]
    );
}

/// Products are found by every word's stem, the ones named by the first word first, within
/// categories, a page at a time after a key.
pub async fn products(store: &dyn Store) {
    use kopilka_domain::search::{index, SearchQuery};
    let product = |sku: &str, name: &str, category| {
        let (terms, lead_term) = index(name);
        IndexedProduct {
            product: Product {
                sku: sku.into(),
                name: name.into(),
                category_id: category,
                price_kop: 9_990,
                unit: "шт".into(),
            },
            terms,
            lead_term,
        }
    };
    store
        .upsert_products(&[
            product("c-1", "Молоко топлёное 4%", 902),
            product("c-2", "Коктейль молочный шоколадный", 902),
            product("c-3", "Сыр с молоком козьим", 901),
            product("c-4", "Хлеб ржаной", 901),
        ])
        .await
        .unwrap();
    let find = |text: &str, categories: Vec<i64>, after, limit| {
        let query = SearchQuery::parse(text);
        ProductQuery {
            terms: query
                .as_ref()
                .map(|q| q.terms().to_vec())
                .unwrap_or_default(),
            lead: query.as_ref().map(|q| q.lead().to_owned()),
            categories,
            after,
            limit,
        }
    };
    let skus = |found: &[(ProductKey, Product)]| {
        found.iter().map(|(_, p)| p.sku.clone()).collect::<Vec<_>>()
    };
    // "молоком": the product named by the word first, then the others that have it.
    let milk = store
        .find_products(&find("молоком", vec![], None, 10))
        .await
        .unwrap();
    assert_eq!(skus(&milk)[0], "c-1", "{milk:?}");
    assert!(skus(&milk).contains(&"c-3".to_owned()));
    assert!(!skus(&milk).contains(&"c-4".to_owned()));
    let in_category = store
        .find_products(&find("молоко", vec![901], None, 10))
        .await
        .unwrap();
    assert_eq!(skus(&in_category), ["c-3"]);
    // Paged: the second page starts after the first's last key, and nothing repeats.
    let first = store
        .find_products(&find("", vec![901, 902], None, 2))
        .await
        .unwrap();
    let after = first.last().map(|(k, _)| k.clone());
    let second = store
        .find_products(&find("", vec![901, 902], after, 10))
        .await
        .unwrap();
    let mut all = skus(&first);
    all.extend(skus(&second));
    all.sort();
    assert_eq!(all, ["c-1", "c-2", "c-3", "c-4"]);
}

/// Promotions running or planned from a time: the chain's and the city's, soonest first.
pub async fn promotions_by_city(store: &dyn Store) {
    let promotion = |id, city: Option<&str>, starts: u32, ends: u32| Promotion {
        id,
        kind: PromotionKind::Promotion,
        title: format!("Акция {id}"),
        description: String::new(),
        city: city.map(str::to_owned),
        store_id: None,
        starts_at: at(starts),
        ends_at: at(ends),
    };
    store
        .upsert_promotions(&[
            promotion(901, None, 2, 5),
            promotion(902, Some("Тверь"), 1, 3),
            promotion(903, Some("Казань"), 1, 5),
            promotion(904, None, 0, 1),
        ])
        .await
        .unwrap();
    let ids = |found: Vec<Promotion>| {
        found
            .iter()
            .map(|p| p.id)
            .filter(|id| *id > 900)
            .collect::<Vec<_>>()
    };
    let tver = store
        .promotions(
            PromotionKind::Promotion,
            Some(&city_key("Тверь")),
            at(2),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        ids(tver),
        [902, 901],
        "the city's and the chain's, soonest first; not ended ones"
    );
    let events = store
        .promotions(PromotionKind::Event, Some(&city_key("Тверь")), at(2), None)
        .await
        .unwrap();
    assert!(ids(events).is_empty());
}

/// Offers are kept whole (their reward and target included) and run between their dates.
pub async fn offers(store: &dyn Store) {
    use kopilka_domain::offers::{Offer, OfferId, OfferReward, OfferTarget};
    let offer = Offer {
        id: OfferId::new(901),
        title: "Контракт ×2".into(),
        description: "Вдвое больше баллов на корм".into(),
        reward: OfferReward::CategoryPoints {
            category_id: 902,
            extra_multiplier: 1,
        },
        target: OfferTarget::City {
            city: "Тверь".into(),
        },
        starts_at: at(1),
        ends_at: at(5),
        per_customer_limit: 3,
    };
    store
        .upsert_offers(std::slice::from_ref(&offer))
        .await
        .unwrap();
    assert_eq!(
        store.offer(OfferId::new(901)).await.unwrap(),
        Some(offer.clone())
    );
    assert!(store.offer(OfferId::new(909)).await.unwrap().is_none());
    let running = |hour| async move {
        store
            .running_offers(at(hour))
            .await
            .unwrap()
            .iter()
            .any(|o| o.id == OfferId::new(901))
    };
    assert!(!running(0).await, "not yet");
    assert!(running(1).await);
    assert!(!running(5).await, "ended");
}

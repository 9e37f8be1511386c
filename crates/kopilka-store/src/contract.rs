//! The store contract: what every implementation of the storage traits must do, whatever
//! database is behind it. Each store's tests run it against a fresh database of their own
//! (`kopilka-sqlite/tests/contract.rs`, `kopilka-postgres/tests/contract.rs`), so the two
//! implementations answer alike; the integration suite then runs every story on both.

use crate::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use kopilka_domain::staff::Role;
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
        id: 901,
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
    assert!(store.store_exists(901).await.unwrap());
    assert!(!store.store_exists(902).await.unwrap());
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
    let log = store.audit_log(10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[..3],
        ["contract.note", "staff.disable", "staff.create"],
        "newest first"
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
        .purchases_of(987_654, None, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store.receipt(987_654, 1).await.unwrap().is_none());
    assert!(store
        .spending_by_category(987_654, at(0))
        .await
        .unwrap()
        .is_empty());
}

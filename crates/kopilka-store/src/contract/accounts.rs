//! A member's account from joining to deletion: the session that stands for them, profile
//! and favourite-category changes, offers, tills listed and revoked, what the till reads,
//! a virtual card, the data export, bulk import, and erasure.

use super::ledger::{priced, pricer, sale};
use super::{at, audit, register};
use crate::*;
use kopilka_domain::card::ean13_check_digit;
use kopilka_domain::earning::TillKind;
use kopilka_domain::ledger::{welcome_lot, Credit, MovementKind, SystemAccount};
use kopilka_domain::member::{Consents, Profile};
use kopilka_domain::offers::OfferId;
use kopilka_domain::{CardKind, CardNumber, CardStatus, Phone, Points};

fn card(body: &str) -> CardNumber {
    CardNumber::parse(&format!("{body}{}", ean13_check_digit(body))).unwrap()
}

/// Needs the catalogue's store 901 and categories 901 and 902, and the running offer 901 (`catalog`,
/// `offers`).
pub async fn accounts(store: &dyn Store) {
    let (member, first) = register(store, "+79990001122", "260000009050").await;

    // The one read every customer request starts with.
    let session = NewSession {
        kind: TokenKind::Customer,
        subject: member.id.get(),
        phone: None,
        token_hash: "accounts-session".into(),
        created_at: at(1),
        expires_at: at(20),
        ip: "127.0.0.1".into(),
        user_agent: "contract".into(),
    };
    store.create_session(session).await.unwrap();
    let (found, session) = store
        .session_member("accounts-session", at(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, session.subject), (member.id, member.id.get()));
    assert!(store
        .session_member("accounts-session", at(21))
        .await
        .unwrap()
        .is_none());

    // Profile and consents replaced; the favourite category once per period (joining at
    // `at(1)` counts as a change).
    let profile = Profile {
        first_name: Some("Анна".into()),
        city: Some("Казань".into()),
        ..member.profile.clone()
    };
    let consents = Consents {
        newsletters: true,
        recorded_at: at(2),
        ..member.consents.clone()
    };
    let changed = store
        .update_profile(member.id, &profile, &consents)
        .await
        .unwrap();
    assert_eq!(
        (
            changed.profile.city.as_deref(),
            changed.consents.newsletters
        ),
        (Some("Казань"), true)
    );
    assert!(store
        .set_favourite_category(member.id, 902, at(2), at(2))
        .await
        .unwrap());
    assert!(
        !store
            .set_favourite_category(member.id, 901, at(3), at(2))
            .await
            .unwrap(),
        "changed since the period began"
    );
    assert!(store
        .set_favourite_category(member.id, 901, at(4), at(3))
        .await
        .unwrap());
    let read = store.member(member.id).await.unwrap().unwrap();
    assert_eq!(read.profile.favourite_category_id, Some(901));
    assert_eq!(read.favourite_category_set_at, Some(at(4)));

    // An offer activates once.
    assert!(store.activations(member.id).await.unwrap().is_empty());
    let activation = store
        .activate_offer(member.id, OfferId::new(901), at(2))
        .await
        .unwrap();
    let again = store
        .activate_offer(member.id, OfferId::new(901), at(3))
        .await
        .unwrap();
    assert_eq!(
        (activation.activated_at, again.activated_at),
        (at(2), at(2))
    );
    assert_eq!(
        store.activations(member.id).await.unwrap(),
        vec![activation]
    );

    // What the till reads, a sale, and a till revoked.
    let till = store
        .create_till(
            StoreId::new(901),
            TillKind::Staffed,
            "accounts-till",
            at(1),
            audit("till.create", 1),
        )
        .await
        .unwrap();
    assert!(store
        .tills()
        .await
        .unwrap()
        .iter()
        .any(|t| t.till == till && t.revoked_at.is_none()));
    let customer = store
        .till_customer(&first.number, at(5), Some((at(0), at(23))))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            customer.holder.member.id,
            customer.available,
            customer.earning_receipts
        ),
        (member.id, Points::new(300), 0)
    );
    assert_eq!(
        store
            .card_holder(&first.number)
            .await
            .unwrap()
            .unwrap()
            .activations
            .len(),
        1
    );
    assert!(store
        .till_customer(&card("260000009059"), at(5), None)
        .await
        .unwrap()
        .is_none());
    assert!(store.last_purchase_at(member.id).await.unwrap().is_none());
    let bought = store
        .commit_purchase(
            sale(&till, "A-1", "a1", member.id, &first.number, at(5)),
            pricer(priced(50_000, 100, 20)),
        )
        .await
        .unwrap();
    assert_eq!(bought.balance, Points::new(220));
    assert_eq!(
        store.last_purchase_at(member.id).await.unwrap(),
        Some(at(5))
    );
    assert!(store
        .revoke_till(till.id, at(6), audit("till.revoke", 6))
        .await
        .unwrap());
    assert!(!store
        .revoke_till(till.id, at(6), audit("till.revoke", 6))
        .await
        .unwrap());
    assert!(store.till_by_key("accounts-till").await.unwrap().is_none());

    // A virtual card replaces the active one.
    let virtual_card = store
        .add_virtual_card(member.id, &card("260000009051"), at(6))
        .await
        .unwrap();
    assert_eq!(
        (virtual_card.kind, virtual_card.status),
        (CardKind::Virtual, CardStatus::Active)
    );
    let cards = store.cards(member.id).await.unwrap();
    assert_eq!(
        cards
            .iter()
            .filter(|c| c.status == CardStatus::Active)
            .count(),
        1
    );

    // The export's records, then deletion.
    let records = store.member_records(member.id).await.unwrap();
    assert!(records.consents.len() >= 2, "joining and the change");
    assert_eq!(records.purchases.len(), 1);
    assert_eq!(records.purchases[0].receipt_id, "A-1");
    let erased = store
        .erase_member(Erasure {
            member: member.id,
            at: at(7),
            consents: Consents {
                personal_data: false,
                newsletters: false,
                version: "contract".into(),
                recorded_at: at(7),
            },
            description: "Баллы аннулированы".into(),
            audit: audit("member.delete", 7),
        })
        .await
        .unwrap();
    assert_eq!(
        (erased.forfeited, erased.debt),
        (Points::new(220), Points::ZERO)
    );
    assert!(store.member(member.id).await.unwrap().is_none());
    assert!(store
        .member_by_phone(&member.phone)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        store
            .erase_member(Erasure {
                member: member.id,
                at: at(8),
                consents: member.consents.clone(),
                description: String::new(),
                audit: audit("member.delete", 8),
            })
            .await,
        Err(StoreError::NotFound)
    ));
    let totals = store.totals().await.unwrap();
    assert_eq!(totals.debits, totals.credits, "the ledger balances");

    imports(store).await;
}

/// A bulk import skips a phone already taken and adds a member without a card whose number
/// is taken.
async fn imports(store: &dyn Store) {
    let before = store.member_count().await.unwrap();
    let imported = |phone: &str, number: CardNumber| ImportedMember {
        phone: Phone::parse(phone).unwrap(),
        profile: Profile::default(),
        consents: Consents {
            personal_data: true,
            newsletters: false,
            version: "import".into(),
            recorded_at: at(9),
        },
        card: number,
        card_kind: CardKind::Physical,
        welcome: Credit {
            from: SystemAccount::Welcome,
            kind: MovementKind::Welcome,
            lot: welcome_lot(Points::new(300), 90, at(9)),
            description: "Приветственные баллы".into(),
        },
        at: at(9),
    };
    let taken_phone = "+79990007788"; // `ledger_and_cards`' member
    let added = store
        .import_members(vec![
            imported("+79990005501", card("270000009061")),
            imported(taken_phone, card("270000009062")),
            imported("+79990005503", card("260000009041")), // bound by `ledger_and_cards`
        ])
        .await
        .unwrap();
    assert_eq!(added.len(), 2, "{added:?}");
    assert_eq!(added[0].1, Some(card("270000009061")));
    assert_eq!(added[1].1, None, "the card number is taken");
    store.refresh_statistics().await.unwrap();
    assert_eq!(store.member_count().await.unwrap(), before + 2);
}

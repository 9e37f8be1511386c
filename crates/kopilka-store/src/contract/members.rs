//! Members: registration, finding them, passwords, the welcome lot.

use super::at;
use crate::*;
use chrono::Duration;
use kopilka_domain::Phone;

/// A registration consumes its token once and creates the member, the card and the welcome
/// lot; the member is then found by id, phone and card; a phone or a card joins once.
pub async fn members_and_their_points(store: &dyn Store) {
    use kopilka_domain::card::ean13_check_digit;
    use kopilka_domain::ledger::{welcome_lot, Credit, MovementKind, SystemAccount};
    use kopilka_domain::member::{Consents, Gender, Profile};
    use kopilka_domain::{CardKind, CardNumber, CardStatus, Points};

    let card =
        |body: &str| CardNumber::parse(&format!("{body}{}", ean13_check_digit(body))).unwrap();
    let phone = Phone::parse("+79990003344").unwrap();
    let token = |hash: &str| NewSession {
        kind: TokenKind::Registration,
        subject: 0,
        phone: Some(phone.clone()),
        token_hash: hash.into(),
        created_at: at(1),
        expires_at: at(1) + Duration::minutes(30),
        ip: "127.0.0.1".into(),
        user_agent: "contract".into(),
    };
    let registration = |hash: &str, number: CardNumber| Registration {
        phone: phone.clone(),
        enrolment: Enrolment::Online {
            registration_token_hash: hash.into(),
            password_hash: "argon2-hash".into(),
        },
        profile: Profile {
            last_name: Some("Контрактова".into()),
            gender: Some(Gender::Female),
            city: Some("Тверь".into()),
            ..Profile::default()
        },
        consents: Consents {
            personal_data: true,
            newsletters: false,
            version: "contract".into(),
            recorded_at: at(1),
        },
        card: number,
        card_kind: CardKind::Virtual,
        welcome: Credit {
            from: SystemAccount::Welcome,
            kind: MovementKind::Welcome,
            lot: welcome_lot(Points::new(300), 90, at(1)),
            description: "Приветственные баллы".into(),
        },
        at: at(1),
    };
    let number = card("260000009017");
    assert!(matches!(
        store
            .register(registration("no-such-token", number.clone()))
            .await,
        Err(StoreError::NotFound)
    ));
    store.create_session(token("reg-1")).await.unwrap();
    let (member, issued) = store
        .register(registration("reg-1", number.clone()))
        .await
        .unwrap();
    assert_eq!(member.phone, phone);
    assert_eq!(member.profile.last_name.as_deref(), Some("Контрактова"));
    assert_eq!(
        (issued.number.clone(), issued.status),
        (number.clone(), CardStatus::Active)
    );
    assert!(
        matches!(
            store
                .register(registration("reg-1", card("260000009018")))
                .await,
            Err(StoreError::NotFound)
        ),
        "the token is spent"
    );
    store.create_session(token("reg-2")).await.unwrap();
    assert!(matches!(
        store
            .register(registration("reg-2", card("260000009018")))
            .await,
        Err(StoreError::Conflict("phone"))
    ));

    assert_eq!(
        store.member(member.id).await.unwrap().unwrap().id,
        member.id
    );
    assert_eq!(
        store.member_by_phone(&phone).await.unwrap().unwrap().id,
        member.id
    );
    let (by_card, its_card) = store.member_by_card(&number).await.unwrap().unwrap();
    assert_eq!((by_card.id, its_card.number), (member.id, number.clone()));
    assert_eq!(store.cards(member.id).await.unwrap().len(), 1);
    assert_eq!(
        store.password_hash(member.id).await.unwrap().as_deref(),
        Some("argon2-hash")
    );
    store.set_password(member.id, "another-hash").await.unwrap();
    assert_eq!(
        store.password_hash(member.id).await.unwrap().as_deref(),
        Some("another-hash")
    );

    let balance = store
        .ledger_balance(member.id, at(2), Some(at(1) + Duration::days(100)))
        .await
        .unwrap();
    assert_eq!(balance.available, Points::new(300));
    assert_eq!(balance.pending, Points::ZERO);
    assert_eq!(
        balance.expiring.len(),
        1,
        "the welcome lot expires within the window"
    );
    let history = store.history(member.id, 10, None).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].kind, history[0].points),
        (MovementKind::Welcome, Points::new(300))
    );
    assert!(store
        .history(member.id, 10, Some(history[0].id))
        .await
        .unwrap()
        .is_empty());
    let totals = store.totals().await.unwrap();
    assert_eq!(totals.debits, totals.credits, "the ledger balances");
}

/// A member registered with `phone` and the virtual card `card_body` (its check digit added),
/// holding the 300 welcome points of `at(1)`, which expire 90 days later.
pub async fn register(
    store: &dyn Store,
    phone: &str,
    card_body: &str,
) -> (kopilka_domain::member::Member, Card) {
    use kopilka_domain::card::ean13_check_digit;
    use kopilka_domain::ledger::{welcome_lot, Credit, MovementKind, SystemAccount};
    use kopilka_domain::member::{Consents, Profile};
    use kopilka_domain::{CardKind, CardNumber, Points};

    let phone = Phone::parse(phone).unwrap();
    let hash = format!("reg-{card_body}");
    store
        .create_session(NewSession {
            kind: TokenKind::Registration,
            subject: 0,
            phone: Some(phone.clone()),
            token_hash: hash.clone(),
            created_at: at(1),
            expires_at: at(1) + Duration::minutes(30),
            ip: "127.0.0.1".into(),
            user_agent: "contract".into(),
        })
        .await
        .unwrap();
    store
        .register(Registration {
            phone,
            enrolment: Enrolment::Online {
                registration_token_hash: hash,
                password_hash: "argon2-hash".into(),
            },
            profile: Profile::default(),
            consents: Consents {
                personal_data: true,
                newsletters: false,
                version: "contract".into(),
                recorded_at: at(1),
            },
            card: CardNumber::parse(&format!("{card_body}{}", ean13_check_digit(card_body)))
                .unwrap(),
            card_kind: CardKind::Virtual,
            welcome: Credit {
                from: SystemAccount::Welcome,
                kind: MovementKind::Welcome,
                lot: welcome_lot(Points::new(300), 90, at(1)),
                description: "Приветственные баллы".into(),
            },
            at: at(1),
        })
        .await
        .unwrap()
}

//! A paper form keyed in binds an issued card to the new member, with no password and the
//! audit row in the same transaction; a card not issued, or already bound, makes nobody.

use super::at;
use super::employees::audit_of;
use crate::*;
use kopilka_domain::card::ean13_check_digit;
use kopilka_domain::ledger::{welcome_lot, Credit, MovementKind, SystemAccount};
use kopilka_domain::member::{Consents, Profile};
use kopilka_domain::{CardKind, CardNumber, CardStatus, DomainError, Points};

fn card(body: &str) -> CardNumber {
    CardNumber::parse(&format!("{body}{}", ean13_check_digit(body))).unwrap()
}

fn form(phone: &str, number: &CardNumber) -> Registration {
    Registration {
        phone: Phone::parse(phone).unwrap(),
        enrolment: Enrolment::PaperForm {
            audit: audit_of("member.paper_form", "member:", 3),
        },
        profile: Profile {
            last_name: Some("Бумажная".into()),
            ..Profile::default()
        },
        consents: Consents {
            personal_data: true,
            newsletters: false,
            version: "contract".into(),
            recorded_at: at(3),
        },
        card: number.clone(),
        card_kind: CardKind::Physical,
        welcome: Credit {
            from: SystemAccount::Welcome,
            kind: MovementKind::Welcome,
            lot: welcome_lot(Points::new(300), 90, at(3)),
            description: "Приветственные баллы".into(),
        },
        at: at(3),
    }
}

pub async fn paper_forms(store: &dyn Store) {
    let issued = card("270000009101");
    store
        .issue_cards(
            None,
            std::slice::from_ref(&issued),
            at(2),
            audit_of("cards.issue", "cards", 2),
        )
        .await
        .unwrap();
    let never = card("270000009102");
    assert!(matches!(
        store.register(form("+79990009101", &never)).await,
        Err(StoreError::Rule(DomainError::NotFound("card")))
    ));
    assert!(store
        .member_by_phone(&Phone::parse("+79990009101").unwrap())
        .await
        .unwrap()
        .is_none());

    let (member, bound) = store.register(form("+79990009101", &issued)).await.unwrap();
    assert_eq!(
        (bound.status, bound.member_id),
        (CardStatus::Active, Some(member.id))
    );
    assert_eq!(store.password_hash(member.id).await.unwrap(), None);
    let (holder, _) = store.member_by_card(&issued).await.unwrap().unwrap();
    assert_eq!(holder.id, member.id);
    let log = store.audit_log(&AuditFilter::default(), 1).await.unwrap();
    assert_eq!(log[0].subject, format!("member:{}", member.id));
    assert_eq!(
        store
            .ledger_balance(member.id, at(4), None)
            .await
            .unwrap()
            .available,
        Points::new(300)
    );

    assert!(matches!(
        store.register(form("+79990009102", &issued)).await,
        Err(StoreError::Rule(DomainError::CardAlreadyBound))
    ));
    assert!(store
        .member_by_phone(&Phone::parse("+79990009102").unwrap())
        .await
        .unwrap()
        .is_none());

    // Staff block the card and give it back, each with its audit row; a card not blocked
    // cannot be given back, nor another member's card touched.
    let audit = |action: &str| audit_of(action, &format!("member:{}", member.id), 5);
    let blocked = store
        .set_card_blocked(member.id, &issued, true, at(5), audit("card.block"))
        .await
        .unwrap();
    assert_eq!(blocked.status, CardStatus::Blocked);
    let back = store
        .set_card_blocked(member.id, &issued, false, at(6), audit("card.unblock"))
        .await
        .unwrap();
    assert_eq!(back.status, CardStatus::Active);
    assert!(matches!(
        store
            .set_card_blocked(member.id, &issued, false, at(6), audit("card.unblock"))
            .await,
        Err(StoreError::Rule(DomainError::StateConflict))
    ));
    let stranger = kopilka_domain::member::MemberId::new(member.id.get() + 1_000_000);
    assert!(matches!(
        store
            .set_card_blocked(stranger, &issued, true, at(6), audit("card.block"))
            .await,
        Err(StoreError::Rule(DomainError::NotFound("card")))
    ));
    let log = store.audit_log(&AuditFilter::default(), 2).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["card.unblock", "card.block"]);
}

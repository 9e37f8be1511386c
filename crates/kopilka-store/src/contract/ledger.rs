//! The till's side: cards and their one-time codes, sales that spend and earn, returns,
//! adjustments and expiry, on one member whose lots the test knows one by one.

use super::{at, audit, register};
use crate::*;
use chrono::{DateTime, Duration, Utc};
use kopilka_domain::earning::{EarnRule, Priced, PricedLine, TillKind};
use kopilka_domain::member::MemberId;
use kopilka_domain::{CardNumber, CardStatus, DomainError, Kopecks, Points};

/// A sale of one line of `amount_kop` that spends `redeem` points and earns `earn`.
pub(super) fn priced(amount_kop: i64, redeem: i64, earn: i64) -> Priced {
    Priced {
        earn: Points::new(earn),
        max_redeem: Points::new(redeem),
        redeem: Points::new(redeem),
        discount: Kopecks::new(redeem * 100),
        payable: Kopecks::new(amount_kop - redeem * 100),
        lines: vec![PricedLine {
            line_id: "1".into(),
            sku: "4600000000001".into(),
            category_id: 10,
            amount: Kopecks::new(amount_kop),
            discount: Kopecks::new(redeem * 100),
            redeemed: Points::new(redeem),
            earned: Points::new(earn),
            rule: EarnRule::Base,
        }],
        offers: Vec::new(),
    }
}

pub(super) fn sale(
    till: &Till,
    receipt: &str,
    hash: &str,
    member: MemberId,
    card: &CardNumber,
    now: DateTime<Utc>,
) -> PurchaseRequest {
    PurchaseRequest {
        store_id: till.store_id,
        till_id: till.id,
        receipt_id: receipt.into(),
        request_hash: hash.into(),
        member_id: member,
        card_number: card.clone(),
        card_token: None,
        purchased_at: now,
        committed_at: now,
        day_start: now - Duration::hours(12),
        day_end: now + Duration::hours(12),
        lot_expires_at: now + Duration::days(365),
        lot_available_at: now,
        accrual_description: "Начисление".into(),
        redemption_description: "Оплата баллами".into(),
        offer_ids: Vec::new(),
    }
}

pub(super) fn pricer(p: Priced) -> Pricer {
    Box::new(move |_: &PurchaseState| Ok(p.clone()))
}

async fn available(store: &dyn Store, member: MemberId, now: DateTime<Utc>) -> i64 {
    store
        .ledger_balance(member, now, None)
        .await
        .unwrap()
        .available
        .get()
}

pub(super) fn adjustment(member: MemberId, points: i64, expires: DateTime<Utc>) -> Adjustment {
    Adjustment {
        member_id: member,
        points: Points::new(points),
        description: "Корректировка".into(),
        lot_expires_at: expires,
        at: at(2),
        audit: audit("member.adjust", 2),
        approves: None,
    }
}

/// Spending draws the lot that expires first; a return gives the points back to the lots
/// they came from and takes back what the sale earned; expiry takes what is left of a lot;
/// a debit never goes past what is available; the ledger balances throughout.
pub async fn ledger_and_cards(store: &dyn Store) {
    let (member, card) = register(store, "+79990007788", "260000009030").await;
    let till = store
        .create_till(
            StoreId::new(901),
            TillKind::Staffed,
            "contract-till",
            at(1),
            audit("till.create", 1),
        )
        .await
        .unwrap();
    assert_eq!(
        store.till_by_key("contract-till").await.unwrap(),
        Some(till.clone())
    );

    // 300 welcome points expire on day 90; 200 more expire on day 30.
    let soon = at(2) + Duration::days(30);
    assert_eq!(
        store
            .adjust(adjustment(member.id, 200, soon))
            .await
            .unwrap(),
        Points::new(500)
    );

    // A sale spends 250, the 200 that expire first and 50 of the welcome lot, and earns 40.
    let now = at(3);
    let request = sale(&till, "R-1", "h1", member.id, &card.number, now);
    let bought = store
        .commit_purchase(request.clone(), pricer(priced(100_000, 250, 40)))
        .await
        .unwrap();
    assert_eq!(
        (
            bought.redeemed,
            bought.earned,
            bought.balance,
            bought.replayed
        ),
        (Points::new(250), Points::new(40), Points::new(290), false)
    );
    assert_eq!(available(store, member.id, now).await, 290);
    let again = store
        .commit_purchase(request.clone(), pricer(priced(100_000, 250, 40)))
        .await
        .unwrap();
    assert_eq!(
        (again.purchase_id, again.balance, again.replayed),
        (bought.purchase_id, bought.balance, true)
    );
    let other = sale(&till, "R-1", "another", member.id, &card.number, now);
    assert!(matches!(
        store.commit_purchase(other, pricer(priced(1, 0, 0))).await,
        Err(StoreError::Rule(DomainError::IdempotencyConflict))
    ));
    assert_eq!(
        store
            .purchase_member(StoreId::new(901), "R-1")
            .await
            .unwrap(),
        Some(member.id)
    );
    assert_eq!(
        store
            .earning_receipts(
                member.id,
                now - Duration::hours(1),
                now + Duration::hours(1)
            )
            .await
            .unwrap(),
        1
    );

    // Were the lots left as the sale should leave them, expiry on day 31 would take nothing
    // of the adjustment's lot; so return the sale first and let expiry find it whole again.
    let refund = RefundRequest {
        store_id: StoreId::new(901),
        receipt_id: "R-1".into(),
        refund_id: "F-1".into(),
        request_hash: "f1".into(),
        lines: None,
        at: at(4),
        description: "Возврат".into(),
    };
    let returned = store.refund_purchase(refund.clone()).await.unwrap();
    assert_eq!(
        (
            returned.points_returned,
            returned.points_taken_back,
            returned.balance
        ),
        (Points::new(250), Points::new(40), Points::new(500))
    );
    assert!(store.refund_purchase(refund).await.unwrap().replayed);
    let day_31 = at(2) + Duration::days(31);
    let mut expired = 0;
    let mut after = None;
    loop {
        let (count, last) = store
            .expire_lots(
                day_31,
                100,
                after,
                MemberShare { index: 0, count: 1 },
                "Сгорание",
            )
            .await
            .unwrap();
        expired += count;
        match last {
            Some(key) => after = Some(key),
            None => break,
        }
    }
    assert!(expired >= 1, "the adjustment's lot expired");
    assert_eq!(
        available(store, member.id, day_31).await,
        300,
        "the 200 points the return gave back expired with their lot"
    );

    // A debit takes only what is available.
    assert!(matches!(
        store.adjust(adjustment(member.id, -301, soon)).await,
        Err(StoreError::Rule(DomainError::InsufficientPoints))
    ));
    assert_eq!(
        store
            .adjust(adjustment(member.id, -100, soon))
            .await
            .unwrap(),
        Points::new(200)
    );
    let totals = store.totals().await.unwrap();
    assert_eq!(totals.debits, totals.credits, "the ledger balances");

    cards(store, member.id, &card, &till).await;
}

/// One active card a member: a bound or virtual card replaces the active one; a card is
/// bound once; a blocked card pays for nothing; a one-time code stands for its card until
/// it expires.
async fn cards(store: &dyn Store, member: MemberId, first: &Card, till: &Till) {
    let card = |body: &str| {
        CardNumber::parse(&format!(
            "{body}{}",
            kopilka_domain::card::ean13_check_digit(body)
        ))
        .unwrap()
    };
    let printed = [card("260000009041"), card("260000009042")];
    let (batch, added) = store
        .issue_cards(None, &printed, at(5), audit("cards.issue", 5))
        .await
        .unwrap();
    assert_eq!(added.len(), 2);
    // Numbers already printed are not added again, to this batch or any other.
    assert!(store
        .issue_cards(Some(batch), &printed, at(5), audit("cards.issue", 5))
        .await
        .unwrap()
        .1
        .is_empty());

    let bound = store.bind_card(member, &printed[0], at(6)).await.unwrap();
    assert_eq!(bound.status, CardStatus::Active);
    // The batch counts its bound card, and lists its cards in number order.
    let batches = store.card_batches(10).await.unwrap();
    let listed = batches.iter().find(|b| b.id == batch).unwrap();
    assert_eq!((listed.cards, listed.bound), (2, 1));
    assert_eq!(listed.issued_at, at(5));
    assert_eq!(
        store.batch_cards(batch).await.unwrap().unwrap(),
        vec![
            (printed[0].clone(), CardStatus::Active),
            (printed[1].clone(), CardStatus::Unbound)
        ]
    );
    assert!(store
        .batch_cards(kopilka_domain::card::CardBatchId::new(i64::MAX))
        .await
        .unwrap()
        .is_none());
    let statuses = |cards: Vec<Card>| -> Vec<(String, CardStatus)> {
        let mut s: Vec<_> = cards
            .into_iter()
            .map(|c| (c.number.as_str().to_owned(), c.status))
            .collect();
        s.sort_by(|a, b| a.0.cmp(&b.0));
        s
    };
    let mut expected = vec![
        (printed[0].as_str().to_owned(), CardStatus::Active),
        (first.number.as_str().to_owned(), CardStatus::Blocked),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(statuses(store.cards(member).await.unwrap()), expected);
    assert!(matches!(
        store.bind_card(member, &printed[0], at(6)).await,
        Err(StoreError::Rule(DomainError::CardAlreadyBound))
    ));

    let code = card("290000000001");
    store
        .create_card_token(&printed[0], &code, at(6), at(6) + Duration::minutes(1))
        .await
        .unwrap();
    let (holder, its_card) = store
        .resolve_card_token(&code, Some(at(6)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((holder.id, its_card.number), (member, printed[0].clone()));
    assert!(store
        .resolve_card_token(&code, Some(at(7)))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .resolve_card_token(&code, None)
        .await
        .unwrap()
        .is_some());

    let blocked = store.block_card(member, &printed[0], at(8)).await.unwrap();
    assert_eq!(blocked.status, CardStatus::Blocked);
    let refused = store
        .commit_purchase(
            sale(till, "R-2", "h2", member, &printed[0], at(8)),
            pricer(priced(10_000, 0, 1)),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Rule(DomainError::CardBlocked))),
        "{refused:?}"
    );
    assert_eq!(
        store
            .purchase_member(StoreId::new(901), "R-2")
            .await
            .unwrap(),
        None
    );
}

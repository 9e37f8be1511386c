//! Property tests of the ledger through the real service and the real stores: random
//! sequences of purchases, retries, refunds and expiry runs, checked after every step.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::{DateTime, Duration, Utc};
use kopilka_domain::earning::{Basket, Line, Priced, TillKind};
use kopilka_domain::member::StoreId;
use kopilka_domain::member::{Gender, MemberId, Profile};
use kopilka_domain::offers::OfferId;
use kopilka_domain::password::NewPassword;
use kopilka_domain::staff::StaffId;
use kopilka_domain::{
    CardNumber, Clock, DomainError, Kopecks, ManualClock, OtpCode, Phone, Points,
};
use kopilka_server::settings::Settings;
use kopilka_server::Dependencies;
use kopilka_service::auth::{Client, CodeVerified};
use kopilka_service::pos::{PurchaseInput, RefundInput};
use kopilka_service::registration::RegistrationForm;
use kopilka_service::sms::RecordingSms;
use kopilka_service::{Kopilka, ServiceError};
use kopilka_store::test_database::{Backend, TestDatabase};
use kopilka_store::{PurchaseOutcome, Till};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Op {
    Purchase {
        member: usize,
        amount: i64,
        category: i64,
        redeem: i64,
        self_checkout: bool,
        /// Quoted first, as a till does: PostgreSQL prices it against the state the quote read.
        quoted: bool,
    },
    Retry {
        purchase: usize,
    },
    Refund {
        purchase: usize,
        part: Option<i64>,
    },
    Wait {
        days: i64,
    },
    /// The till quotes a basket: on PostgreSQL the node keeps the state it read for the
    /// member's next purchase, which the ops in between may change.
    Quote {
        member: usize,
    },
    /// The customer activates a personal offer in the app: the till's cached holder and the
    /// state kept from a quote must not outlive it.
    Activate {
        member: usize,
        offer: i64,
    },
    /// Support adjusts the balance by hand, in either direction.
    Adjust {
        member: usize,
        points: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0usize..3, 100i64..300_000, prop_oneof![Just(8i64), Just(10), Just(11), Just(14)], 0i64..500, any::<bool>(), any::<bool>())
            .prop_map(|(member, amount, category, redeem, self_checkout, quoted)| Op::Purchase { member, amount, category, redeem, self_checkout, quoted }),
        1 => (0usize..20).prop_map(|purchase| Op::Retry { purchase }),
        2 => (0usize..20, proptest::option::of(1i64..100)).prop_map(|(purchase, part)| Op::Refund { purchase, part }),
        1 => (0i64..120).prop_map(|days| Op::Wait { days }),
        2 => (0usize..3).prop_map(|member| Op::Quote { member }),
        1 => (0usize..3, 1i64..=3).prop_map(|(member, offer)| Op::Activate { member, offer }),
        1 => (0usize..3, prop_oneof![-400i64..-1, 1i64..400]).prop_map(|(member, points)| Op::Adjust { member, points }),
    ]
}

struct World {
    kopilka: Kopilka,
    clock: Arc<ManualClock>,
    staffed: Till,
    self_checkout: Till,
    cards: Vec<(MemberId, CardNumber)>,
    purchases: Vec<(PurchaseInput, bool, PurchaseOutcome)>,
    /// Per purchase: points taken back and returned so far.
    refunded: HashMap<String, (i64, i64, i64)>,
    /// Dropped after the run.
    database: Option<TestDatabase>,
}

async fn world(postgres: bool, pending_days: u32) -> World {
    let database = TestDatabase::fresh(if postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    })
    .await;
    let database_url = database.url.clone();
    let settings = Settings {
        database_url,
        sqlite_synchronous: "off".into(),
        pg_max_connections: 2,
        accrual_pending_days: pending_days,
        // Low enough that a run's purchases reach it within a day.
        earning_receipts_per_day: 2,
        ..Settings::default()
    };
    let clock = Arc::new(ManualClock::new(
        DateTime::parse_from_rfc3339("2026-11-15T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    ));
    let sms = Arc::new(RecordingSms::default());
    let kopilka = kopilka_server::kopilka(
        &settings,
        Dependencies {
            clock: clock.clone(),
            sms: Some(sms.clone()),
        },
    )
    .await
    .unwrap();
    kopilka_server::seed::demo(&kopilka).await.unwrap();
    let staffed = kopilka
        .create_till(
            kopilka_service::staff::Caller::Cli,
            StoreId::new(1),
            TillKind::Staffed,
        )
        .await
        .unwrap()
        .0
        .till;
    let self_checkout = kopilka
        .create_till(
            kopilka_service::staff::Caller::Cli,
            StoreId::new(1),
            TillKind::SelfCheckout,
        )
        .await
        .unwrap()
        .0
        .till;
    let mut cards = Vec::new();
    for i in 0..3 {
        let phone = Phone::parse(&format!("8999000000{i}")).unwrap();
        kopilka
            .request_sign_in_code(&phone, "127.0.0.1")
            .await
            .unwrap();
        kopilka.sms_flushed().await;
        let text = sms.sent().last().unwrap().1.clone();
        let code = OtpCode::parse(
            text.split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
                .unwrap(),
        )
        .unwrap();
        let CodeVerified::RegistrationRequired { registration_token } = kopilka
            .verify_sign_in_code(&phone, &code, &Client::default())
            .await
            .unwrap()
        else {
            panic!("a new phone registers")
        };
        let form = RegistrationForm {
            profile: Profile {
                last_name: Some("Тестова".into()),
                gender: Some(Gender::Female),
                birth_date: chrono::NaiveDate::from_ymd_opt(1990, 1, 1),
                city: Some("Москва".into()),
                favourite_category_id: Some(10),
                ..Profile::default()
            },
            newsletters: false,
            password: NewPassword::parse("свойства-леджера", 6, &[])
                .unwrap()
                .into(),
        };
        let done = kopilka
            .register(&registration_token, form, &Client::default())
            .await
            .unwrap();
        cards.push((done.member.id, done.card.number));
    }
    World {
        kopilka,
        clock,
        staffed,
        self_checkout,
        cards,
        purchases: Vec::new(),
        refunded: HashMap::new(),
        database: Some(database),
    }
}

async fn balances(w: &World) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for (member, _) in &w.cards {
        let b = w
            .kopilka
            .store_for_tests()
            .ledger_balance(
                *member,
                w.clock.now(),
                Some(w.clock.now() + Duration::days(10_000)),
            )
            .await
            .unwrap();
        // (available + pending, what the lots hold)
        out.push((
            b.available.get() + b.pending.get(),
            b.expiring.iter().map(|e| e.points.get()).sum(),
        ));
    }
    out
}

async fn check_invariants(w: &World) {
    let t = w.kopilka.store_for_tests().totals().await.unwrap();
    assert_eq!(t.debits, t.credits, "the ledger sums to zero: {t:?}");
    assert_eq!(t.debits, t.transfers, "{t:?}");
    for (balance, lots) in balances(w).await {
        assert_eq!(
            lots,
            balance.max(0),
            "lots hold exactly the positive balance"
        );
    }
}

fn basket(amount: i64, category: i64) -> Basket {
    Basket::parse(vec![Line {
        line_id: "1".into(),
        sku: "sku".into(),
        category_id: category,
        amount: Kopecks::new(amount),
    }])
    .unwrap()
}

async fn quote(w: &World, till: &Till, member: usize, basket: &Basket, redeem: i64) -> Priced {
    w.kopilka
        .quote(till, &w.cards[member].1, basket, Points::new(redeem))
        .await
        .unwrap()
}

async fn step(w: &mut World, op: Op, n: usize) {
    match op {
        Op::Purchase {
            member,
            amount,
            category,
            redeem,
            self_checkout,
            quoted,
        } => {
            let till = if self_checkout {
                &w.self_checkout
            } else {
                &w.staffed
            };
            let basket = basket(amount, category);
            let quoted = match quoted {
                true => Some(quote(w, till, member, &basket, redeem).await),
                false => None,
            };
            let before = balances(w).await[member].0;
            let available = w
                .kopilka
                .balance(w.cards[member].0)
                .await
                .unwrap()
                .available
                .get();
            let input = PurchaseInput {
                receipt_id: format!("P{n}"),
                barcode: w.cards[member].1.clone(),
                basket,
                redeem: Points::new(redeem),
                purchased_at: None,
            };
            match w.kopilka.purchase(till, input.clone()).await {
                Ok(outcome) => {
                    assert!(
                        outcome.redeemed.get() <= available.max(0),
                        "never spends more than is available"
                    );
                    let after = w.kopilka.balance(w.cards[member].0).await.unwrap();
                    assert_eq!(
                        outcome.balance, after.available,
                        "the purchase answers what the member can spend afterwards"
                    );
                    assert!(
                        outcome.balance.get() >= available.min(0),
                        "spending never makes a balance negative"
                    );
                    if self_checkout {
                        assert_eq!(outcome.earned, Points::ZERO);
                    }
                    if let Some(q) = quoted {
                        assert_eq!(
                            (q.earn, q.redeem, q.payable),
                            (outcome.earned, outcome.redeemed, outcome.payable),
                            "the quote a moment before says what the purchase earns and costs"
                        );
                    }
                    w.purchases.push((input, self_checkout, outcome));
                }
                Err(ServiceError::Domain(
                    DomainError::InsufficientPoints | DomainError::Validation(_),
                )) => {
                    assert_eq!(
                        balances(w).await[member].0,
                        before,
                        "a refused purchase changes nothing"
                    );
                }
                Err(e) => panic!("purchase failed: {e}"),
            }
        }
        Op::Retry { purchase } => {
            let Some((input, self_checkout, first)) = w
                .purchases
                .get(purchase % w.purchases.len().max(1))
                .cloned()
            else {
                return;
            };
            let totals = w.kopilka.store_for_tests().totals().await.unwrap();
            let till = if self_checkout {
                &w.self_checkout
            } else {
                &w.staffed
            };
            let again = w.kopilka.purchase(till, input).await.unwrap();
            assert!(again.replayed);
            assert_eq!(
                (
                    again.purchase_id,
                    again.earned,
                    again.redeemed,
                    again.balance
                ),
                (
                    first.purchase_id,
                    first.earned,
                    first.redeemed,
                    first.balance
                )
            );
            assert_eq!(
                w.kopilka.store_for_tests().totals().await.unwrap(),
                totals,
                "a replay changes nothing"
            );
        }
        Op::Refund { purchase, part } => {
            let Some((input, self_checkout, first)) = w
                .purchases
                .get(purchase % w.purchases.len().max(1))
                .cloned()
            else {
                return;
            };
            let amount = input.basket.total().get();
            let entry = w
                .refunded
                .entry(input.receipt_id.clone())
                .or_insert((0, 0, 0));
            let left = amount - entry.2;
            if left == 0 {
                return;
            }
            let lines = part.map(|p| {
                vec![(
                    "1".to_owned(),
                    Kopecks::new((amount * p / 100).clamp(1, left)),
                )]
            });
            let refunded_now = lines.as_ref().map(|l| l[0].1.get()).unwrap_or(left);
            let till = if self_checkout {
                &w.self_checkout
            } else {
                &w.staffed
            };
            let refund = RefundInput {
                receipt_id: input.receipt_id.clone(),
                refund_id: format!("F{n}"),
                lines,
            };
            let outcome = w.kopilka.refund(till, refund).await.unwrap();
            entry.0 += outcome.points_taken_back.get();
            entry.1 += outcome.points_returned.get();
            entry.2 += refunded_now;
            assert!(
                entry.0 <= first.earned.get(),
                "never takes back more than the purchase earned"
            );
            assert!(
                entry.1 <= first.redeemed.get(),
                "never gives back more than the purchase spent"
            );
            if entry.2 == amount {
                assert_eq!(
                    (entry.0, entry.1),
                    (first.earned.get(), first.redeemed.get()),
                    "a whole return undoes the purchase exactly"
                );
            }
        }
        Op::Quote { member } => {
            quote(w, &w.staffed, member, &basket(10_000, 10), 0).await;
        }
        Op::Activate { member, offer } => {
            let holder = w
                .kopilka
                .store_for_tests()
                .member(w.cards[member].0)
                .await
                .unwrap();
            match w
                .kopilka
                .activate_offer(&holder.unwrap(), OfferId::new(offer))
                .await
            {
                // Activated, or already, or no longer running after a long wait.
                Ok(_) | Err(ServiceError::Domain(_)) => {}
                Err(e) => panic!("activation failed: {e}"),
            }
        }
        Op::Adjust { member, points } => {
            let before = balances(w).await[member].0;
            let id = w.cards[member].0;
            match w
                .kopilka
                .adjust_points(&administrator(), id, Points::new(points), "проверка")
                .await
            {
                Ok(kopilka_service::adjustments::AdjustOutcome::Applied(available)) => {
                    let after = w.kopilka.balance(id).await.unwrap().available;
                    assert_eq!(
                        available, after,
                        "an adjustment answers the balance after it"
                    );
                }
                Ok(waiting) => panic!("within an administrator's limit, yet {waiting:?}"),
                Err(ServiceError::Domain(DomainError::InsufficientPoints)) => {
                    assert_eq!(
                        balances(w).await[member].0,
                        before,
                        "a refused one changes nothing"
                    );
                }
                Err(e) => panic!("adjustment failed: {e}"),
            }
        }
        Op::Wait { days } => {
            w.clock.advance(Duration::days(days));
            w.kopilka.expire_points().await.unwrap();
            // Nothing due is left behind.
            assert_eq!(w.kopilka.expire_points().await.unwrap(), 0);
        }
    }
    check_invariants(w).await;
}

fn run(postgres: bool, pending_days: u32, ops: Vec<Op>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut w = world(postgres, pending_days).await;
        // Dropped here, with the runtime still running, whether the steps passed or not.
        let drop_after = w.database.take();
        let outcome = tokio::spawn(async move {
            for (n, op) in ops.into_iter().enumerate() {
                step(&mut w, op, n).await;
            }
        })
        .await;
        drop(drop_after);
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn ledger_holds_its_invariants_on_sqlite(pending_days in prop_oneof![Just(0u32), Just(14)], ops in proptest::collection::vec(op(), 1..40)) {
        run(false, pending_days, ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]
    #[test]
    fn ledger_holds_its_invariants_on_postgres(pending_days in prop_oneof![Just(0u32), Just(14)], ops in proptest::collection::vec(op(), 1..40)) {
        run(true, pending_days, ops);
    }
}

/// An administrator: no operator's limits apply.
fn administrator() -> kopilka_store::StaffMember {
    kopilka_store::StaffMember {
        id: StaffId::new(1),
        login: "admin".into(),
        roles: vec![kopilka_domain::staff::Role::Admin],
        created_at: chrono::Utc::now(),
        disabled: false,
        totp_enrolled: false,
    }
}

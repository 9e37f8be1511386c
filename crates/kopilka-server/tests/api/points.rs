use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use crate::till::{balance, basket, pos, till};
use chrono::Duration;
use kopilka_domain::earning::TillKind;
use serde_json::{json, Value};

on_both_stores!(
    points_expire_oldest_first_and_show_in_history,
    every_members_due_points_expire_whatever_worker_takes_them,
    due_points_are_spent_or_expired_never_both,
    a_refund_may_leave_a_debt_that_later_points_pay,
    earned_points_may_wait_out_a_pending_period,
    staff_adjust_points_with_a_reason,
    seeded_members_shop_and_the_liability_report_adds_up,
);

async fn points_expire_oldest_first_and_show_in_history(backend: Backend) {
    // The customer's session outlives the year this story spans; the balance shows what
    // expires within two years.
    let app = TestApp::spawn_with(backend, |s| {
        s.customer_session_days = 3650;
        s.expiring_window_days = 730;
    })
    .await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550008").await;
    let bread =
        json!([{ "line_id": "1", "sku": "bread", "category_id": 14, "amount_kop": 100000 }]);
    app.clock.advance(Duration::days(30));
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "E1", "barcode": card, "lines": bread, "redeem_points": 50 }),
    )
    .await
    .expect(201);
    // Soonest first.
    let b = app.get("/me/balance", &token).await.expect(200);
    let expiring = b["expiring"].as_array().unwrap();
    let points: Vec<&Value> = expiring.iter().map(|e| &e["points"]).collect();
    assert_eq!(points, [&json!(250), &json!(95)]);
    assert!(expiring[0]["expires_at"].as_str() < expiring[1]["expires_at"].as_str());
    // 250 welcome points left (spent oldest first) expire on day 90; the 95 earned on the
    // 950 ₽ paid in money stay.
    app.clock.advance(Duration::days(59));
    assert_eq!(app.kopilka.expire_points().await.unwrap(), 0);
    app.clock.advance(Duration::days(2));
    assert_eq!(app.kopilka.expire_points().await.unwrap(), 1);
    assert_eq!(
        app.kopilka.expire_points().await.unwrap(),
        0,
        "each lot expires once"
    );
    assert_eq!(balance(&app, &token).await, 95);
    let history = app.get("/me/history?limit=1", &token).await.expect(200);
    assert_eq!(history["items"][0]["kind"], "expiry");
    assert_eq!(history["items"][0]["points"], -250);
    // The earned lot lives 12 months from its purchase.
    app.clock.advance(Duration::days(365 - 61));
    app.kopilka.expire_points().await.unwrap();
    assert_eq!(balance(&app, &token).await, 0);
    app.assert_ledger_balanced().await;
}

/// The expiry job splits the members between its workers (on PostgreSQL); each member's due
/// points expire once, in whichever share they fall.
async fn every_members_due_points_expire_whatever_worker_takes_them(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.customer_session_days = 3650;
        s.expiry_workers = 3;
        s.expiry_batch = 2;
    })
    .await;
    let mut tokens = Vec::new();
    for i in 0..7 {
        tokens.push(app.register(&format!("8999555010{i}")).await.0);
    }
    app.clock.advance(Duration::days(91));
    assert_eq!(app.kopilka.expire_points().await.unwrap(), 7);
    assert_eq!(app.kopilka.expire_points().await.unwrap(), 0);
    for token in &tokens {
        assert_eq!(balance(&app, token).await, 0);
    }
    app.assert_ledger_balanced().await;
}

/// The expiry job and sales that spend the same due points, at once: whoever reaches a
/// member first, each point is either spent or expired, never both, and never twice. The
/// first member's sale surely comes before the job and the last one's surely after, so both
/// outcomes are seen in every run; the members between race.
async fn due_points_are_spent_or_expired_never_both(backend: Backend) {
    const MEMBERS: usize = 8;
    let app = TestApp::spawn_with(backend, |s| {
        s.customer_session_days = 3650;
        s.expiry_workers = 2;
        s.expiry_batch = 1;
    })
    .await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let mut members = Vec::new();
    for i in 0..MEMBERS {
        let (token, card, _) = app.register(&format!("8999555020{i}")).await;
        members.push((token, card));
    }
    // The 300 welcome points are past their 90 days; the hourly job has not run yet.
    app.clock.advance(Duration::days(91));
    let sale = |i: usize| {
        app.client
            .post(format!("{}/api/v1/pos/purchases", app.base))
            .bearer_auth(&key)
            // Tobacco earns nothing: what a member holds afterwards is what is left of the
            // welcome points.
            .json(&json!({
                "receipt_id": format!("D{i}"), "barcode": members[i].1, "redeem_points": 100,
                "lines": [{ "line_id": "1", "sku": "cig", "category_id": 8, "amount_kop": 100000 }],
            }))
    };
    let answer = |res: reqwest::Response| async move {
        let status = res.status().as_u16();
        (status, res.json::<Value>().await.unwrap())
    };
    let before = answer(sale(0).send().await.unwrap()).await;
    let mut sales = tokio::task::JoinSet::new();
    for i in 1..MEMBERS - 1 {
        let request = sale(i);
        sales.spawn(async move {
            let res = request.send().await.unwrap();
            let status = res.status().as_u16();
            (i, status, res.json::<Value>().await.unwrap())
        });
    }
    let expiry = app.kopilka.clone();
    let (raced, expired) = tokio::join!(sales.join_all(), async move {
        expiry.expire_points().await.unwrap()
    });
    // A lot a sale held when the job passed is left for the job's next run.
    let expired = expired + app.kopilka.expire_points().await.unwrap();
    let after = answer(sale(MEMBERS - 1).send().await.unwrap()).await;
    assert_eq!(
        expired, MEMBERS as u64,
        "every welcome lot expires once, whole or what is left of it"
    );
    let mut outcomes = vec![(0, before.0, before.1)];
    outcomes.extend(raced);
    outcomes.push((MEMBERS - 1, after.0, after.1));
    for (i, status, sale) in outcomes {
        // Spent before the job reached the member, or refused with nothing left after it.
        let spent = match status {
            201 => sale["redeemed_points"].as_i64().unwrap(),
            409 if sale["code"] == "insufficient_points" => 0,
            _ => panic!("{status} {sale}"),
        };
        assert!(spent == 0 || spent == 100, "{sale}");
        if i == 0 {
            assert_eq!(spent, 100, "spent before the job ran: {sale}");
        }
        if i == MEMBERS - 1 {
            assert_eq!(spent, 0, "nothing left after the job ran: {sale}");
        }
        let token = &members[i].0;
        assert_eq!(balance(&app, token).await, 0, "member {i}");
        let history = app.get("/me/history?limit=1", token).await.expect(200);
        assert_eq!(history["items"][0]["kind"], "expiry", "member {i}");
        assert_eq!(history["items"][0]["points"], -(300 - spent), "member {i}");
    }
    app.assert_ledger_balanced().await;
}

async fn a_refund_may_leave_a_debt_that_later_points_pay(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550009").await;
    // 5,000 ₽ earn 500 points.
    let tv = json!([{ "line_id": "1", "sku": "tv", "category_id": 6, "amount_kop": 500000 }]);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "TV", "barcode": card, "lines": tv }),
    )
    .await
    .expect(201);
    assert_eq!(balance(&app, &token).await, 800);
    // Spend it all, then return the TV: the 500 it earned are taken back.
    let food = json!([{ "line_id": "1", "sku": "cig", "category_id": 8, "amount_kop": 100000 }]);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "F", "barcode": card, "lines": food, "redeem_points": 800 }),
    )
    .await
    .expect(201);
    let refund = pos(
        &app,
        &key,
        "/purchases/TV/refunds",
        json!({ "refund_id": "X" }),
    )
    .await
    .expect(201);
    assert_eq!(refund["balance"], -500);
    // A negative balance spends nothing, and the next points pay the debt first.
    let q = pos(
        &app,
        &key,
        "/quote",
        json!({ "barcode": card, "lines": food, "redeem_points": 10 }),
    )
    .await
    .expect(200);
    assert_eq!(q["max_redeem_points"], 0);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "TV2", "barcode": card, "lines": tv }),
    )
    .await
    .expect(201);
    let b = app.get("/me/balance", &token).await.expect(200);
    assert_eq!(b["available"], 0);
    assert_eq!(
        b["expiring"],
        json!([]),
        "no lot holds points that paid a debt"
    );
    app.assert_ledger_balanced().await;
}

async fn earned_points_may_wait_out_a_pending_period(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.accrual_pending_days = 14).await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let (token, card, _) = app.register("89995550020").await;
    let bread =
        json!([{ "line_id": "1", "sku": "bread", "category_id": 14, "amount_kop": 100000 }]);
    let bought = pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "P1", "barcode": card, "lines": bread }),
    )
    .await
    .expect(201);
    assert_eq!(bought["earned_points"], 100);
    assert_eq!(
        bought["balance"], 300,
        "what was earned is pending, not spendable"
    );
    let b = app.get("/me/balance", &token).await.expect(200);
    assert_eq!(
        (b["available"].as_i64(), b["pending"].as_i64()),
        (Some(300), Some(100))
    );
    let history = app.get("/me/history?limit=1", &token).await.expect(200);
    assert_eq!(
        history["items"][0]["points"], 100,
        "the history shows the accrual at once"
    );
    // Pending points cannot be spent.
    let q = pos(
        &app,
        &key,
        "/quote",
        json!({ "barcode": card, "lines": bread, "redeem_points": 400 }),
    )
    .await
    .expect(200);
    assert_eq!(q["max_redeem_points"], 300);
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "P2", "barcode": card, "lines": bread, "redeem_points": 301 }),
    )
    .await
    .expect_problem(409, "insufficient_points");
    // A return within the period takes back the pending points themselves.
    let back = pos(
        &app,
        &key,
        "/purchases/P1/refunds",
        json!({ "refund_id": "F1", "lines": [{ "line_id": "1", "amount_kop": 50000 }] }),
    )
    .await
    .expect(201);
    assert_eq!(
        (back["points_taken_back"].as_i64(), back["balance"].as_i64()),
        (Some(50), Some(300))
    );
    let b = app.get("/me/balance", &token).await.expect(200);
    assert_eq!(
        (b["available"].as_i64(), b["pending"].as_i64()),
        (Some(300), Some(50))
    );
    // After the period they are available.
    app.clock.advance(Duration::days(14));
    let b = app.get("/me/balance", &token).await.expect(200);
    assert_eq!(
        (b["available"].as_i64(), b["pending"].as_i64()),
        (Some(350), Some(0))
    );
    pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "P3", "barcode": card, "lines": bread, "redeem_points": 350 }),
    )
    .await
    .expect(201);
    app.assert_ledger_balanced().await;
}

async fn staff_adjust_points_with_a_reason(backend: Backend) {
    use kopilka_domain::staff::Role;
    let app = TestApp::spawn(backend).await;
    let olga = app.staff_token("olga", &[Role::Support]).await;
    let mark = app.staff_token("mark", &[Role::Marketing]).await;
    let (token, _, member) = app.register("89995550011").await;
    let path = format!("/api/v1/admin/members/{member}/adjustments");
    let done = app
        .request(
            "POST",
            &path,
            Some(&olga),
            Some(json!({ "points": 50, "reason": "Компенсация по обращению 123" })),
        )
        .await
        .expect(201);
    assert_eq!(done["balance"], 350);
    app.request(
        "POST",
        &path,
        Some(&olga),
        Some(json!({ "points": -1000, "reason": "Ошибка" })),
    )
    .await
    .expect_problem(409, "insufficient_points");
    app.request(
        "POST",
        &path,
        Some(&olga),
        Some(json!({ "points": 10, "reason": "" })),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.request(
        "POST",
        &path,
        Some(&mark),
        Some(json!({ "points": 10, "reason": "Просто так" })),
    )
    .await
    .expect_problem(403, "forbidden");
    app.request(
        "POST",
        "/api/v1/admin/members/999999/adjustments",
        Some(&olga),
        Some(json!({ "points": 10, "reason": "Нет такого" })),
    )
    .await
    .expect_problem(404, "not_found");
    app.request(
        "POST",
        &path,
        Some(&olga),
        Some(json!({ "points": -30, "reason": "Ошибочное начисление" })),
    )
    .await
    .expect(201);
    assert_eq!(balance(&app, &token).await, 320);
    let history = app.get("/me/history?limit=2", &token).await.expect(200);
    assert_eq!(history["items"][0]["kind"], "adjustment");
    assert_eq!(
        history["items"][0]["description"],
        "Корректировка: Ошибочное начисление"
    );
    let root = app.staff_token("root", &[Role::Admin]).await;
    let audit = app.get("/admin/audit?limit=5", &root).await.expect(200);
    let adjustments: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "points.adjust")
        .collect();
    assert_eq!(adjustments.len(), 2);
    assert_eq!(adjustments[0]["details"]["reason"], "Ошибочное начисление");
    app.assert_ledger_balanced().await;
}

async fn seeded_members_shop_and_the_liability_report_adds_up(backend: Backend) {
    use kopilka_domain::staff::Role;
    let app = TestApp::spawn(backend).await;
    let cards = app.kopilka.seed_members(120).await.unwrap();
    assert_eq!(cards.len(), 120);
    assert_eq!(
        app.kopilka.seed_members(5).await.unwrap().len(),
        5,
        "a second run adds more, skipping taken phones"
    );
    let key = till(&app, 3, TillKind::Staffed).await;
    let who = pos(
        &app,
        &key,
        "/identify",
        json!({ "barcode": cards[7].to_string() }),
    )
    .await
    .expect(200);
    assert_eq!(who["available_points"], 300);
    let bought = pos(&app, &key, "/purchases", json!({ "receipt_id": "S1", "barcode": cards[7].to_string(), "lines": basket(), "redeem_points": 100 }))
        .await
        .expect(201);
    // Seeded members have a random favourite category: what the milk earned depends on it.
    let earned = bought["earned_points"].as_i64().unwrap();
    let buh = app.staff_token("buh", &[Role::Accounting]).await;
    let report = app.get("/admin/reports/liability", &buh).await.expect(200);
    assert_eq!(report["liability_points"], 125 * 300 - 100 + earned);
    assert_eq!(report["balanced"], true);
    app.assert_ledger_balanced().await;
}

/// PostgreSQL's transfers carry no foreign keys (migration 9): `kopilka_post`, which every
/// transfer goes through, refuses an account that does not exist, and moves nothing.
#[tokio::test]
async fn a_transfer_to_a_missing_account_is_refused_on_postgres() {
    use sqlx::Connection;
    let app = TestApp::spawn(Backend::Postgres).await;
    let (_, _, member) = app.register("89995550031").await;
    let before = app.kopilka.store_for_tests().totals().await.unwrap();
    let mut db = sqlx::PgConnection::connect(app.database_url())
        .await
        .unwrap();
    let account: i64 = sqlx::query_scalar("SELECT id FROM accounts WHERE member_id = $1")
        .bind(member)
        .fetch_one(&mut db)
        .await
        .unwrap();
    for (debit, credit) in [(account, i64::MAX), (i64::MAX, account)] {
        let refused = sqlx::query(
            "SELECT kopilka_post($1, $2, 10, 'adjustment', $3, NULL, NULL, NULL, 'test', now())",
        )
        .bind(debit)
        .bind(credit)
        .bind(member)
        .execute(&mut db)
        .await
        .unwrap_err();
        let code = refused.as_database_error().and_then(|e| e.code());
        assert_eq!(code.as_deref(), Some("23503"), "{refused}");
    }
    assert_eq!(
        app.kopilka.store_for_tests().totals().await.unwrap(),
        before
    );
    app.assert_ledger_balanced().await;
}

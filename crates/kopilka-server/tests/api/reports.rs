//! Accounting's points report: per day the points earned, welcomed, spent, adjusted and
//! returned, what the chain owed at the end of it, and who bought; per store; as CSV. The
//! figures come from daily aggregates and agree with the ledger.

use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use crate::till::{basket, pos, till};
use chrono::Duration;
use kopilka_domain::earning::TillKind;
use kopilka_domain::staff::Role;
use serde_json::{json, Value};

on_both_stores!(
    the_points_report_adds_up_to_the_ledger_day_by_day,
    the_roll_up_waits_for_writes_in_flight
);

async fn card_of(app: &TestApp, token: &str) -> String {
    app.get("/me/cards", token).await.expect(200)[0]["number"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn day<'a>(report: &'a Value, day: &str) -> &'a Value {
    report["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["day"] == day)
        .unwrap_or_else(|| panic!("{day} in {report}"))
}

async fn the_points_report_adds_up_to_the_ledger_day_by_day(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.report_settle_s = 0).await;
    let accounting = app.staff_token("accounting", &[Role::Accounting]).await;
    let support = app.staff_token("support", &[Role::Support]).await;
    let admin = app.staff_token("admin", &[Role::Admin]).await;
    let today = |app: &TestApp| {
        app.clock_now()
            .with_timezone(&chrono_tz::Europe::Moscow)
            .date_naive()
            .to_string()
    };
    let first_day = today(&app);

    let (anna, _, anna_id) = app.register("+79995559001").await;
    let (_boris, _, _) = app.register("+79995559002").await;
    let key = till(&app, 1, TillKind::Staffed).await;
    let card = card_of(&app, &anna).await;
    let bought = pos(
        &app,
        &key,
        "/purchases",
        json!({ "receipt_id": "rep-1", "barcode": card, "lines": basket(), "redeem_points": 100 }),
    )
    .await
    .expect(201);
    let earned = bought["earned_points"].as_i64().unwrap();
    app.request(
        "POST",
        &format!("/api/v1/admin/members/{anna_id}/adjustments"),
        Some(&admin),
        Some(json!({ "points": 250, "reason": "Компенсация за сбой" })),
    )
    .await
    .expect(201);

    app.get("/admin/reports/points", &support)
        .await
        .expect_problem(403, "forbidden");
    let report = app
        .get("/admin/reports/points", &accounting)
        .await
        .expect(200);
    let d = day(&report, &first_day);
    assert_eq!(d["welcome"], 600);
    assert_eq!(d["earned"], earned);
    assert_eq!(d["spent"], 100);
    assert_eq!(d["adjusted"], 250);
    assert_eq!(d["active_customers"], 1);
    let owed = app
        .get("/admin/reports/liability", &accounting)
        .await
        .expect(200);
    assert_eq!(d["liability"], owed["liability_points"], "{report}");
    assert_eq!(d["liability"], 600 + earned - 100 + 250);
    let store1 = report["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store_id"] == 1)
        .unwrap();
    assert_eq!(
        (store1["earned"].as_i64(), store1["spent"].as_i64()),
        (Some(earned), Some(100))
    );

    // The next day: a return takes points back; yesterday still ends where it ended.
    app.clock.advance(Duration::days(1));
    let accounting = app.staff_token("accounting-2", &[Role::Accounting]).await;
    let second_day = today(&app);
    let refund = pos(
        &app,
        &key,
        "/purchases/rep-1/refunds",
        json!({ "refund_id": "rep-1-r" }),
    )
    .await
    .expect(201);
    let taken = refund["points_taken_back"].as_i64().unwrap();
    let given = refund["points_returned"].as_i64().unwrap();
    let query = format!("/admin/reports/points?from={first_day}&to={second_day}");
    let report = app.get(&query, &accounting).await.expect(200);
    assert_eq!(report["days"].as_array().unwrap().len(), 2);
    let yesterday = day(&report, &first_day);
    assert_eq!(yesterday["liability"], 600 + earned - 100 + 250);
    let d = day(&report, &second_day);
    assert_eq!(d["returned"], taken - given);
    let owed = app
        .get("/admin/reports/liability", &accounting)
        .await
        .expect(200);
    assert_eq!(d["liability"], owed["liability_points"]);
    assert!(report["redemption_rate_percent"].as_f64().is_some());

    // As CSV: a line a day, and a line a day and store.
    let csv = app
        .request(
            "GET",
            &format!("/api/v1{query}").replace("points?", "points.csv?"),
            Some(&accounting),
            None,
        )
        .await
        .expect(200);
    let csv = csv.as_str().unwrap().to_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "day,earned,welcome,spent,expired,adjusted,returned,liability,active_customers"
    );
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with(&format!("{first_day},{earned},600,100,")),
        "{csv}"
    );
    let by_store = app
        .request(
            "GET",
            &format!("/api/v1/admin/reports/points.csv?from={first_day}&to={second_day}&by=store"),
            Some(&accounting),
            None,
        )
        .await
        .expect(200);
    assert!(by_store
        .as_str()
        .unwrap()
        .contains(&format!("{first_day},1,{earned},100,0")));

    // A period backwards, or too long, is refused by field.
    let backwards = app
        .get(
            &format!("/admin/reports/points?from={second_day}&to={first_day}"),
            &accounting,
        )
        .await;
    assert_eq!(backwards.fields(), ["to"]);
    let long = app
        .get(
            "/admin/reports/points?from=2020-01-01&to=2026-01-01",
            &accounting,
        )
        .await;
    assert_eq!(long.fields(), ["from"]);
    app.get("/admin/reports/points?from=yesterday", &accounting)
        .await
        .expect_invalid();
}

async fn the_roll_up_waits_for_writes_in_flight(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let accounting = app.staff_token("accounting", &[Role::Accounting]).await;
    let today = app
        .clock_now()
        .with_timezone(&chrono_tz::Europe::Moscow)
        .date_naive()
        .to_string();
    app.register("+79995559101").await;
    let welcome = |report: &Value| day(report, &today)["welcome"].as_i64().unwrap();
    let first = app
        .get("/admin/reports/points", &accounting)
        .await
        .expect(200);
    match backend {
        // One writer at a time: nothing can commit behind what was read.
        Backend::Sqlite => assert_eq!(welcome(&first), 300),
        // Transfers seen now are read once no writer can still hold a smaller id.
        Backend::Postgres => assert_eq!(welcome(&first), 0),
    }
    app.clock.advance(Duration::seconds(61));
    let later = app
        .get("/admin/reports/points", &accounting)
        .await
        .expect(200);
    assert_eq!(welcome(&later), 300);
    // Read again, nothing is added twice.
    let again = app
        .get("/admin/reports/points", &accounting)
        .await
        .expect(200);
    assert_eq!(welcome(&again), 300);
}

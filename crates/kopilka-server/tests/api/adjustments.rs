//! A second pair of eyes on large manual adjustments (maker-checker): above its author's
//! limit an adjustment waits, another administrator approves or rejects it, nobody approves
//! their own, and each is applied once however many approve it at once.

use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use kopilka_domain::staff::Role;
use serde_json::{json, Value};

on_both_stores!(
    an_adjustment_above_the_limit_waits_for_another_administrator,
    two_administrators_approving_at_once_apply_it_once,
);

async fn balance(app: &TestApp, token: &str) -> i64 {
    app.get("/me/balance", token).await.expect(200)["available"]
        .as_i64()
        .unwrap()
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> crate::helpers::Answer {
    app.request("POST", &format!("/api/v1{path}"), Some(token), Some(body))
        .await
}

async fn an_adjustment_above_the_limit_waits_for_another_administrator(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (customer, _, member) = app.register("89994440001").await;
    let support = app.staff_token("olga", &[Role::Support]).await;
    let anna = app.staff_token("anna", &[Role::Admin]).await;
    let boris = app.staff_token("boris", &[Role::Admin]).await;
    let adjustments = format!("/admin/members/{member}/adjustments");
    let before = balance(&app, &customer).await;

    let waiting = post(
        &app,
        &adjustments,
        &support,
        json!({ "points": 7000, "reason": "Компенсация по жалобе 77" }),
    )
    .await
    .expect(202);
    assert_eq!(waiting["status"], "pending_approval");
    assert_eq!(waiting["points"], 7000);
    let id = waiting["id"].as_i64().unwrap();
    assert_eq!(
        balance(&app, &customer).await,
        before,
        "nothing applied yet"
    );
    let queue = app.get("/admin/adjustments", &anna).await.expect(200);
    assert_eq!(queue.as_array().unwrap().len(), 1);
    assert_eq!(queue[0]["id"], id);
    assert_eq!(queue[0]["reason"], "Компенсация по жалобе 77");

    // Support cannot approve; an administrator's own request is not theirs to approve.
    let approve = format!("/admin/adjustments/{id}/approve");
    post(&app, &approve, &support, json!({}))
        .await
        .expect_problem(403, "forbidden");
    let own = post(
        &app,
        &adjustments,
        &anna,
        json!({ "points": 150_000, "reason": "Перенос баллов со старой карты" }),
    )
    .await
    .expect(202);
    let own_id = own["id"].as_i64().unwrap();
    post(
        &app,
        &format!("/admin/adjustments/{own_id}/approve"),
        &anna,
        json!({}),
    )
    .await
    .expect_problem(403, "forbidden");

    // Another administrator approves: applied once, with the balance after it.
    let approved = post(&app, &approve, &anna, json!({})).await.expect(200);
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["balance"], before + 7000);
    assert_eq!(balance(&app, &customer).await, before + 7000);
    post(&app, &approve, &boris, json!({}))
        .await
        .expect_problem(409, "state_conflict");

    // Rejected with a reason, and then it cannot be approved.
    let reject = format!("/admin/adjustments/{own_id}/reject");
    post(&app, &reject, &boris, json!({ "reason": "" }))
        .await
        .expect_problem(422, "validation_failed");
    let rejected = post(
        &app,
        &reject,
        &boris,
        json!({ "reason": "Нет подтверждения переноса" }),
    )
    .await
    .expect(200);
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["decision_reason"], "Нет подтверждения переноса");
    post(
        &app,
        &format!("/admin/adjustments/{own_id}/approve"),
        &boris,
        json!({}),
    )
    .await
    .expect_problem(409, "state_conflict");
    assert_eq!(balance(&app, &customer).await, before + 7000);

    // A debit the balance no longer covers is refused at approval and stays pending.
    let debit = post(
        &app,
        &adjustments,
        &support,
        json!({ "points": -(before + 7000 + 1), "reason": "Списание ошибочных баллов" }),
    )
    .await
    .expect(202);
    let debit_id = debit["id"].as_i64().unwrap();
    post(
        &app,
        &format!("/admin/adjustments/{debit_id}/approve"),
        &boris,
        json!({}),
    )
    .await
    .expect_problem(409, "insufficient_points");
    let queue = app.get("/admin/adjustments", &boris).await.expect(200);
    assert_eq!(queue[0]["id"], debit_id, "still waiting: {queue}");
    // Its author takes it back.
    post(
        &app,
        &format!("/admin/adjustments/{debit_id}/reject"),
        &support,
        json!({ "reason": "Ошиблась суммой" }),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/admin/adjustments", &boris).await.expect(200),
        json!([])
    );
    let all = app
        .get("/admin/adjustments?status=all", &boris)
        .await
        .expect(200);
    assert_eq!(all.as_array().unwrap().len(), 3);
    app.get("/admin/adjustments?status=maybe", &boris)
        .await
        .expect_problem(422, "validation_failed");
    post(&app, "/admin/adjustments/999999/approve", &boris, json!({}))
        .await
        .expect_problem(404, "not_found");

    // The history says why, and the audit log has every step.
    let history = app.get("/me/history?limit=1", &customer).await.expect(200);
    assert_eq!(
        history["items"][0]["description"],
        "Корректировка: Компенсация по жалобе 77"
    );
    let audit = app.get("/admin/audit?limit=20", &anna).await.expect(200);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("points.adjust"))
        .collect();
    assert_eq!(
        actions,
        [
            "points.adjust.reject",
            "points.adjust.request",
            "points.adjust.reject",
            "points.adjust.approve",
            "points.adjust.request",
            "points.adjust.request",
        ]
    );

    // The audit log narrows by who, what and when, and downloads as CSV.
    let approval = &audit.as_array().unwrap()[actions
        .iter()
        .position(|a| *a == "points.adjust.approve")
        .unwrap()];
    let anna_id = approval["actor"]
        .as_str()
        .unwrap()
        .strip_prefix("staff:")
        .unwrap();
    let by_anna = app
        .get(
            &format!("/admin/audit?staff={anna_id}&entity=adjustment"),
            &boris,
        )
        .await
        .expect(200);
    let by_anna: Vec<&str> = by_anna
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(by_anna, ["points.adjust.approve", "points.adjust.request"]);
    let about_one = app
        .get(&format!("/admin/audit?entity=adjustment:{id}"), &boris)
        .await
        .expect(200);
    assert_eq!(about_one.as_array().unwrap().len(), 2, "{about_one}");
    let members = app
        .get("/admin/audit?entity=member", &boris)
        .await
        .expect(200);
    assert!(members
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["subject"].as_str().unwrap().starts_with("member:")));
    let none_yet = app
        .get("/admin/audit?from=2099-01-01", &boris)
        .await
        .expect(200);
    assert_eq!(none_yet, serde_json::json!([]));
    for bad in [
        "staff=anna",
        "entity=Member",
        "from=вчера",
        "from=2026-12-02&to=2026-12-01",
    ] {
        app.get(&format!("/admin/audit?{bad}"), &boris)
            .await
            .expect_problem(422, "validation_failed");
    }
    app.get("/admin/audit", &support)
        .await
        .expect_problem(403, "forbidden");
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/admin/audit.csv?entity=adjustment",
            app.base
        ))
        .bearer_auth(&boris)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,at,actor,action,subject,details"));
    assert_eq!(lines.count(), 6, "{csv}");
    assert!(csv.contains("Компенсация по жалобе 77"));
    app.assert_ledger_balanced().await;
}

async fn two_administrators_approving_at_once_apply_it_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (customer, _, member) = app.register("89994440002").await;
    let support = app.staff_token("olga", &[Role::Support]).await;
    let admins = [
        app.staff_token("anna", &[Role::Admin]).await,
        app.staff_token("boris", &[Role::Admin]).await,
        app.staff_token("vera", &[Role::Admin]).await,
    ];
    let before = balance(&app, &customer).await;
    for round in 0..5 {
        let waiting = post(
            &app,
            &format!("/admin/members/{member}/adjustments"),
            &support,
            json!({ "points": 6000, "reason": format!("Компенсация {round}") }),
        )
        .await
        .expect(202);
        let approve = format!("/admin/adjustments/{}/approve", waiting["id"]);
        let answers = futures_util::future::join_all(
            admins.iter().map(|t| post(&app, &approve, t, json!({}))),
        )
        .await;
        let mut statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409, 409], "round {round}");
        for lost in answers.iter().filter(|a| a.status == 409) {
            lost.expect_problem(409, "state_conflict");
        }
    }
    assert_eq!(balance(&app, &customer).await, before + 5 * 6000);
    app.assert_ledger_balanced().await;
}

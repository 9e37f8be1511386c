//! A store manager opens a store's till in the back office, the till works with the key shown
//! once, and once revoked the key is refused.

use crate::helpers::{eventually, Backend, TestApp};
use crate::on_both_stores;
use crate::till::pos;
use kopilka_domain::staff::Role;
use serde_json::json;

on_both_stores!(a_store_manager_opens_lists_and_revokes_a_till);

async fn a_store_manager_opens_lists_and_revokes_a_till(backend: Backend) {
    let app = &TestApp::spawn(backend).await;
    let manager = app.staff_token("manager", &[Role::StoreManager]).await;
    let support = app.staff_token("support", &[Role::Support]).await;
    let (_, card, _) = app.register("+79995557001").await;

    let open = |token: String, body: serde_json::Value| async move {
        app.request("POST", "/api/v1/admin/tills", Some(&token), Some(body))
            .await
    };
    // Support may not; an unknown store or kind is refused by field, and nothing is opened.
    open(support.clone(), json!({ "store_id": 1 }))
        .await
        .expect_problem(403, "forbidden");
    open(manager.clone(), json!({ "store_id": 999_999 }))
        .await
        .expect_invalid();
    let bad_kind = open(
        manager.clone(),
        json!({ "store_id": 1, "kind": "drive_in" }),
    )
    .await;
    assert_eq!(bad_kind.fields(), vec!["kind"]);
    let listed = app.get("/admin/tills", &manager).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);

    let opened = open(
        manager.clone(),
        json!({ "store_id": 2, "kind": "self_checkout" }),
    )
    .await
    .expect(201);
    let key = opened["key"].as_str().unwrap().to_owned();
    let id = opened["id"].as_i64().unwrap();
    assert_eq!(opened["store_id"], 2);
    assert_eq!(opened["kind"], "self_checkout");
    assert_eq!(opened["status"], "active");
    pos(app, &key, "/identify", json!({ "barcode": card }))
        .await
        .expect(200);

    // Listed (by store too), the key never again.
    let listed = app
        .get("/admin/tills?store_id=2", &manager)
        .await
        .expect(200);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id);
    assert!(items[0].get("key").is_none());
    let other_store = app
        .get("/admin/tills?store_id=1", &manager)
        .await
        .expect(200);
    assert_eq!(other_store["items"].as_array().unwrap().len(), 0);

    app.request(
        "POST",
        &format!("/api/v1/admin/tills/{id}/revoke"),
        Some(&manager),
        None,
    )
    .await
    .expect(204);
    app.request(
        "POST",
        &format!("/api/v1/admin/tills/{id}/revoke"),
        Some(&manager),
        None,
    )
    .await
    .expect_problem(404, "not_found");
    eventually(|| async {
        pos(app, &key, "/identify", json!({ "barcode": card }))
            .await
            .status
            == 401
    })
    .await;
    let listed = app.get("/admin/tills", &manager).await.expect(200);
    assert_eq!(listed["items"][0]["status"], "revoked");

    // Both steps are in the audit log under the manager's name.
    let admin = app.staff_token("admin", &[Role::Admin]).await;
    let audit = app
        .get("/admin/audit?entity=till", &admin)
        .await
        .expect(200);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"till.create"), "{audit}");
    assert!(actions.contains(&"till.revoke"), "{audit}");
}

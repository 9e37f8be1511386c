use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use kopilka_domain::password::NewPassword;
use kopilka_domain::staff::Role;
use serde_json::json;

on_both_stores!(
    staff_sign_in_roles_and_audit,
    tokens_of_one_kind_are_refused_elsewhere
);

async fn create_staff(app: &TestApp, login: &str, roles: &[Role]) {
    let password = NewPassword::parse("служебный-пароль", 6, &[]).unwrap();
    app.kopilka
        .create_staff(login, &password, roles)
        .await
        .unwrap();
}

async fn staff_sign_in_roles_and_audit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_staff(&app, "anna", &[Role::Admin]).await;
    create_staff(&app, "oleg", &[Role::Support, Role::Marketing]).await;

    let anna = app
        .post(
            "/admin/auth/login",
            json!({ "login": "anna", "password": "служебный-пароль" }),
        )
        .await
        .expect(200);
    assert_eq!(anna["roles"], json!(["admin"]));
    let oleg = app
        .post(
            "/admin/auth/login",
            json!({ "login": "Oleg", "password": "служебный-пароль" }),
        )
        .await
        .expect(200);
    assert_eq!(oleg["roles"], json!(["marketing", "support"]));
    app.post(
        "/admin/auth/login",
        json!({ "login": "anna", "password": "wrong" }),
    )
    .await
    .expect_problem(401, "invalid_credentials");
    app.post(
        "/admin/auth/login",
        json!({ "login": "nobody", "password": "wrong" }),
    )
    .await
    .expect_problem(401, "invalid_credentials");

    let audit = app
        .get("/admin/audit?limit=10", anna["token"].as_str().unwrap())
        .await
        .expect(200);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["staff.create", "staff.create"]);
    assert_eq!(audit[0]["details"]["login"], "oleg");
    assert_eq!(audit[0]["actor"], "cli");
    app.get("/admin/audit", oleg["token"].as_str().unwrap())
        .await
        .expect_problem(403, "forbidden");

    // A taken login is refused.
    let password = NewPassword::parse("служебный-пароль", 6, &[]).unwrap();
    assert!(app
        .kopilka
        .create_staff("anna", &password, &[Role::Hr])
        .await
        .is_err());
}

async fn tokens_of_one_kind_are_refused_elsewhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_staff(&app, "anna", &[Role::Admin]).await;
    let staff = app
        .post(
            "/admin/auth/login",
            json!({ "login": "anna", "password": "служебный-пароль" }),
        )
        .await
        .expect(200);
    let staff_token = staff["token"].as_str().unwrap();
    let (customer_token, _, _) = app.register("89994440001").await;
    app.get("/me", staff_token)
        .await
        .expect_problem(401, "unauthorized");
    app.get("/admin/audit", &customer_token)
        .await
        .expect_problem(401, "unauthorized");
    let registration = app.registration_token("89994440002").await;
    app.get("/me", &registration)
        .await
        .expect_problem(401, "unauthorized");
}

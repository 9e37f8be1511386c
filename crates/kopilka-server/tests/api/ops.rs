use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use serde_json::json;

on_both_stores!(
    health_metrics_and_docs,
    bad_requests_are_problems,
    problems_speak_the_clients_language,
    overload_is_refused_at_once_not_queued,
);

async fn health_metrics_and_docs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.request("GET", "/healthz", None, None).await.expect(200),
        "ok"
    );
    assert_eq!(
        app.request("GET", "/readyz", None, None).await.expect(200),
        "ready"
    );
    app.post("/auth/otp", json!({ "phone": "89995550001" }))
        .await
        .expect(202);

    let metrics = app.request("GET", "/metrics", None, None).await.expect(200);
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains(
            r#"kopilka_http_requests_total{method="POST",route="/api/v1/auth/otp",status="202"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("kopilka_http_request_duration_seconds_bucket"));

    let answer = app.request("GET", "/healthz", None, None).await;
    assert!(answer.headers.contains_key("x-request-id"));

    let spec = app
        .request("GET", "/api/v1/openapi.json", None, None)
        .await
        .expect(200);
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(
        spec["servers"][0]["url"], "/api/v1",
        "paths are relative to the base path"
    );
    for path in [
        "/auth/otp",
        "/auth/otp/verify",
        "/auth/register",
        "/auth/login",
        "/auth/password-reset",
        "/auth/password-reset/confirm",
        "/auth/logout",
        "/me",
        "/me/favourite-category",
        "/me/balance",
        "/me/history",
        "/me/cards",
        "/categories",
        "/admin/auth/login",
        "/admin/audit",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(spec["components"]["schemas"].get("Problem").is_some());

    let page = app
        .client
        .get(format!("{}/api/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("/api/v1/auth/otp/verify") && html.contains("problem-otp_attempts_exceeded")
    );

    let categories = app
        .request("GET", "/api/v1/categories", None, None)
        .await
        .expect(200);
    assert!(categories
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "Молочные продукты" && c["parent_id"] == 1));
    let stores = app
        .request("GET", "/api/v1/stores?city=Казань", None, None)
        .await
        .expect(200);
    assert_eq!(stores.as_array().unwrap().len(), 2);
}

/// Russian unless the client prefers English: the title, the detail and every field's message.
async fn problems_speak_the_clients_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let answer = |language: Option<&'static str>| {
        let mut request = app
            .client
            .post(format!("{}/api/v1/auth/otp", app.base))
            .json(&json!({ "phone": "12345" }));
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        async move {
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), 422);
            answer.json::<serde_json::Value>().await.unwrap()
        }
    };
    let russian = answer(None).await;
    assert_eq!(russian["code"], "validation_failed");
    assert_eq!(russian["title"], "Ошибка в запросе");
    assert_eq!(
        russian["errors"][0]["message"],
        "Введите номер мобильного телефона России, например +7 999 123-45-67"
    );
    let english = answer(Some("en-GB,en;q=0.9,ru;q=0.5")).await;
    assert_eq!(english["code"], "validation_failed");
    assert_eq!(english["title"], "Invalid request");
    assert_eq!(english["errors"][0]["field"], "phone");
    assert_eq!(
        english["errors"][0]["message"],
        "Enter a Russian mobile number, for example +7 999 123-45-67"
    );
    assert!(english["detail"].as_str().unwrap().contains("`errors`"));
    // A language we have no catalogue for falls back to Russian.
    assert_eq!(answer(Some("de")).await["title"], "Ошибка в запросе");
    // An address no route serves answers in it too.
    let missing = app
        .client
        .get(format!("{}/api/v1/nowhere", app.base))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.json::<serde_json::Value>().await.unwrap()["title"],
        "Not found"
    );
}

async fn bad_requests_are_problems(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.request("GET", "/api/v1/nowhere", None, None)
        .await
        .expect_problem(404, "not_found");
    app.request("DELETE", "/api/v1/auth/otp", None, None)
        .await
        .expect_problem(405, "method_not_allowed");

    let raw = app
        .client
        .post(format!("{}/api/v1/auth/otp", app.base))
        .header("content-type", "application/json")
        .body("{\"phone\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(raw.headers()["content-type"], "application/problem+json");

    let big = "9".repeat(100 * 1024);
    let answer = app.post("/auth/otp", json!({ "phone": big })).await;
    answer.expect_problem(413, "payload_too_large");
    // Query strings and path parameters that do not parse are problems too.
    let root = app
        .staff_token("root", &[kopilka_domain::staff::Role::Admin])
        .await;
    let root = root.as_str();
    app.get("/admin/audit?limit=abc", root)
        .await
        .expect_problem(400, "validation_failed");
    app.request(
        "POST",
        "/api/v1/admin/members/abc/adjustments",
        Some(root),
        Some(json!({ "points": 1, "reason": "тест" })),
    )
    .await
    .expect_problem(404, "not_found");
    let answer = app
        .post("/auth/otp", json!({ "phone": 79991234567u64 }))
        .await;
    answer.expect_problem(400, "validation_failed");
    assert_eq!(answer.fields(), ["phone"]);
}

async fn overload_is_refused_at_once_not_queued(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.max_in_flight = 1).await;
    app.register("89995550077").await;
    // Password sign-ins are slow on purpose (argon2): sixteen at once overlap.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, url) = (
            app.client.clone(),
            format!("{}/api/v1/auth/login", app.base),
        );
        tasks.spawn(async move {
            let body = json!({ "login": "89995550077", "password": crate::helpers::PASSWORD });
            let res = client.post(url).json(&body).send().await.unwrap();
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let problem: serde_json::Value = res.json().await.unwrap();
            (status, retry_after, problem)
        });
    }
    let answers = tasks.join_all().await;
    let refused: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert!(
        !refused.is_empty(),
        "one in flight at a time: some must be refused"
    );
    for (_, retry_after, problem) in &refused {
        assert_eq!(problem["code"], "overloaded");
        assert_eq!(retry_after.as_deref(), Some("1"));
    }
    assert!(answers.iter().all(|a| matches!(a.0, 200 | 503)));
    // Health is outside the limit.
    app.request("GET", "/healthz", None, None).await.expect(200);
}

/// Past `max_connections` open connections, a new one waits to be accepted until one closes.
/// The store plays no part: SQLite only.
#[tokio::test]
async fn connections_past_the_bound_wait_until_one_closes() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_connections = 1).await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let holder = tokio::net::TcpStream::connect(&address).await.unwrap();
    // A client of its own: no connection of the shared client's pool can slip in.
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(500))
        .build()
        .unwrap();
    let url = format!("http://{address}/healthz");
    assert!(
        client.get(&url).send().await.is_err(),
        "served while the only place was taken"
    );
    drop(holder);
    let answer = client.get(&url).send().await.unwrap();
    assert_eq!(answer.status(), 200);
}

/// A bounded connection with nothing read or written for `idle_connection_s` (never less than
/// a request's timeout) is closed, and its place goes to the next client.
#[tokio::test]
async fn an_idle_connection_is_closed_and_its_place_freed() {
    use tokio::io::AsyncReadExt;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.max_connections = 1;
        s.request_timeout_s = 1;
        s.idle_connection_s = 1;
    })
    .await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let started = std::time::Instant::now();
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), idle.read(&mut byte))
        .await
        .expect("closed within 10 s")
        .unwrap();
    assert_eq!(read, 0, "the server closed the connection");
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(2),
        "idle for {waited:?}: the timeout is at least the request timeout, 1 s, plus one"
    );
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(500))
        .build()
        .unwrap();
    let answer = client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

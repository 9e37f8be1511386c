//! The HTTP SMS provider against a receiver this test starts on loopback.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use kopilka_server::settings::Settings;
use kopilka_server::{Application, Dependencies};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

type Inbox = Arc<Mutex<Vec<(Option<String>, Value)>>>;

async fn receive(
    State((inbox, status)): State<(Inbox, StatusCode)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    inbox.lock().unwrap().push((auth, body));
    status
}

async fn receiver(status: StatusCode) -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let app = Router::new()
        .route("/sms", post(receive))
        .with_state((inbox.clone(), status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

async fn app_with_webhook(url: String, dir: &tempfile::TempDir) -> String {
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.path().join("k.db").display()),
        sms_webhook_url: Some(url),
        sms_webhook_token: Some("provider-secret".parse().unwrap()),
        ..Settings::default()
    };
    let app = Application::build(&settings, Dependencies::default())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

#[tokio::test]
async fn codes_go_to_the_webhook_with_its_token() {
    let (url, inbox) = receiver(StatusCode::OK).await;
    let dir = tempfile::tempdir().unwrap();
    let base = app_with_webhook(url, &dir).await;
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/otp"))
        .json(&json!({ "phone": "8 999 123 45 67" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.as_deref(), Some("Bearer provider-secret"));
    assert_eq!(got[0].1["phone"], "+79991234567");
    let text = got[0].1["text"].as_str().unwrap();
    assert!(
        text.chars().filter(char::is_ascii_digit).count() == 6,
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_provider_is_a_503_not_a_500() {
    let (url, inbox) = receiver(StatusCode::BAD_GATEWAY).await;
    let dir = tempfile::tempdir().unwrap();
    let base = app_with_webhook(url, &dir).await;
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/otp"))
        .json(&json!({ "phone": "89991234567" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "sms_unavailable");
    assert_eq!(inbox.lock().unwrap().len(), 1);
}

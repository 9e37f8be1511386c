//! The HTTP SMS provider against a receiver this test starts on loopback, and the queue in
//! front of every sender: requests never wait for the provider, and refused messages are
//! tried again.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use kopilka_server::settings::Settings;
use kopilka_server::{Application, Dependencies};
use kopilka_service::Kopilka;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the receiver got, and how it behaves: it refuses the first `failures` messages with
/// 502 and answers each after `delay_ms`.
#[derive(Default)]
struct Provider {
    inbox: Mutex<Vec<(Option<String>, Value, StatusCode)>>,
    failures: AtomicUsize,
    delay_ms: AtomicU64,
}

impl Provider {
    fn received(&self) -> Vec<(Option<String>, Value, StatusCode)> {
        self.inbox.lock().unwrap().clone()
    }
}

async fn receive(
    State(provider): State<Arc<Provider>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    tokio::time::sleep(Duration::from_millis(
        provider.delay_ms.load(Ordering::SeqCst),
    ))
    .await;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let failing = provider
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if failing {
        StatusCode::BAD_GATEWAY
    } else {
        StatusCode::OK
    };
    provider.inbox.lock().unwrap().push((auth, body, status));
    status
}

async fn receiver() -> (String, Arc<Provider>) {
    let provider = Arc::new(Provider::default());
    let app = Router::new()
        .route("/sms", post(receive))
        .with_state(provider.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, provider)
}

async fn app_with_webhook(url: String, dir: &tempfile::TempDir) -> (String, Kopilka) {
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.path().join("k.db").display()),
        sms_webhook_url: Some(url),
        sms_webhook_token: Some("provider-secret".parse().unwrap()),
        sms_retry_ms: 20,
        ..Settings::default()
    };
    let app = Application::build(&settings, Dependencies::default())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let kopilka = app.kopilka().clone();
    tokio::spawn(app.run_until_stopped());
    (base, kopilka)
}

async fn send(url: String, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn codes_go_to_the_webhook_with_its_token() {
    let (url, provider) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, kopilka) = app_with_webhook(url, &dir).await;
    let (status, _) = send(
        format!("{base}/api/v1/auth/otp"),
        json!({ "phone": "8 999 123 45 67" }),
    )
    .await;
    assert_eq!(status, 202);
    kopilka.sms_flushed().await;
    let got = provider.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.as_deref(), Some("Bearer provider-secret"));
    assert_eq!(got[0].1["phone"], "+79991234567");
    let text = got[0].1["text"].as_str().unwrap();
    assert_eq!(code_in(text).len(), 6, "{text}");
}

#[tokio::test]
async fn a_refused_message_is_tried_again_after_the_answer() {
    let (url, provider) = receiver().await;
    provider.failures.store(2, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let (base, kopilka) = app_with_webhook(url, &dir).await;
    let (status, _) = send(
        format!("{base}/api/v1/auth/otp"),
        json!({ "phone": "89991234567" }),
    )
    .await;
    assert_eq!(status, 202, "the provider's trouble is not the client's");
    kopilka.sms_flushed().await;
    let got = provider.received();
    let statuses: Vec<u16> = got.iter().map(|(_, _, s)| s.as_u16()).collect();
    assert_eq!(statuses, [502, 502, 200]);
    // The same message each time: the code that works.
    assert!(got.windows(2).all(|w| w[0].1 == w[1].1));
}

/// Password reset answers before any SMS is sent, so a login that exists (an SMS to send)
/// and one that does not (nothing to send) take the same time, however slow the provider.
#[tokio::test]
async fn password_reset_answers_alike_for_known_and_unknown_logins() {
    let (url, provider) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, kopilka) = app_with_webhook(url, &dir).await;
    kopilka_server::seed::demo(&kopilka).await.unwrap();
    let api = format!("{base}/api/v1");
    // A customer, registered with the code the provider received.
    send(format!("{api}/auth/otp"), json!({ "phone": "89991234567" })).await;
    kopilka.sms_flushed().await;
    let text = provider.received()[0].1["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, verified) = send(
        format!("{api}/auth/otp/verify"),
        json!({ "phone": "89991234567", "code": code_in(&text) }),
    )
    .await;
    let (status, _) = send(
        format!("{api}/auth/register"),
        json!({
            "registration_token": verified["registration_token"],
            "last_name": "Иванова", "gender": "female", "birth_date": "1990-05-17",
            "city": "Москва", "favourite_category_id": 10,
            "consents": { "personal_data": true, "newsletters": false },
            "password": "Ветер-в-поле-2026",
        }),
    )
    .await;
    assert_eq!(status, 201);

    provider.delay_ms.store(3000, Ordering::SeqCst);
    let timed = |login: &'static str| {
        let api = api.clone();
        async move {
            let started = Instant::now();
            let (status, _) = send(
                format!("{api}/auth/password-reset"),
                json!({ "login": login }),
            )
            .await;
            assert_eq!(status, 202);
            started.elapsed()
        }
    };
    let known = timed("89991234567").await;
    let unknown = timed("89990000000").await;
    assert!(
        known < Duration::from_millis(1500) && unknown < Duration::from_millis(1500),
        "known {known:?}, unknown {unknown:?}: an answer waited for the provider"
    );
    kopilka.sms_flushed().await;
    let sent = provider.received();
    assert_eq!(sent.len(), 2, "the known login got its recovery code");
    assert!(sent[1].1["text"].as_str().unwrap().contains("смены пароля"));
}

//! Every test's server logs into one buffer, at debug level, so that a story can check what
//! reached the logs: never a password, a code or a token.

use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::on_both_stores;
use serde_json::json;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Buffer;

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                "info,kopilka_server=debug,kopilka_service=debug,tower_http=debug,sqlx=debug",
            )
            .with_writer(|| Buffer)
            .with_ansi(false)
            .without_time()
            .try_init();
    });
}

/// Whether `needle` stands in `haystack` as a whole word: a six-digit code may well occur
/// inside a longer number (an id, a UUID) without being a leak.
fn contains_word(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

pub fn logged() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

on_both_stores!(no_password_code_or_token_reaches_the_log);

async fn no_password_code_or_token_reaches_the_log(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let phone = match backend {
        Backend::Sqlite => "89997770001",
        Backend::Postgres => "89997770002",
    };
    let mut secrets = vec![PASSWORD.to_owned()];
    app.post("/auth/otp", json!({ "phone": phone }))
        .await
        .expect(202);
    let code = app.last_code(phone).await;
    secrets.push(code.clone());
    let verified = app
        .post("/auth/otp/verify", json!({ "phone": phone, "code": code }))
        .await
        .expect(200);
    let registration = verified["registration_token"].as_str().unwrap().to_owned();
    secrets.push(registration.clone());
    let registered = app
        .post("/auth/register", TestApp::registration_form(&registration))
        .await
        .expect(201);
    secrets.push(registered["token"].as_str().unwrap().to_owned());
    let card = registered["card"]["number"].as_str().unwrap().to_owned();
    let signed = app
        .post(
            "/auth/login",
            json!({ "login": card, "password": PASSWORD }),
        )
        .await
        .expect(200);
    secrets.push(signed["token"].as_str().unwrap().to_owned());
    app.post(
        "/auth/login",
        json!({ "login": card, "password": "неверный-пароль" }),
    )
    .await;
    secrets.push("неверный-пароль".to_owned());
    app.post("/auth/password-reset", json!({ "login": card }))
        .await
        .expect(202);
    let reset_code = app.last_code(phone).await;
    secrets.push(reset_code.clone());
    let reset = app
        .post(
            "/auth/password-reset/confirm",
            json!({ "login": card, "code": reset_code, "password": "сменённый-пароль" }),
        )
        .await
        .expect(200);
    secrets.push("сменённый-пароль".to_owned());
    secrets.push(reset["token"].as_str().unwrap().to_owned());
    app.get("/me", reset["token"].as_str().unwrap())
        .await
        .expect(200);

    let logs = logged();
    assert!(logs.contains("registered"), "the flow was logged at all");
    for secret in &secrets {
        assert!(
            !contains_word(&logs, secret),
            "a secret reached the log: {secret}"
        );
    }
}

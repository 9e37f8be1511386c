//! The SMS senders: a JSON-lines outbox (development and tests), the log (nothing
//! configured), and a JSON webhook (a real provider or a gateway in front of one).

use async_trait::async_trait;
use chrono::Utc;
use kopilka_domain::Phone;
use kopilka_service::sms::{SmsError, SmsSender};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// Appends `{"phone","text","at"}` lines to a file. Lines are written whole under a lock, so
/// concurrent messages never interleave.
pub struct OutboxSms {
    path: PathBuf,
    lock: Mutex<()>,
}

impl OutboxSms {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }
}

#[async_trait]
impl SmsSender for OutboxSms {
    async fn send(&self, phone: &Phone, text: &str) -> Result<(), SmsError> {
        let mut line =
            serde_json::json!({ "phone": phone.as_str(), "text": text, "at": Utc::now() })
                .to_string();
        line.push('\n');
        let _guard = self.lock.lock().await;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| SmsError(format!("outbox {}: {e}", self.path.display())))?;
        // tokio's File hands writes to a blocking thread; flush waits for this one to land.
        file.write_all(line.as_bytes())
            .await
            .map_err(|e| SmsError(format!("outbox {}: {e}", self.path.display())))?;
        file.flush()
            .await
            .map_err(|e| SmsError(format!("outbox {}: {e}", self.path.display())))?;
        Ok(())
    }
}

/// Used when no provider is configured. Writes the message to the log with its digits hidden:
/// codes never reach a log. Set `KOPILKA_SMS_OUTBOX` to read them in development.
pub struct LogSms;

#[async_trait]
impl SmsSender for LogSms {
    async fn send(&self, phone: &Phone, text: &str) -> Result<(), SmsError> {
        let redacted: String = text
            .chars()
            .map(|c| if c.is_ascii_digit() { '•' } else { c })
            .collect();
        tracing::warn!(phone = %phone.masked(), text = %redacted, "SMS not sent: no provider configured (set KOPILKA_SMS_OUTBOX or KOPILKA_SMS_WEBHOOK_URL)");
        Ok(())
    }
}

/// POSTs `{"phone": "+7…", "text": "…"}` to a URL, with a bearer token if one is set. Any
/// 2xx answer means accepted.
pub struct WebhookSms {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl WebhookSms {
    pub fn new(url: String, token: Option<String>) -> Result<Self, SmsError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| SmsError(format!("SMS client: {e}")))?;
        Ok(Self { client, url, token })
    }
}

#[async_trait]
impl SmsSender for WebhookSms {
    async fn send(&self, phone: &Phone, text: &str) -> Result<(), SmsError> {
        let mut request = self
            .client
            .post(&self.url)
            .json(&serde_json::json!({ "phone": phone.as_str(), "text": text }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| SmsError(format!("SMS webhook: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SmsError(format!("SMS webhook answered {status}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outbox_appends_one_json_line_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let outbox = OutboxSms::new(path.clone());
        let phone = Phone::parse("89991234567").unwrap();
        outbox.send(&phone, "код 123456").await.unwrap();
        outbox.send(&phone, "код 654321").await.unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["phone"], "+79991234567");
        assert_eq!(lines[1]["text"], "код 654321");
        assert!(lines[0]["at"].as_str().unwrap().ends_with('Z'));
    }
}

use async_trait::async_trait;
use kopilka_domain::Phone;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SmsError(pub String);

/// Something that delivers a text message. Implementations: the JSON-lines outbox, the log,
/// an HTTP provider (in the server crate), and [`RecordingSms`] for tests.
#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, phone: &Phone, text: &str) -> Result<(), SmsError>;
}

/// Keeps every message in memory.
#[derive(Debug, Default)]
pub struct RecordingSms {
    sent: Mutex<Vec<(Phone, String)>>,
}

impl RecordingSms {
    pub fn sent(&self) -> Vec<(Phone, String)> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl SmsSender for RecordingSms {
    async fn send(&self, phone: &Phone, text: &str) -> Result<(), SmsError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((phone.clone(), text.to_owned()));
        Ok(())
    }
}

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

/// Delivers messages in the background, so that no request waits for the provider (a
/// password-reset answer that waited would tell by its timing whether the login exists), and
/// retries a message the provider refused, with pauses that double, before giving it up.
/// Messages still queued when the process stops are lost: a customer asks for another code.
pub struct SmsQueue {
    queue: tokio::sync::mpsc::Sender<(Phone, String)>,
    pending: std::sync::Arc<tokio::sync::watch::Sender<usize>>,
}

/// Messages waiting at most; past it a message is dropped (and logged), not queued.
const QUEUE_CAPACITY: usize = 10_000;
/// Messages being delivered at once.
const DELIVERIES_AT_ONCE: usize = 16;

/// How the queue retries.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    pub attempts: u32,
    pub first_pause: std::time::Duration,
}

impl SmsQueue {
    /// Starts the delivery task on the current runtime.
    pub fn start(sender: std::sync::Arc<dyn SmsSender>, retries: Retries) -> Self {
        let (queue, mut inbox) = tokio::sync::mpsc::channel::<(Phone, String)>(QUEUE_CAPACITY);
        let pending = std::sync::Arc::new(tokio::sync::watch::channel(0usize).0);
        let done = pending.clone();
        tokio::spawn(async move {
            let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(DELIVERIES_AT_ONCE));
            while let Some((phone, text)) = inbox.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (sender, done) = (sender.clone(), done.clone());
                tokio::spawn(async move {
                    deliver(sender.as_ref(), &phone, &text, retries).await;
                    done.send_modify(|n| *n = n.saturating_sub(1));
                    drop(slot);
                });
            }
        });
        Self { queue, pending }
    }

    /// Queues a message; it is sent after the caller has its answer.
    pub fn enqueue(&self, phone: &Phone, text: String) {
        self.pending.send_modify(|n| *n += 1);
        if self.queue.try_send((phone.clone(), text)).is_err() {
            self.pending.send_modify(|n| *n = n.saturating_sub(1));
            tracing::error!(phone = %phone.masked(), "SMS dropped: the queue is full");
        }
    }

    /// Waits until every queued message was delivered or given up.
    pub async fn flushed(&self) {
        let mut rx = self.pending.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

async fn deliver(sender: &dyn SmsSender, phone: &Phone, text: &str, retries: Retries) {
    let mut pause = retries.first_pause;
    for attempt in 1..=retries.attempts.max(1) {
        match sender.send(phone, text).await {
            Ok(()) => return,
            Err(e) if attempt < retries.attempts => {
                tracing::warn!(phone = %phone.masked(), attempt, error = %e, "SMS not sent; trying again");
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
            Err(e) => {
                tracing::error!(phone = %phone.masked(), attempt, error = %e, "SMS given up");
            }
        }
    }
}

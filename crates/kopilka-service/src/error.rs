use kopilka_domain::DomainError;
use kopilka_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A rule said no; the client can do something about it.
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The SMS provider did not take the message.
    #[error("sms: {0}")]
    Sms(#[from] crate::sms::SmsError),
    #[error("internal: {0}")]
    Internal(String),
}

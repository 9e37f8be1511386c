use kopilka_domain::DomainError;
use kopilka_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A rule said no; the client can do something about it.
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("storage: {0}")]
    Store(StoreError),
    /// The SMS provider did not take the message.
    #[error("sms: {0}")]
    Sms(#[from] crate::sms::SmsError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    /// A rule a store checked inside its transaction is the domain error it is; anything
    /// else is a storage failure.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule(d) => ServiceError::Domain(d),
            other => ServiceError::Store(other),
        }
    }
}

use kopilka_text::Message;
use serde::Serialize;

/// One invalid input field, as the API reports it in `errors: [{field, message}]`: the
/// message names its text, which the edge renders in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: Message,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<Message>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A business rule said no. Each variant is one stable error code of the public contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("authentication is required")]
    Unauthorized,
    #[error("wrong login or password")]
    InvalidCredentials,
    #[error("not allowed")]
    Forbidden,
    #[error("the profile must be completed first")]
    ProfileIncomplete { missing: Vec<&'static str> },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the code is wrong")]
    OtpInvalid,
    #[error("the code has expired; request a new one")]
    OtpExpired,
    #[error("too many wrong codes; request a new one")]
    OtpAttemptsExceeded,
    #[error("too many requests")]
    RateLimited { retry_after_s: u64 },
    #[error("the favourite category can be changed once a calendar month")]
    FavouriteCategoryLocked {
        next_change_at: chrono::DateTime<chrono::Utc>,
    },
    #[error("not enough points")]
    InsufficientPoints,
    #[error("this id was already used with a different request")]
    IdempotencyConflict,
    #[error("the card is blocked")]
    CardBlocked,
    #[error("the card is already bound")]
    CardAlreadyBound,
    #[error("this phone number is already registered")]
    PhoneTaken,
    /// What was asked does not fit where the thing now is (a request already rejected, a
    /// document already revoked).
    #[error("not allowed in its present state")]
    StateConflict,
    /// An uploaded file with bad rows: every one of them, by line; nothing was imported.
    #[error("the file has invalid rows")]
    InvalidRows(Vec<RowError>),
}

/// One bad row of an uploaded file; lines count from 1, the header included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: Message,
}

impl DomainError {
    pub fn field(field: &str, message: impl Into<Message>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

/// Collects every invalid field of a request so the client hears about all of them at once.
///
/// ```
/// use kopilka_domain::{Phone, Validation};
/// let mut v = Validation::default();
/// let phone = v.check("phone", Phone::parse("+7 (999) 123-45-67"));
/// let Some(phone) = phone else { return };
/// v.finish().unwrap();
/// assert_eq!(phone.as_str(), "+79991234567");
/// ```
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn check<T, E: Into<Message>>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(e) => {
                self.errors.push(FieldError::new(field, e));
                None
            }
        }
    }

    /// Like [`Validation::check`] for an optional input: `None` stays `None`, not an error.
    pub fn check_opt<T, E: Into<Message>>(
        &mut self,
        field: &str,
        parsed: Option<Result<T, E>>,
    ) -> Option<Option<T>> {
        match parsed {
            None => Some(None),
            Some(r) => self.check(field, r).map(Some),
        }
    }

    pub fn add(&mut self, field: &str, message: impl Into<Message>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn finish(self) -> Result<(), DomainError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self.errors))
        }
    }

    /// The error to return when a `let … else` found a field missing.
    pub fn into_error(self) -> DomainError {
        DomainError::Validation(self.errors)
    }
}

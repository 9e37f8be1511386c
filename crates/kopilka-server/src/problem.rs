//! Every problem the API answers with: its code, status, title and what it means. The answers
//! (`error.rs`) and the docs page's reference table (`docs.rs`) both read them from here.

use axum::http::StatusCode;

macro_rules! problem_codes {
    ($($variant:ident => $code:literal, $status:literal, $title:literal, $meaning:literal;)*) => {
        /// A problem's stable machine-readable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemCode {
            $($variant,)*
        }

        impl ProblemCode {
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $code,)*
                }
            }

            pub fn status(self) -> StatusCode {
                let status = match self {
                    $(ProblemCode::$variant => $status,)*
                };
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            pub fn title(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $title,)*
                }
            }

            /// What it means for a client, for the docs page.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $meaning,)*
                }
            }
        }
    };
}

problem_codes! {
    ValidationFailed => "validation_failed", 422, "Invalid request",
        "Some fields are invalid; `errors` lists them (400 when the body cannot be read at all).";
    Unauthorized => "unauthorized", 401, "Unauthorized", "No valid token of the kind this call needs.";
    InvalidCredentials => "invalid_credentials", 401, "Invalid credentials", "Wrong login or password.";
    Forbidden => "forbidden", 403, "Forbidden",
        "The token is valid but may not do this (for a support operator: an adjustment above their limit).";
    ProfileIncomplete => "profile_incomplete", 403, "Profile incomplete",
        "Fill in the required profile fields first; `missing_fields` lists them.";
    NotFound => "not_found", 404, "Not found", "Nothing is here.";
    MethodNotAllowed => "method_not_allowed", 405, "Method not allowed", "This path does not take this method.";
    OtpInvalid => "otp_invalid", 400, "Wrong code", "The code is wrong.";
    OtpExpired => "otp_expired", 400, "Code expired", "The code has expired; request a new one.";
    OtpAttemptsExceeded => "otp_attempts_exceeded", 400, "Too many wrong codes",
        "Too many wrong codes; request a new one.";
    RateLimited => "rate_limited", 429, "Too many requests", "Too many requests; wait `Retry-After` seconds.";
    FavouriteCategoryLocked => "favourite_category_locked", 409, "Favourite category locked",
        "Already changed this calendar month; `next_change_at` says when it may change.";
    InsufficientPoints => "insufficient_points", 409, "Not enough points", "Not enough points.";
    IdempotencyConflict => "idempotency_conflict", 409, "Idempotency conflict",
        "This id was already used with a different body.";
    CardBlocked => "card_blocked", 409, "Card blocked", "The card is blocked.";
    CardAlreadyBound => "card_already_bound", 409, "Card already bound", "The card is already yours.";
    PhoneTaken => "phone_taken", 409, "Phone already registered", "This phone is already registered.";
    PayloadTooLarge => "payload_too_large", 413, "Payload too large", "The request body is too large.";
    Timeout => "timeout", 503, "Request timed out",
        "The request took too long; try again after `Retry-After` seconds.";
    Overloaded => "overloaded", 503, "Overloaded", "Too many requests in flight; try again shortly.";
    ServiceUnavailable => "service_unavailable", 503, "Service unavailable",
        "The store is not reachable; try again shortly.";
    SmsUnavailable => "sms_unavailable", 503, "SMS unavailable",
        "The SMS provider did not take the message; try again shortly.";
    Internal => "internal", 500, "Internal error", "Something went wrong on our side; the request id is in the logs.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ProblemCode::ALL {
            assert!(seen.insert(code.as_str()), "{}", code.as_str());
            assert!(code
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }
}

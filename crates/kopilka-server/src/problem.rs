//! Every problem the API answers with: its code and status here, its title and what it means
//! in the message catalogues (`kopilka-text`), Russian and English. The answers (`error.rs`)
//! and the docs page's reference table (`docs.rs`) both read them from here.

use axum::http::StatusCode;
use kopilka_text::Lang;

macro_rules! problem_codes {
    ($($variant:ident => $code:literal, $status:literal;)*) => {
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

            /// The problem's title in `lang` (the catalogue's `problem_<code>`).
            pub fn title(self, lang: Lang) -> String {
                lang.texts().get(&format!("problem_{}", self.as_str())).to_owned()
            }

            /// What it means for a client, in `lang`: the answer's `detail` and the docs
            /// page's table (the catalogue's `problem_<code>_detail`).
            pub fn detail(self, lang: Lang) -> String {
                lang.texts()
                    .get(&format!("problem_{}_detail", self.as_str()))
                    .to_owned()
            }
        }
    };
}

problem_codes! {
    ValidationFailed => "validation_failed", 422;
    Unauthorized => "unauthorized", 401;
    InvalidCredentials => "invalid_credentials", 401;
    Forbidden => "forbidden", 403;
    ProfileIncomplete => "profile_incomplete", 403;
    NotFound => "not_found", 404;
    MethodNotAllowed => "method_not_allowed", 405;
    OtpInvalid => "otp_invalid", 400;
    OtpExpired => "otp_expired", 400;
    OtpAttemptsExceeded => "otp_attempts_exceeded", 400;
    RateLimited => "rate_limited", 429;
    FavouriteCategoryLocked => "favourite_category_locked", 409;
    InsufficientPoints => "insufficient_points", 409;
    IdempotencyConflict => "idempotency_conflict", 409;
    CardBlocked => "card_blocked", 409;
    CardAlreadyBound => "card_already_bound", 409;
    PhoneTaken => "phone_taken", 409;
    StateConflict => "state_conflict", 409;
    PayloadTooLarge => "payload_too_large", 413;
    UnsupportedMediaType => "unsupported_media_type", 415;
    Timeout => "timeout", 503;
    Overloaded => "overloaded", 503;
    ServiceUnavailable => "service_unavailable", 503;
    SmsUnavailable => "sms_unavailable", 503;
    Internal => "internal", 500;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_has_a_title_and_a_detail_in_each_language() {
        for code in ProblemCode::ALL {
            for lang in Lang::ALL {
                assert!(
                    !code.title(lang).starts_with("problem_"),
                    "{}",
                    code.as_str()
                );
                assert!(
                    !code.detail(lang).starts_with("problem_"),
                    "{}",
                    code.as_str()
                );
            }
        }
    }

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

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

/// A new password that passed the policy. Debug never shows it.
#[derive(Clone)]
pub struct NewPassword(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("shorter than {0} characters")]
    TooShort(usize),
    #[error("too long")]
    TooLong,
    #[error("too common")]
    Common,
    #[error("the same as the login")]
    SameAsLogin,
}

impl From<WeakPassword> for kopilka_text::Message {
    fn from(e: WeakPassword) -> Self {
        match e {
            WeakPassword::TooShort(min) => {
                kopilka_text::Message::new("password_too_short").with("min", min)
            }
            WeakPassword::TooLong => "password_too_long".into(),
            WeakPassword::Common => "password_common".into(),
            WeakPassword::SameAsLogin => "password_same_as_login".into(),
        }
    }
}

/// Longer passwords only cost hashing time and add nothing (argon2 takes any length).
const MAX_CHARS: usize = 128;

/// The seed's shortest password; no setting goes below it.
pub const MIN_CHARS_FLOOR: usize = 6;

/// The service's and the chain's names, in Latin and Cyrillic: the first words an attacker
/// tries against this service, with digits and signs around them.
const SERVICE_NAMES: [&str; 6] = [
    "kopilka",
    "копилка",
    "karusel",
    "karousel",
    "карусель",
    "karusell",
];

/// The letters of a password are one of those names, once or repeated.
fn is_service_name(letters: &str) -> bool {
    SERVICE_NAMES.iter().any(|name| {
        !letters.is_empty()
            && letters.len().is_multiple_of(name.len())
            && letters == name.repeat(letters.len() / name.len())
    })
}

static COMMON: OnceLock<HashSet<&'static str>> = OnceLock::new();

fn common_passwords() -> &'static HashSet<&'static str> {
    COMMON.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

impl NewPassword {
    /// NIST SP 800-63B: a minimum length, no composition rules, refuse known-common passwords
    /// and the user's own identifiers (`logins`: their phone digits, card numbers).
    pub fn parse(input: &str, min_chars: usize, logins: &[&str]) -> Result<Self, WeakPassword> {
        let min_chars = min_chars.max(MIN_CHARS_FLOOR);
        let chars = input.chars().count();
        if chars < min_chars {
            return Err(WeakPassword::TooShort(min_chars));
        }
        if chars > MAX_CHARS {
            return Err(WeakPassword::TooLong);
        }
        let lower = input.to_lowercase();
        // Only the letters: "Karusel-2026!" is the chain's name with a year.
        let letters: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
        if common_passwords().contains(lower.as_str())
            || lower.chars().all(|c| lower.starts_with(c))
            || is_service_name(&letters)
        {
            return Err(WeakPassword::Common);
        }
        // A number typed as the password: compare the last ten digits, which is the national
        // phone number whichever way it was written (+7…, 8…, 7…), and enough for a card too.
        let number_like = input
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c));
        let digits: String = input.chars().filter(char::is_ascii_digit).collect();
        if number_like
            && digits.len() >= 10
            && logins.iter().any(|login| {
                let login_digits: String = login.chars().filter(char::is_ascii_digit).collect();
                login_digits.len() >= 10
                    && login_digits[login_digits.len() - 10..] == digits[digits.len() - 10..]
            })
        {
            return Err(WeakPassword::SameAsLogin);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert!(NewPassword::parse("ёжик-в", 6, &[]).is_ok());
        assert_eq!(
            NewPassword::parse("ёжик", 6, &[]).unwrap_err(),
            WeakPassword::TooShort(6)
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_the_case() {
        for p in [
            "123456",
            "password",
            "Qwerty123",
            "йцукен",
            "1q2w3e4r",
            "aaaaaaaa",
        ] {
            assert_eq!(
                NewPassword::parse(p, 6, &[]).unwrap_err(),
                WeakPassword::Common,
                "{p}"
            );
        }
        assert!(NewPassword::parse("Ветер-в-поле-2026", 6, &[]).is_ok());
    }

    #[test]
    fn the_service_and_chain_names_are_refused() {
        for p in [
            "Kopilka2026",
            "копилка!!",
            "KARUSEL-1",
            "Карусель 2026",
            "karuselkarusel",
        ] {
            assert_eq!(
                NewPassword::parse(p, 6, &[]).unwrap_err(),
                WeakPassword::Common,
                "{p}"
            );
        }
        assert!(NewPassword::parse("моя-копилка-полна", 8, &[]).is_ok());
    }

    #[test]
    fn no_setting_goes_below_six() {
        assert_eq!(
            NewPassword::parse("лес-7", 2, &[]).unwrap_err(),
            WeakPassword::TooShort(6)
        );
    }

    #[test]
    fn the_login_itself_is_refused() {
        let logins = ["+79991234567", "2612345678906"];
        assert_eq!(
            NewPassword::parse("79991234567", 6, &logins).unwrap_err(),
            WeakPassword::SameAsLogin
        );
        assert_eq!(
            NewPassword::parse("9991234567", 6, &logins).unwrap_err(),
            WeakPassword::SameAsLogin
        );
        assert_eq!(
            NewPassword::parse("2612345678906", 6, &logins).unwrap_err(),
            WeakPassword::SameAsLogin
        );
        assert_eq!(
            NewPassword::parse("8 (999) 123-45-67", 6, &logins).unwrap_err(),
            WeakPassword::SameAsLogin
        );
        assert!(NewPassword::parse("tiger-7-lily", 6, &logins).is_ok());
    }
}

use std::fmt;

/// A Russian mobile number in E.164 (`+79991234567`). Only mobiles: the phone receives SMS codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Russian mobile number")]
pub struct InvalidPhone;

impl From<InvalidPhone> for kopilka_text::Message {
    fn from(_: InvalidPhone) -> Self {
        "phone_invalid".into()
    }
}

impl Phone {
    /// Accepts a number as people type it: `+7 (999) 123-45-67`, `89991234567`, `79991234567`,
    /// `9991234567`. Spaces, brackets, dashes and dots are ignored; letters are not.
    pub fn parse(input: &str) -> Result<Self, InvalidPhone> {
        let trimmed = input.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(11);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '(' | ')' | '-' | '.' | '\u{a0}' => {}
                _ => return Err(InvalidPhone),
            }
        }
        let national = match (plus, digits.len()) {
            (true, 11) if digits.starts_with('7') => &digits[1..],
            (false, 11) if digits.starts_with('7') || digits.starts_with('8') => &digits[1..],
            (false, 10) => &digits[..],
            _ => return Err(InvalidPhone),
        };
        if !national.starts_with('9') {
            return Err(InvalidPhone);
        }
        Ok(Self(format!("+7{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+7 999 ***-**-67`: enough for a person to recognise their own number.
    pub fn masked(&self) -> String {
        let d = &self.0;
        format!("+7 {} ***-**-{}", &d[2..5], &d[10..12])
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_ways_people_type_it() {
        for input in [
            "+7 (999) 123-45-67",
            "89991234567",
            "79991234567",
            "+79991234567",
            "9991234567",
            " 8 999 123 45 67 ",
        ] {
            assert_eq!(
                Phone::parse(input).unwrap().as_str(),
                "+79991234567",
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_russian_mobile() {
        for input in [
            "",
            "+1 999 123 4567",
            "+7 495 123-45-67",
            "8999123456",
            "899912345678",
            "+89991234567",
            "7999abc4567",
            "+7999123456７",
        ] {
            assert!(Phone::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn masks_the_middle() {
        assert_eq!(
            Phone::parse("89991234567").unwrap().masked(),
            "+7 999 ***-**-67"
        );
    }
}

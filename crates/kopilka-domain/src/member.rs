use crate::Phone;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

id_type!(
    /// A member's id.
    MemberId
);
pub type CategoryId = i64;
id_type!(
    /// A store's (a hypermarket's) id.
    StoreId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        match s {
            "male" => Ok(Self::Male),
            "female" => Ok(Self::Female),
            _ => Err("gender_invalid"),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }
}

/// The profile form of SPEC §1.4. Every field may be empty in storage: a card keyed in from a
/// paper form, or a customer who skipped the form, has a partial profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub city: Option<String>,
    pub email: Option<String>,
    pub favourite_store_id: Option<StoreId>,
    pub favourite_category_id: Option<CategoryId>,
}

impl Profile {
    /// What staff find this name by (`name_key`).
    pub fn name_key(&self) -> Option<String> {
        name_key(self.last_name.as_deref(), self.first_name.as_deref())
    }

    /// What an offer targeting a city matches this customer's city by (`city_key`).
    pub fn city_key(&self) -> Option<String> {
        self.city.as_deref().map(city_key)
    }

    /// The required fields of the registration form that are still empty (SPEC §5.3: most
    /// features stay closed until this is empty).
    pub fn missing_required(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.last_name.is_none() {
            missing.push("last_name");
        }
        if self.gender.is_none() {
            missing.push("gender");
        }
        if self.birth_date.is_none() {
            missing.push("birth_date");
        }
        if self.city.is_none() {
            missing.push("city");
        }
        missing
    }

    pub fn is_complete(&self) -> bool {
        self.missing_required().is_empty()
    }

    /// "Иванов И." or the phone's mask when there is no name: what a cashier may see.
    pub fn masked_name(&self, phone: &Phone) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(first), Some(last)) => {
                format!("{first} {}.", last.chars().next().unwrap_or(' '))
            }
            (None, Some(last)) => format!("{}.", last.chars().next().unwrap_or(' ')),
            (Some(first), None) => first.clone(),
            (None, None) => phone.masked(),
        }
    }
}

/// What the customer agreed to, when, and to which version of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consents {
    pub personal_data: bool,
    pub newsletters: bool,
    pub version: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub phone: Phone,
    pub profile: Profile,
    pub consents: Consents,
    pub favourite_category_set_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A person's name: letters (Cyrillic or Latin), spaces, hyphens, apostrophes.
pub fn parse_name(input: &str) -> Result<String, &'static str> {
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = name.chars().count();
    if chars == 0 {
        return Err("field_required");
    }
    if chars > 100 {
        return Err("field_at_most_100");
    }
    if !name
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.'))
    {
        return Err("name_letters");
    }
    Ok(name)
}

/// A city name: any printable text up to 100 characters.
pub fn parse_city(input: &str) -> Result<String, &'static str> {
    let city = input.split_whitespace().collect::<Vec<_>>().join(" ");
    match city.chars().count() {
        0 => Err("field_required"),
        1..=100 if !city.chars().any(char::is_control) => Ok(city),
        _ => Err("city_invalid"),
    }
}

/// A birth date as `YYYY-MM-DD`, for a person between `min_age` and 120 years old on `today`.
pub fn parse_birth_date(
    input: &str,
    today: NaiveDate,
    min_age: u32,
) -> Result<NaiveDate, kopilka_text::Message> {
    let date = NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d")
        .map_err(|_| kopilka_text::Message::new("date_format"))?;
    let age = today.years_since(date).unwrap_or(0);
    if date > today || age < min_age || age > 120 {
        return Err(kopilka_text::Message::new("member_min_age").with("min_age", min_age));
    }
    Ok(date)
}

/// A plausible e-mail address. Deliverability is the mail server's business, not ours.
pub fn parse_email(input: &str) -> Result<String, &'static str> {
    let email = input.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err("email_invalid")
    }
}

/// Start of the calendar month that contains `at`, in the chain's time zone (SPEC §1.6).
pub fn month_start(at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local = at.with_timezone(&tz);
    start_of_local_month(tz, local.year(), local.month())
}

/// Start of the next calendar month after `at`, in the chain's time zone.
pub fn next_month_start(at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local = at.with_timezone(&tz);
    let (y, m) = if local.month() == 12 {
        (local.year() + 1, 1)
    } else {
        (local.year(), local.month() + 1)
    };
    start_of_local_month(tz, y, m)
}

fn start_of_local_month(tz: Tz, year: i32, month: u32) -> DateTime<Utc> {
    let midnight = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    // Midnight exists in every zone the chain runs in; if a zone ever skipped it, take the
    // earliest instant of that local day.
    tz.from_local_datetime(&midnight)
        .earliest()
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight).with_timezone(&tz))
        .with_timezone(&Utc)
}

/// The favourite category may change once per calendar month: `Err(next_allowed)` if it was
/// already chosen in the month of `now`.
pub fn favourite_category_change_allowed(
    last_set: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<(), DateTime<Utc>> {
    match last_set {
        Some(set) if set >= month_start(now, tz) => Err(next_month_start(now, tz)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Moscow;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn calendar_months_are_the_chains_not_utc() {
        // 23:30 UTC on 31 January is already 1 February in Moscow.
        let now = utc("2026-01-31T23:30:00Z");
        assert_eq!(month_start(now, Moscow), utc("2026-01-31T21:00:00Z"));
        assert_eq!(next_month_start(now, Moscow), utc("2026-02-28T21:00:00Z"));
        assert_eq!(
            next_month_start(utc("2026-12-15T10:00:00Z"), Moscow),
            utc("2026-12-31T21:00:00Z")
        );
    }

    #[test]
    fn favourite_category_once_a_month() {
        let set = utc("2026-03-01T10:00:00Z");
        assert_eq!(
            favourite_category_change_allowed(Some(set), utc("2026-03-31T20:59:59Z"), Moscow),
            Err(utc("2026-03-31T21:00:00Z"))
        );
        assert!(
            favourite_category_change_allowed(Some(set), utc("2026-03-31T21:00:00Z"), Moscow)
                .is_ok()
        );
        assert!(favourite_category_change_allowed(None, set, Moscow).is_ok());
    }

    #[test]
    fn profile_fields() {
        assert_eq!(
            parse_name("  Иванова-Петрова  ").unwrap(),
            "Иванова-Петрова"
        );
        assert!(parse_name("R2D2").is_err());
        assert!(parse_name("").is_err());
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert!(parse_birth_date("1990-05-17", today, 14).is_ok());
        assert!(parse_birth_date("2020-05-17", today, 14).is_err());
        assert!(parse_birth_date("1990-02-30", today, 14).is_err());
        assert!(parse_birth_date("17.05.1990", today, 14).is_err());
        assert_eq!(parse_email(" Ivan@Example.RU ").unwrap(), "ivan@example.ru");
        assert!(parse_email("ivan@").is_err());
        assert!(parse_email("ivan example@x.ru").is_err());
    }

    #[test]
    fn completeness_names_the_missing_fields() {
        let mut p = Profile::default();
        assert_eq!(
            p.missing_required(),
            ["last_name", "gender", "birth_date", "city"]
        );
        p.last_name = Some("Иванов".into());
        p.gender = Some(Gender::Male);
        p.birth_date = NaiveDate::from_ymd_opt(1990, 1, 1);
        p.city = Some("Москва".into());
        assert!(p.is_complete());
    }
}

/// How a city is compared: trimmed and lower-cased, «ё» as «е». Stores keep it beside a
/// store's and a customer's city (`city_key`), to find them by city with an index.
pub fn city_key(city: &str) -> String {
    city.trim().to_lowercase().replace('ё', "е")
}

/// A name as staff search for it: lowercased, `ё` as `е`, words single-spaced, the last name
/// first. Both stores keep it beside the name (`members.name_key`) and search its prefixes.
pub fn name_key(last_name: Option<&str>, first_name: Option<&str>) -> Option<String> {
    let words: Vec<String> = [last_name, first_name]
        .into_iter()
        .flatten()
        .flat_map(str::split_whitespace)
        .map(|w| w.to_lowercase().replace('ё', "е"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// What a staff member typed to find a customer (`GET /admin/members?q`), read as the one
/// thing it can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberLookup {
    Phone(Phone),
    Card(crate::CardNumber),
    /// Lowercased: e-mail addresses are matched whole, without regard to case.
    Email(String),
    /// The start of a `name_key`: a last name, or a last name and a first.
    Name(String),
}

/// The fewest characters of a name worth searching for among millions.
pub const NAME_LOOKUP_MIN_CHARS: usize = 2;

impl MemberLookup {
    /// `None` for nothing searchable: blank, digits that are neither a card nor a phone, a
    /// single letter.
    pub fn parse(typed: &str) -> Option<Self> {
        let typed = typed.trim();
        if typed.contains('@') {
            return Some(Self::Email(typed.to_lowercase()));
        }
        let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
        let only_number_characters = typed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c));
        if !digits.is_empty() && only_number_characters {
            if digits.len() == crate::card::CARD_DIGITS {
                return crate::CardNumber::parse(&digits).ok().map(Self::Card);
            }
            return Phone::parse(typed).ok().map(Self::Phone);
        }
        name_key(Some(typed), None)
            .filter(|k| k.chars().count() >= NAME_LOOKUP_MIN_CHARS)
            .map(Self::Name)
    }
}

#[cfg(test)]
mod lookup_tests {
    use super::*;

    #[test]
    fn what_staff_type_is_read_as_one_thing() {
        assert_eq!(
            MemberLookup::parse(" 8 (999) 555-00-11 "),
            Phone::parse("+79995550011").ok().map(MemberLookup::Phone)
        );
        let card =
            crate::CardNumber::generate(crate::card::CardRange::Physical, &mut rand::thread_rng());
        assert_eq!(
            MemberLookup::parse(card.as_str()),
            Some(MemberLookup::Card(card))
        );
        assert_eq!(
            MemberLookup::parse("Anna.Petrova@Mail.RU"),
            Some(MemberLookup::Email("anna.petrova@mail.ru".into()))
        );
        assert_eq!(
            MemberLookup::parse("  Семёнова   Анна "),
            Some(MemberLookup::Name("семенова анна".into()))
        );
        assert_eq!(MemberLookup::parse("я"), None);
        assert_eq!(MemberLookup::parse("   "), None);
        assert_eq!(MemberLookup::parse("12345"), None);
    }

    #[test]
    fn a_name_key_puts_the_last_name_first() {
        assert_eq!(
            name_key(Some("Ёлкина"), Some("Анна Мария")).as_deref(),
            Some("елкина анна мария")
        );
        assert_eq!(name_key(None, None), None);
    }
}

//! Money, dates and distances as a person reads them, in the page's language.

use crate::i18n::Lang;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Kopecks as roubles: «1 234,50 ₽» in Russian, "₽1,234.50" in English.
pub(crate) fn money(kopecks: i64, lang: Lang) -> String {
    let sign = if kopecks < 0 { "-" } else { "" };
    let kopecks = kopecks.unsigned_abs();
    let (roubles, rest) = (kopecks / 100, kopecks % 100);
    let (group, decimal) = match lang {
        Lang::Ru => ('\u{a0}', ','),
        Lang::En => (',', '.'),
    };
    let digits = roubles.to_string();
    let mut grouped = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(d);
    }
    match lang {
        Lang::Ru => format!("{sign}{grouped}{decimal}{rest:02}\u{a0}₽"),
        Lang::En => format!("{sign}₽{grouped}{decimal}{rest:02}"),
    }
}

pub(crate) fn date(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%d.%m.%Y").to_string()
}

/// A calendar day as the pages print it.
pub(crate) fn day(day: chrono::NaiveDate) -> String {
    day.format("%d.%m.%Y").to_string()
}

pub(crate) fn date_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}

/// Metres as «850 м» or «12,3 км» (the units from the catalogue).
pub(crate) fn distance(metres: u64, m: &str, km: &str, lang: Lang) -> String {
    if metres < 1000 {
        return format!("{metres}\u{a0}{m}");
    }
    let tenths = (metres + 50) / 100;
    let decimal = if lang == Lang::Ru { ',' } else { '.' };
    format!("{}{decimal}{}\u{a0}{km}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roubles_are_grouped_the_way_each_language_writes_them() {
        assert_eq!(money(12_345_678, Lang::Ru), "123\u{a0}456,78\u{a0}₽");
        assert_eq!(money(12_345_678, Lang::En), "₽123,456.78");
        assert_eq!(money(5, Lang::Ru), "0,05\u{a0}₽");
        assert_eq!(money(-100_000, Lang::En), "-₽1,000.00");
        assert_eq!(money(99_900, Lang::Ru), "999,00\u{a0}₽");
    }

    #[test]
    fn distances_switch_to_kilometres() {
        assert_eq!(distance(850, "м", "км", Lang::Ru), "850\u{a0}м");
        assert_eq!(distance(12_345, "м", "км", Lang::Ru), "12,3\u{a0}км");
        assert_eq!(distance(1_000, "m", "km", Lang::En), "1.0\u{a0}km");
    }
}

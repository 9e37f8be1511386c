//! How sums, dates and names are written on the documents: Russian conventions first
//! (`12 345,67 ₽`, «7 декабря 2026 г.», sums in words), English for the visa letter.

use chrono::{Datelike, NaiveDate};

use crate::Month;

/// Between groups of thousands: a narrow no-break space, as Russian typesetting does; it
/// also keeps a sum from being split by the line wrapper, which breaks only at U+0020.
pub(crate) const GROUP: char = '\u{202F}';
/// Between a sum and its currency sign, so `₽` never starts a line.
pub(crate) const NBSP: char = '\u{00A0}';

const MONTHS_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];
const MONTHS_NOMINATIVE: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month_index(month: u32) -> usize {
    // Months are validated before layout; the clamp only keeps a bad one from panicking.
    (month.clamp(1, 12) - 1) as usize
}

/// «7 декабря 2026 г.»
pub(crate) fn date_ru(date: NaiveDate) -> String {
    format!(
        "{}{NBSP}{}{NBSP}{}{NBSP}г.",
        date.day(),
        MONTHS_GENITIVE[month_index(date.month())],
        date.year()
    )
}

/// «7 December 2026»
pub(crate) fn date_en(date: NaiveDate) -> String {
    format!(
        "{}{NBSP}{}{NBSP}{}",
        date.day(),
        MONTHS_EN[month_index(date.month())],
        date.year()
    )
}

/// «ноябрь 2026 г.» — for «за ноябрь 2026 г.» and table rows (capitalised there).
pub(crate) fn month_ru(month: Month) -> String {
    format!(
        "{}{NBSP}{}{NBSP}г.",
        MONTHS_NOMINATIVE[month_index(month.month)],
        month.year
    )
}

/// «Ноябрь 2026»: a table row, where the «г.» would only add noise.
pub(crate) fn month_row_ru(month: Month) -> String {
    let name = MONTHS_NOMINATIVE[month_index(month.month)];
    let mut chars = name.chars();
    let first: String = chars
        .next()
        .into_iter()
        .flat_map(char::to_uppercase)
        .collect();
    format!("{first}{}{NBSP}{}", chars.as_str(), month.year)
}

fn group_thousands(mut n: u64, sep: char) -> String {
    let mut groups = Vec::new();
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let mut out = groups.pop().map(|g| g.to_string()).unwrap_or_default();
    while let Some(g) = groups.pop() {
        out.push(sep);
        out.push_str(&format!("{g:03}"));
    }
    out
}

/// `12 345,67 ₽` from kopecks; a negative sum gets a true minus sign.
pub fn money(kop: i64) -> String {
    let sign = if kop < 0 { "\u{2212}" } else { "" };
    let abs = kop.unsigned_abs();
    format!(
        "{sign}{},{:02}{NBSP}₽",
        group_thousands(abs / 100, GROUP),
        abs % 100
    )
}

/// `RUB 12,345.67`, the way an English reader expects a rouble sum.
pub fn money_en(kop: i64) -> String {
    let sign = if kop < 0 { "-" } else { "" };
    let abs = kop.unsigned_abs();
    format!(
        "{sign}RUB{NBSP}{}.{:02}",
        group_thousands(abs / 100, ','),
        abs % 100
    )
}

/// Which of the three Russian plural forms goes with `n`: «1 рубль», «2 рубля», «5 рублей».
fn plural(n: u64, forms: [&str; 3]) -> &str {
    match (n % 10, n % 100) {
        (_, 11..=14) => forms[2],
        (1, _) => forms[0],
        (2..=4, _) => forms[1],
        _ => forms[2],
    }
}

/// Words for 1..=999; thousands are feminine («одна тысяча», «две тысячи»).
fn triad_words(n: u64, feminine: bool, out: &mut Vec<&'static str>) {
    const HUNDREDS: [&str; 10] = [
        "",
        "сто",
        "двести",
        "триста",
        "четыреста",
        "пятьсот",
        "шестьсот",
        "семьсот",
        "восемьсот",
        "девятьсот",
    ];
    const TENS: [&str; 10] = [
        "",
        "",
        "двадцать",
        "тридцать",
        "сорок",
        "пятьдесят",
        "шестьдесят",
        "семьдесят",
        "восемьдесят",
        "девяносто",
    ];
    const TEENS: [&str; 10] = [
        "десять",
        "одиннадцать",
        "двенадцать",
        "тринадцать",
        "четырнадцать",
        "пятнадцать",
        "шестнадцать",
        "семнадцать",
        "восемнадцать",
        "девятнадцать",
    ];
    const UNITS: [&str; 10] = [
        "",
        "один",
        "два",
        "три",
        "четыре",
        "пять",
        "шесть",
        "семь",
        "восемь",
        "девять",
    ];
    let (h, t, u) = (
        (n / 100) as usize,
        (n / 10 % 10) as usize,
        (n % 10) as usize,
    );
    out.extend([HUNDREDS[h], TENS[t]].into_iter().filter(|w| !w.is_empty()));
    if t == 1 {
        out.push(TEENS[u]);
    } else if u > 0 {
        out.push(match (feminine, u) {
            (true, 1) => "одна",
            (true, 2) => "две",
            _ => UNITS[u],
        });
    }
}

/// «восемьдесят пять тысяч рублей 00 копеек»: banks and consulates expect the sum in words.
pub(crate) fn money_words(kop: i64) -> String {
    const SCALES: [([&str; 3], bool); 3] = [
        (["тысяча", "тысячи", "тысяч"], true),
        (["миллион", "миллиона", "миллионов"], false),
        (["миллиард", "миллиарда", "миллиардов"], false),
    ];
    let abs = kop.unsigned_abs();
    let (rubles, kopecks) = (abs / 100, abs % 100);
    let mut words: Vec<&str> = Vec::new();
    if kop < 0 {
        words.push("минус");
    }
    if rubles == 0 {
        words.push("ноль");
    }
    // Largest scale first; anything above billions is not a salary.
    let mut rest = rubles;
    for (i, (forms, feminine)) in SCALES.iter().enumerate().rev() {
        let unit = 1000u64.pow(i as u32 + 1);
        let count = rest / unit;
        rest %= unit;
        if count > 0 {
            // Counts above 999 billion are printed in digits rather than misread.
            if count > 999 {
                return format!(
                    "{} рублей {kopecks:02} копеек",
                    group_thousands(rubles, GROUP)
                );
            }
            triad_words(count, *feminine, &mut words);
            words.push(plural(count, *forms));
        }
    }
    triad_words(rest, false, &mut words);
    let mut out = words.join(" ");
    out.push(' ');
    out.push_str(plural(rubles, ["рубль", "рубля", "рублей"]));
    // «00 копеек» stays on one line.
    out.push_str(&format!(
        " {kopecks:02}{NBSP}{}",
        plural(kopecks, ["копейка", "копейки", "копеек"])
    ));
    out
}

/// Russian names in Latin letters by the rules of Russian passports (ICAO Doc 9303),
/// for the English page when no Latin spelling was given.
pub(crate) fn transliterate(text: &str) -> String {
    fn latin(c: char) -> Option<&'static str> {
        Some(match c {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'ё' | 'э' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' | 'й' => "i",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' => "ie",
            'ы' => "y",
            'ь' => "",
            'ю' => "iu",
            'я' => "ia",
            _ => return None,
        })
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let Some(l) = latin(lower) else {
            out.push(c);
            continue;
        };
        if lower == c {
            out.push_str(l);
            continue;
        }
        // «ЖУК» stays all capitals («ZHUK»), «Жанна» becomes «Zhanna».
        let next_upper = chars.get(i + 1).is_some_and(|n| n.is_uppercase());
        if next_upper {
            out.push_str(&l.to_uppercase());
        } else {
            let mut it = l.chars();
            out.extend(it.next().map(|f| f.to_ascii_uppercase()));
            out.push_str(it.as_str());
        }
    }
    out
}

/// The first and last day of a month, for «за период с 1 января по 31 декабря».
pub(crate) fn month_bounds(month: Month) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(month.year, month.month, 1)?;
    let next = if month.month == 12 {
        NaiveDate::from_ymd_opt(month.year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(month.year, month.month + 1, 1)?
    };
    Some((first, next.pred_opt()?))
}

#[cfg(test)]
// Kopecks read best as roubles_kopecks: 85_000_00 is 85 000,00 ₽.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    fn plain(s: &str) -> String {
        s.replace([GROUP, NBSP], " ")
    }

    #[test]
    fn money_is_written_the_russian_way() {
        assert_eq!(plain(&money(1_234_567)), "12 345,67 ₽");
        assert_eq!(plain(&money(5)), "0,05 ₽");
        assert_eq!(plain(&money(100_000_000_00)), "100 000 000,00 ₽");
        assert_eq!(plain(&money(-150_00)), "\u{2212}150,00 ₽");
        assert_eq!(plain(&money_en(8_500_000)), "RUB 85,000.00");
    }

    #[test]
    fn sums_in_words() {
        let money_words = |kop| plain(&money_words(kop));
        assert_eq!(
            money_words(8_500_000),
            "восемьдесят пять тысяч рублей 00 копеек"
        );
        assert_eq!(money_words(2_101_05), "две тысячи сто один рубль 05 копеек");
        assert_eq!(
            money_words(1_012_345_01),
            "один миллион двенадцать тысяч триста сорок пять рублей 01 копейка"
        );
        assert_eq!(money_words(42), "ноль рублей 42 копейки");
        assert_eq!(
            money_words(11_400_00),
            "одиннадцать тысяч четыреста рублей 00 копеек"
        );
    }

    #[test]
    fn dates_and_names() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).expect("date");
        assert_eq!(plain(&date_ru(d)), "7 декабря 2026 г.");
        assert_eq!(plain(&date_en(d)), "7 December 2026");
        assert_eq!(
            plain(&month_row_ru(Month {
                year: 2026,
                month: 5
            })),
            "Май 2026"
        );
        assert_eq!(
            transliterate("Щукина Юлия Андреевна"),
            "Shchukina Iuliia Andreevna"
        );
        assert_eq!(
            transliterate("ООО «Копилка Ритейл»"),
            "OOO «Kopilka Riteil»"
        );
        assert_eq!(transliterate("ЖУК Ж."), "ZHUK Zh.");
    }
}

//! Search terms for the catalogue: the same normalisation on the way in (product names) and
//! on the way out (what the customer typed), so that «молока» finds «Молоко» on either store.
//! Each word is lower-cased, «ё» becomes «е», and Cyrillic words are reduced to their Snowball
//! Russian stem; the stores only match tokens, so they give the same answers.

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::OnceLock;

/// At most this many words of a query count; more is noise, not intent.
pub const MAX_QUERY_TERMS: usize = 8;

fn russian() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::Russian))
}

fn is_cyrillic(word: &str) -> bool {
    word.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// The words of `text` as search tokens, in order, duplicates kept.
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let word = w.to_lowercase().replace('ё', "е");
            if is_cyrillic(&word) {
                russian().stem(&word).into_owned()
            } else {
                word
            }
        })
        .collect()
}

/// What a product is indexed under: every term of its name, space-separated, and the term of
/// its first word, which ranks products *named* by the query above ones that mention it.
pub fn index(name: &str) -> (String, String) {
    let all = terms(name);
    let lead = all.first().cloned().unwrap_or_default();
    (all.join(" "), lead)
}

/// A customer's query: its distinct terms, at most [`MAX_QUERY_TERMS`]. Each term matches
/// indexed terms that start with it, so a half-typed word already finds something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<String>,
}

impl SearchQuery {
    /// `None` when the text has no word in it.
    pub fn parse(text: &str) -> Option<Self> {
        let mut out: Vec<String> = Vec::new();
        for t in terms(text) {
            if !out.contains(&t) && out.len() < MAX_QUERY_TERMS {
                out.push(t);
            }
        }
        (!out.is_empty()).then_some(Self { terms: out })
    }

    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The first term: a product whose name starts with it ranks first.
    pub fn lead(&self) -> &str {
        &self.terms[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_forms_share_a_stem() {
        assert_eq!(terms("молока"), terms("Молоко"));
        assert_eq!(terms("яблоки"), terms("Яблоко"));
        assert_eq!(terms("сыры"), terms("Сыр"));
    }

    #[test]
    fn names_split_on_punctuation_and_keep_numbers_and_latin() {
        assert_eq!(
            terms("Молоко 3,2% 930 мл «Зорька» UHT"),
            vec!["молок", "3", "2", "930", "мл", "зорьк", "uht"]
        );
        assert_eq!(terms("Ёлка"), terms("елка"));
    }

    #[test]
    fn queries_drop_repeats_and_empty_text() {
        assert_eq!(SearchQuery::parse("  ,.! "), None);
        let q = SearchQuery::parse("молоко Молока сыр").expect("words");
        assert_eq!(q.terms(), ["молок", "сыр"]);
        assert_eq!(q.lead(), "молок");
    }

    #[test]
    fn index_keeps_the_lead_word() {
        let (all, lead) = index("Сыр Российский 50% 200 г");
        assert_eq!(lead, "сыр");
        assert!(all.starts_with("сыр российск"));
    }
}

//! One message catalogue per language (`messages/*.toml`), Russian first. A page's language
//! comes from `?lang=`, then the remembered choice (a cookie), then the browser's
//! `Accept-Language`, then Russian.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first language of `Accept-Language` we have, in the browser's order of preference.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut ranked: Vec<(f32, &str)> = header
            .split(',')
            .map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next().unwrap_or("").trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                (q, tag)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked
            .into_iter()
            .find_map(|(_, tag)| Lang::parse(tag.split('-').next().unwrap_or("")))
    }

    pub fn texts(self) -> Texts {
        static RU: OnceLock<HashMap<String, String>> = OnceLock::new();
        static EN: OnceLock<HashMap<String, String>> = OnceLock::new();
        let map = match self {
            Lang::Ru => RU.get_or_init(|| load(include_str!("../messages/ru.toml"))),
            Lang::En => EN.get_or_init(|| load(include_str!("../messages/en.toml"))),
        };
        Texts(map)
    }
}

fn load(source: &str) -> HashMap<String, String> {
    toml::from_str(source).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a message catalogue does not parse");
        HashMap::new()
    })
}

/// A page's texts. A missing key shows as itself, which the catalogue test catches first.
#[derive(Clone, Copy)]
pub struct Texts(&'static HashMap<String, String>);

impl Texts {
    pub fn get<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.0.get(key).map_or(key, String::as_str)
    }

    /// The text with `{s}` replaced by a number of seconds.
    pub fn seconds(&self, key: &str, seconds: u64) -> String {
        self.get(key).replace("{s}", &seconds.to_string())
    }

    pub fn keys(&self) -> impl Iterator<Item = &'static String> {
        self.0.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_has_every_key() {
        let ru: Vec<_> = Lang::Ru.texts().keys().collect();
        let en: Vec<_> = Lang::En.texts().keys().collect();
        assert!(ru.len() > 10);
        for key in &ru {
            assert!(en.contains(key), "en lacks {key}");
        }
        for key in &en {
            assert!(ru.contains(key), "ru lacks {key}");
        }
    }

    #[test]
    fn the_browsers_preference_is_read_in_its_order() {
        assert_eq!(
            Lang::from_accept_language("de-DE,en-US;q=0.8,ru;q=0.5"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("ru-RU,ru;q=0.9,en;q=0.8"),
            Some(Lang::Ru)
        );
        assert_eq!(Lang::from_accept_language("fr"), None);
    }
}

//! What people read, in one message catalogue per language (`messages/*.toml`), Russian first.
//! Code that has something to say names a text by its key (`Message`); the edge that knows
//! the reader's language renders it: a page, a problem answer, an SMS, a line of the history.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ru, Lang::En];

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

    /// The first language of `Accept-Language` we have, in the client's order of preference.
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

/// One language's texts. A missing key shows as itself, which the catalogue tests catch first.
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

    /// The message's text with each `{name}` replaced by its value.
    pub fn render(&self, message: &Message) -> String {
        message
            .args
            .iter()
            .fold(self.get(message.key).to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    pub fn keys(&self) -> impl Iterator<Item = &'static String> {
        self.0.keys()
    }
}

/// A text named by its catalogue key, with the values it takes: what the domain and the
/// service say, rendered in the reader's language where it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub key: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(&'static str, String)>,
}

impl Message {
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }

    /// The value of `{name}` in the text.
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// In Russian, the chain's language: for what is written down once for everyone (a
    /// line of the points history, a log).
    pub fn russian(&self) -> String {
        Lang::Ru.texts().render(self)
    }
}

impl From<&'static str> for Message {
    fn from(key: &'static str) -> Self {
        Message::new(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_has_every_key_with_the_same_placeholders() {
        let ru = Lang::Ru.texts();
        let en = Lang::En.texts();
        assert!(ru.keys().count() > 10);
        let placeholders = |text: &str| {
            let mut names: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            names.sort();
            names
        };
        for key in ru.keys() {
            assert!(en.0.contains_key(key), "en lacks {key}");
            assert_eq!(
                placeholders(ru.get(key)),
                placeholders(en.get(key)),
                "{key}: the same values in both languages"
            );
        }
        for key in en.keys() {
            assert!(ru.0.contains_key(key), "ru lacks {key}");
        }
    }

    #[test]
    fn a_message_is_rendered_with_its_values() {
        let m = Message::new("field_at_most").with("max", 64);
        assert_eq!(Lang::En.texts().render(&m), "At most 64");
        assert_eq!(m.russian(), "Не больше 64");
        assert_eq!(
            Lang::En.texts().render(&"no_such_key".into()),
            "no_such_key"
        );
    }

    #[test]
    fn the_clients_preference_is_read_in_its_order() {
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

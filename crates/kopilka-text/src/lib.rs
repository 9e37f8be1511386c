//! What people read, in one message catalogue per language (`messages/*.toml`), Russian first.
//! Code that has something to say names a text by its key (`Message`); the edge that knows
//! the reader's language renders it: a page, a problem answer, an SMS, a line of the history.

use serde::Serialize;
use std::borrow::Cow;
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
                let value = match value {
                    Arg::Text(text) => text.clone(),
                    Arg::Messages(parts) => parts
                        .iter()
                        .map(|part| self.render(part))
                        .collect::<Vec<_>>()
                        .join(PARTS_SEPARATOR),
                };
                text.replace(&format!("{{{name}}}"), &value)
            })
    }

    /// A message written down with `Message::to_stored`, in this language; text that is not
    /// one (written before messages were stored) is shown as it was written.
    pub fn render_stored(&self, stored: &str) -> String {
        match Message::from_stored(stored) {
            Some(message) => self.render(&message),
            None => stored.to_owned(),
        }
    }

    /// The catalogue's own copy of `key`, which lives as long as the program.
    fn static_key(&self, key: &str) -> Option<&'static str> {
        self.0.get_key_value(key).map(|(k, _)| k.as_str())
    }

    pub fn keys(&self) -> impl Iterator<Item = &'static String> {
        self.0.keys()
    }
}

/// How the parts of a list value are joined in a sentence.
const PARTS_SEPARATOR: &str = "; ";

/// A text named by its catalogue key, with the values it takes: what the domain and the
/// service say, rendered in the reader's language where it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub key: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(Cow<'static, str>, Arg)>,
}

/// The value of one `{name}`: a text as it is, or messages rendered in the reader's language
/// and joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Arg {
    Text(String),
    Messages(Vec<Message>),
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
        self.args
            .push((Cow::Borrowed(name), Arg::Text(value.to_string())));
        self
    }

    /// `{name}` as other messages, each rendered in the reader's language, joined.
    pub fn with_messages(mut self, name: &'static str, parts: Vec<Message>) -> Self {
        self.args.push((Cow::Borrowed(name), Arg::Messages(parts)));
        self
    }

    /// In Russian, the chain's language: for what is written down once for everyone (a
    /// log, a document).
    pub fn russian(&self) -> String {
        Lang::Ru.texts().render(self)
    }

    /// The message as text to keep (a line of the points history), to be rendered in each
    /// reader's language when it is read (`Texts::render_stored`).
    pub fn to_stored(&self) -> String {
        self.to_json().to_string()
    }

    fn to_json(&self) -> serde_json::Value {
        let args: serde_json::Map<String, serde_json::Value> = self
            .args
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    Arg::Text(text) => serde_json::Value::String(text.clone()),
                    Arg::Messages(parts) => parts.iter().map(Message::to_json).collect(),
                };
                (name.to_string(), value)
            })
            .collect();
        serde_json::json!({ "key": self.key, "args": args })
    }

    /// The message `to_stored` wrote; `None` for any other text, or a key the catalogue no
    /// longer has.
    pub fn from_stored(stored: &str) -> Option<Message> {
        if !stored.starts_with('{') {
            return None;
        }
        Self::from_json(&serde_json::from_str(stored).ok()?)
    }

    fn from_json(value: &serde_json::Value) -> Option<Message> {
        let key = Lang::Ru.texts().static_key(value.get("key")?.as_str()?)?;
        let mut args = Vec::new();
        for (name, value) in value.get("args")?.as_object()? {
            let value = match value {
                serde_json::Value::String(text) => Arg::Text(text.clone()),
                serde_json::Value::Array(parts) => Arg::Messages(
                    parts
                        .iter()
                        .map(Message::from_json)
                        .collect::<Option<_>>()?,
                ),
                _ => return None,
            };
            args.push((Cow::Owned(name.clone()), value));
        }
        Some(Message { key, args })
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
    fn a_stored_message_is_read_in_each_language() {
        let m = Message::new("history_explained")
            .with_messages(
                "base",
                vec![Message::new("history_accrual").with("receipt", "R-1")],
            )
            .with_messages(
                "rules",
                vec![
                    Message::new("history_rule_favourite"),
                    Message::new("history_rule_paid_with_points"),
                ],
            );
        let stored = m.to_stored();
        assert_eq!(Message::from_stored(&stored), Some(m.clone()));
        assert_eq!(
            Lang::En.texts().render_stored(&stored),
            "Points for a purchase, receipt R-1 (×2 in the favourite category; earned on what was paid in money, not in points)"
        );
        assert_eq!(Lang::Ru.texts().render_stored(&stored), m.russian());
        assert_eq!(
            Lang::En.texts().render_stored("Начисление за покупку"),
            "Начисление за покупку",
            "text written before messages were stored is shown as written"
        );
        assert_eq!(
            Lang::En
                .texts()
                .render_stored("{\"key\":\"gone\",\"args\":{}}"),
            "{\"key\":\"gone\",\"args\":{}}"
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

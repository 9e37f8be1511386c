//! Support tickets (SPEC §5.4, §7.2): the customer's questions from the account and the
//! public feedback forms, answered by staff.

use kopilka_text::Message;
use serde::{Deserialize, Serialize};

id_type!(
    /// A support ticket's id.
    TicketId
);

pub const SUBJECT_MAX_CHARS: usize = 200;
pub const SENDER_NAME_MAX_CHARS: usize = 100;
pub const BODY_MAX_CHARS: usize = 5_000;

/// Where a ticket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketChannel {
    /// A signed-in customer, from the account.
    Account,
    /// The public feedback form for customers.
    Customer,
    /// The public form for employees and contractors.
    EmployeeContractor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Waiting for support.
    Open,
    /// Support answered; waiting for the customer.
    Answered,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Customer,
    Staff,
}

str_enum!(TicketChannel { Account => "account", Customer => "customer", EmployeeContractor => "employee_contractor" });
str_enum!(TicketStatus { Open => "open", Answered => "answered", Closed => "closed" });
str_enum!(Author { Customer => "customer", Staff => "staff" });

fn bounded(input: &str, max: usize) -> Result<String, Message> {
    let text = input.trim();
    match text.chars().count() {
        0 => Err("field_required".into()),
        n if n > max => Err(Message::new("text_at_most").with("max", max)),
        _ => Ok(text.to_owned()),
    }
}

pub fn parse_subject(input: &str) -> Result<String, Message> {
    bounded(input, SUBJECT_MAX_CHARS)
}

pub fn parse_body(input: &str) -> Result<String, Message> {
    bounded(input, BODY_MAX_CHARS)
}

/// Whoever writes a public form may sign as they like, within reason: spaces collapsed, no
/// control characters.
pub fn parse_sender_name(input: &str) -> Result<String, Message> {
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.chars().any(char::is_control) {
        return Err("text_control_characters".into());
    }
    bounded(&name, SENDER_NAME_MAX_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(parse_subject("  Вопрос  ").as_deref(), Ok("Вопрос"));
        assert!(parse_subject("   ").is_err());
        assert!(parse_body(&"я".repeat(BODY_MAX_CHARS + 1)).is_err());
        assert!(parse_body(&"я".repeat(BODY_MAX_CHARS)).is_ok());
    }

    #[test]
    fn sender_names_collapse_spaces_and_refuse_control_characters() {
        assert_eq!(
            parse_sender_name("  Пётр   Поставщиков ").as_deref(),
            Ok("Пётр Поставщиков")
        );
        assert!(parse_sender_name("").is_err());
        assert!(parse_sender_name("Пётр\u{7}").is_err());
        assert!(parse_sender_name(&"я".repeat(SENDER_NAME_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in [
            TicketStatus::Open,
            TicketStatus::Answered,
            TicketStatus::Closed,
        ] {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            TicketChannel::parse("employee_contractor"),
            Some(TicketChannel::EmployeeContractor)
        );
    }
}

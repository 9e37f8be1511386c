use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A loyalty card number: 13 digits whose last one is the EAN-13 check digit, so that every
/// till scanner reads it and a mistyped digit is caught before it reaches the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCardNumber {
    #[error("a card number has 13 digits")]
    Shape,
    #[error("the card number's check digit does not match")]
    CheckDigit,
}

impl From<InvalidCardNumber> for kopilka_text::Message {
    fn from(e: InvalidCardNumber) -> Self {
        match e {
            InvalidCardNumber::Shape => "card_number_shape".into(),
            InvalidCardNumber::CheckDigit => "card_number_check_digit".into(),
        }
    }
}

/// Number ranges, by the first two digits. EAN prefixes 20–29 are reserved for a retailer's
/// own use, so none of these can collide with a product barcode on the same till.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardRange {
    Virtual,
    Physical,
    /// One-time codes that stand in for a card at the till.
    OneTimeToken,
}

impl CardRange {
    pub const fn prefix(self) -> &'static str {
        match self {
            CardRange::Virtual => "26",
            CardRange::Physical => "27",
            CardRange::OneTimeToken => "29",
        }
    }
}

/// Digits in a card number (EAN-13).
pub const CARD_DIGITS: usize = 13;

impl CardNumber {
    pub fn parse(input: &str) -> Result<Self, InvalidCardNumber> {
        let digits = input.trim();
        if digits.len() != CARD_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidCardNumber::Shape);
        }
        let (body, check) = digits.split_at(12);
        if check.as_bytes()[0] - b'0' != ean13_check_digit(body) {
            return Err(InvalidCardNumber::CheckDigit);
        }
        Ok(Self(digits.to_owned()))
    }

    /// A fresh random number in `range`. Random, not sequential: card numbers are also logins,
    /// and a guessable sequence would let anyone enumerate them.
    pub fn generate(range: CardRange, rng: &mut impl Rng) -> Self {
        let mut body = String::with_capacity(13);
        body.push_str(range.prefix());
        while body.len() < 12 {
            body.push(char::from(b'0' + rng.gen_range(0..10u8)));
        }
        let check = ean13_check_digit(&body);
        body.push(char::from(b'0' + check));
        Self(body)
    }

    pub fn range(&self) -> Option<CardRange> {
        [
            CardRange::Virtual,
            CardRange::Physical,
            CardRange::OneTimeToken,
        ]
        .into_iter()
        .find(|r| self.0.starts_with(r.prefix()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits, as shown to a cashier or in an SMS.
    pub fn last4(&self) -> &str {
        &self.0[9..]
    }

    /// `2612*****8906`: what a security log may show, as `Phone::masked` does for phones.
    pub fn masked(&self) -> String {
        format!("{}*****{}", &self.0[..4], self.last4())
    }
}

/// The EAN-13 check digit of the first twelve digits: weights 1,3,1,3… from the left.
pub fn ean13_check_digit(twelve_digits: &str) -> u8 {
    let sum: u32 = twelve_digits
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    Physical,
    Virtual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// Printed in a batch, not yet given to anyone.
    Unbound,
    Active,
    Blocked,
}

impl CardStatus {
    pub const ALL: [CardStatus; 3] = [CardStatus::Unbound, CardStatus::Active, CardStatus::Blocked];

    /// Whether a purchase may be recorded on a card in this state: not on a blocked one. The
    /// service asks it of the card it identified, and each store of the card's status at
    /// commit, when a block may have come in meanwhile.
    pub fn check_purchase(self) -> Result<(), crate::DomainError> {
        match self {
            CardStatus::Blocked => Err(crate::DomainError::CardBlocked),
            CardStatus::Unbound | CardStatus::Active => Ok(()),
        }
    }

    /// The states `check_purchase` accepts, for a store to check at commit.
    pub fn purchasable() -> impl Iterator<Item = CardStatus> {
        Self::ALL.into_iter().filter(|s| s.check_purchase().is_ok())
    }

    /// Whether a card in this state, held by someone or not, may be bound to a customer:
    /// only a printed card nobody holds. Both stores ask this under their lock on the card.
    /// Whether staff may give this card back to its holder: only a blocked one.
    pub fn check_unblockable(self) -> Result<(), crate::DomainError> {
        if self == CardStatus::Blocked {
            Ok(())
        } else {
            Err(crate::DomainError::StateConflict)
        }
    }

    pub fn check_bindable(self, held: bool) -> Result<(), crate::DomainError> {
        if self == CardStatus::Unbound && !held {
            Ok(())
        } else {
            Err(crate::DomainError::CardAlreadyBound)
        }
    }
}

/// A member has one active card: the cards among the member's `cards` (number and status)
/// that activating `activating` blocks. Both stores ask this under their lock on the member.
pub fn replaced_by<'a>(cards: &'a [(String, CardStatus)], activating: &str) -> Vec<&'a str> {
    cards
        .iter()
        .filter(|(number, status)| *status == CardStatus::Active && number != activating)
        .map(|(number, _)| number.as_str())
        .collect()
}

impl CardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Physical => "physical",
            CardKind::Virtual => "virtual",
        }
    }
    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "physical" => Some(Self::Physical),
            "virtual" => Some(Self::Virtual),
            _ => None,
        }
    }
}

impl CardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Unbound => "unbound",
            CardStatus::Active => "active",
            CardStatus::Blocked => "blocked",
        }
    }
    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "unbound" => Some(Self::Unbound),
            "active" => Some(Self::Active),
            "blocked" => Some(Self::Blocked),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_activated_card_replaces_the_members_other_active_ones() {
        let cards = [
            ("1".to_owned(), CardStatus::Active),
            ("2".to_owned(), CardStatus::Blocked),
            ("3".to_owned(), CardStatus::Active),
        ];
        assert_eq!(replaced_by(&cards, "3"), ["1"]);
        assert_eq!(replaced_by(&cards, "4"), ["1", "3"]);
        assert_eq!(
            CardStatus::purchasable().collect::<Vec<_>>(),
            [CardStatus::Unbound, CardStatus::Active]
        );
    }

    #[test]
    fn a_masked_number_keeps_its_ends() {
        assert_eq!(
            CardNumber::parse("4006381333931").unwrap().masked(),
            "4006*****3931"
        );
    }

    #[test]
    fn only_thirteen_digits_with_nothing_between() {
        assert_eq!(
            CardNumber::parse("4006 3813 3393 1"),
            Err(InvalidCardNumber::Shape)
        );
        assert!(CardNumber::parse(" 4006381333931\n").is_ok());
    }

    #[test]
    fn known_ean13_numbers() {
        assert!(CardNumber::parse("4006381333931").is_ok());
        assert!(CardNumber::parse("4600051000057").is_ok());
        assert_eq!(
            CardNumber::parse("4006381333932"),
            Err(InvalidCardNumber::CheckDigit)
        );
        assert_eq!(
            CardNumber::parse("400638133393"),
            Err(InvalidCardNumber::Shape)
        );
        assert_eq!(
            CardNumber::parse("40063813339a1"),
            Err(InvalidCardNumber::Shape)
        );
    }

    proptest! {
        #[test]
        fn generated_numbers_parse_and_keep_their_range(seed in any::<u64>()) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            for range in [CardRange::Virtual, CardRange::Physical, CardRange::OneTimeToken] {
                let n = CardNumber::generate(range, &mut rng);
                prop_assert_eq!(CardNumber::parse(n.as_str()), Ok(n.clone()));
                prop_assert_eq!(n.range(), Some(range));
            }
        }

        #[test]
        fn any_single_digit_typo_is_caught(seed in any::<u64>(), pos in 0usize..13, delta in 1u8..10) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let n = CardNumber::generate(CardRange::Virtual, &mut rng);
            let mut bytes = n.as_str().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let typo = String::from_utf8(bytes).unwrap();
            prop_assert!(CardNumber::parse(&typo).is_err());
        }
    }
}

#[cfg(test)]
mod binding_tests {
    use super::*;

    #[test]
    fn only_a_printed_card_nobody_holds_is_bound() {
        assert!(CardStatus::Unbound.check_bindable(false).is_ok());
        for (status, held) in [
            (CardStatus::Unbound, true),
            (CardStatus::Active, true),
            (CardStatus::Blocked, false),
        ] {
            assert_eq!(
                status.check_bindable(held),
                Err(crate::DomainError::CardAlreadyBound)
            );
        }
    }
}

id_type!(
    /// A batch of plastic cards printed together.
    CardBatchId
);

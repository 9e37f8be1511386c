//! Kopilka's vocabulary and rules. Nothing here knows about HTTP or SQL: values are
//! validated once at the edge into these types, and the rules take only these types.

/// `as_str` and `parse` for an enum stored and sent as its snake_case name.
macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),+ $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)+ _ => None }
            }
        }
    };
}

/// An id as the store numbered its rows: a type of its own per kind of row, so one kind is
/// never bound, compared or passed where another belongs. Built from and read back as `i64`
/// only at the store's and the wire's edges.
macro_rules! id_type {
    ($(#[$doc:meta])* $t:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $t(i64);

        impl $t {
            pub const fn new(id: i64) -> Self {
                Self(id)
            }
            pub const fn get(self) -> i64 {
                self.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
        impl std::str::FromStr for $t {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

pub mod card;
pub mod clock;
pub mod earning;
pub mod employee;
pub mod error;
pub mod geo;
pub mod ledger;
pub mod lots;
pub mod member;
pub mod money;
pub mod offers;
pub mod otp;
pub mod password;
pub mod payroll;
pub mod phone;
pub mod receipt;
pub mod reports;
pub mod search;
pub mod staff;
pub mod support;

pub use card::{CardKind, CardNumber, CardStatus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{DomainError, FieldError, RowError, Validation};
pub use money::{Kopecks, Points};
pub use otp::OtpCode;
pub use phone::Phone;

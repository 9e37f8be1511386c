use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Neg, Sub};

/// Loyalty points. Signed, because a refund may take a balance below zero (SPEC §3.5).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Points(i64);

/// Money in kopecks (1/100 of a rouble). Never a float.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Kopecks(i64);

macro_rules! integer_amount {
    ($t:ident) => {
        impl $t {
            pub const ZERO: Self = Self(0);
            pub const fn new(value: i64) -> Self {
                Self(value)
            }
            pub const fn get(self) -> i64 {
                self.0
            }
            pub fn is_positive(self) -> bool {
                self.0 > 0
            }
            pub fn checked_add(self, other: Self) -> Option<Self> {
                self.0.checked_add(other.0).map(Self)
            }
        }
        impl Add for $t {
            type Output = Self;
            fn add(self, rhs: Self) -> Self {
                Self(self.0 + rhs.0)
            }
        }
        impl Sub for $t {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                Self(self.0 - rhs.0)
            }
        }
        impl Neg for $t {
            type Output = Self;
            fn neg(self) -> Self {
                Self(-self.0)
            }
        }
        impl std::iter::Sum for $t {
            fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
                Self(iter.map(|v| v.0).sum())
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

integer_amount!(Points);
integer_amount!(Kopecks);

impl Kopecks {
    /// Whole roubles, rounded down: earning rules count roubles, not kopecks.
    pub fn whole_roubles(self) -> i64 {
        self.0.div_euclid(100)
    }
}

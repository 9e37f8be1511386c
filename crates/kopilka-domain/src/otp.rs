use rand::Rng;
use std::fmt;

/// A one-time SMS code: exactly six digits. Debug never shows it, so it cannot leak into a log.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a code has 6 digits")]
pub struct InvalidOtp;

impl From<InvalidOtp> for kopilka_text::Message {
    fn from(_: InvalidOtp) -> Self {
        "otp_shape".into()
    }
}

impl OtpCode {
    pub const LEN: usize = 6;

    pub fn parse(input: &str) -> Result<Self, InvalidOtp> {
        let code = input.trim();
        if code.len() == Self::LEN && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(InvalidOtp)
        }
    }

    /// A new code from a cryptographically secure generator (the caller passes `OsRng`).
    pub fn generate(rng: &mut (impl Rng + rand::CryptoRng)) -> Self {
        Self(format!("{:06}", rng.gen_range(0..1_000_000u32)))
    }

    /// The digits, for the SMS text and for hashing. Deliberately not `Display`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_only() {
        assert!(OtpCode::parse("012345").is_ok());
        assert!(OtpCode::parse(" 012345 ").is_ok());
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert!(OtpCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_codes_keep_leading_zeros_and_hide_in_debug() {
        let mut rng = rand::rngs::OsRng;
        for _ in 0..1000 {
            let code = OtpCode::generate(&mut rng);
            assert_eq!(code.expose().len(), 6);
            assert_eq!(format!("{code:?}"), "OtpCode(******)");
        }
    }
}

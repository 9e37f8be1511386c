//! The SQLSTATE codes Kopilka's database functions raise, shared by the SQL (`functions/`,
//! `RAISE … USING ERRCODE = '…'`) and the Rust that reads them; a test checks that the two
//! agree.

/// The member's ledger account does not exist.
pub const NO_ACCOUNT: &str = "KP404";
/// The card is blocked.
pub const CARD_BLOCKED: &str = "KP409";
/// The one-time card code was already used, or has expired.
pub const CARD_CODE_SPENT: &str = "KP410";

/// Every code the functions raise.
pub const RAISED: &[&str] = &[NO_ACCOUNT, CARD_BLOCKED, CARD_CODE_SPENT];

/// PostgreSQL's own `deadlock_detected`.
pub const DEADLOCK: &str = "40P01";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::FUNCTIONS;

    #[test]
    fn the_functions_raise_exactly_the_codes_the_rust_reads() {
        let mut raised = Vec::new();
        for (_, sql) in FUNCTIONS {
            for part in sql.split("ERRCODE = '").skip(1) {
                let code = &part[..part.find('\'').unwrap()];
                // PostgreSQL's own conditions by name (foreign_key_violation) are its
                // codes, not ours.
                if code.starts_with("KP") {
                    raised.push(code.to_owned());
                }
            }
        }
        raised.sort();
        raised.dedup();
        let mut known: Vec<String> = RAISED.iter().map(|c| (*c).to_owned()).collect();
        known.sort();
        assert_eq!(raised, known);
    }
}

use serde::{Deserialize, Serialize};
use std::str::FromStr;

id_type!(
    /// A staff member's (a back-office user's) id.
    StaffId
);

/// Back-office roles (SPEC §8). A staff member may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Marketing,
    Support,
    StoreManager,
    Hr,
    Accounting,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Marketing,
        Role::Support,
        Role::StoreManager,
        Role::Hr,
        Role::Accounting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Marketing => "marketing",
            Role::Support => "support",
            Role::StoreManager => "store_manager",
            Role::Hr => "hr",
            Role::Accounting => "accounting",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; roles are admin, marketing, support, store_manager, hr, accounting")]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Staff logins: short, lowercase latin, digits, dot, dash, underscore.
pub fn parse_login(input: &str) -> Result<String, &'static str> {
    let login = input.trim().to_lowercase();
    let ok = (2..=64).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(login)
    } else {
        Err("staff_login_shape")
    }
}

id_type!(
    /// A manual adjustment above its author's limit, waiting for a second staff member.
    AdjustmentId
);

/// Where an adjustment above its author's limit stands (maker-checker): applied only when
/// another staff member approves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    #[serde(rename = "pending_approval")]
    Pending,
    Approved,
    Rejected,
}
str_enum!(ApprovalStatus { Pending => "pending_approval", Approved => "approved", Rejected => "rejected" });

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

/// What the back office lets staff do. Who may is [`Permission::roles`], the one table of
/// the role matrix: the service asks it before every staff use case, the pages show only what
/// it allows, and `docs/ROLES.md` prints it. Administrators may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Find customers and see their profile, cards, points and history.
    FindCustomers,
    /// Adjust a customer's points within one's limit; above it, ask for approval.
    AdjustPoints,
    /// Key in a customer's paper form, binding its card.
    KeyPaperForms,
    /// Block a customer's card, or give a blocked one back.
    ManageCards,
    /// Approve or reject another's adjustment above their limit.
    ApproveAdjustments,
    /// Read and answer customers' tickets.
    AnswerTickets,
    /// Work employees' document requests.
    WorkDocuments,
    /// Open, re-password and close employees' accounts.
    ManageEmployees,
    /// Import payroll.
    ImportPayroll,
    /// Read the points liability and the ledger's totals.
    ReadReports,
    /// Read the audit log.
    ReadAudit,
    /// Issue batches of plastic cards for the printer and see which are bound.
    IssueCards,
    /// Open a store's till keys, list them and revoke them.
    ManageTills,
    /// Edit stores, categories and products; import and export them as CSV.
    EditCatalogue,
    /// Promotions, events and personal offers: their targeting, reach and schedules.
    RunMarketing,
}

/// Whether someone holding `roles` acts in one of `allowed`: administrators act in every
/// role.
pub fn acts_as_any(roles: &[Role], allowed: &[Role]) -> bool {
    roles.contains(&Role::Admin) || allowed.iter().any(|r| roles.contains(r))
}

impl Permission {
    pub const ALL: [Permission; 15] = [
        Permission::FindCustomers,
        Permission::AdjustPoints,
        Permission::KeyPaperForms,
        Permission::ManageCards,
        Permission::ApproveAdjustments,
        Permission::AnswerTickets,
        Permission::WorkDocuments,
        Permission::ManageEmployees,
        Permission::ImportPayroll,
        Permission::ReadReports,
        Permission::ReadAudit,
        Permission::IssueCards,
        Permission::ManageTills,
        Permission::EditCatalogue,
        Permission::RunMarketing,
    ];

    /// The roles besides administrators that hold it.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Permission::FindCustomers | Permission::KeyPaperForms | Permission::ManageCards => {
                &[Role::Support, Role::StoreManager]
            }
            Permission::AdjustPoints | Permission::AnswerTickets => &[Role::Support],
            Permission::WorkDocuments => &[Role::Hr, Role::Accounting],
            Permission::ManageEmployees => &[Role::Hr],
            Permission::ImportPayroll | Permission::ReadReports => &[Role::Accounting],
            Permission::IssueCards | Permission::ManageTills => &[Role::StoreManager],
            Permission::EditCatalogue => &[Role::Marketing, Role::StoreManager],
            Permission::RunMarketing => &[Role::Marketing],
            Permission::ApproveAdjustments | Permission::ReadAudit => &[],
        }
    }

    /// Whether someone holding `roles` has it.
    pub fn granted_to(self, roles: &[Role]) -> bool {
        acts_as_any(roles, self.roles())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::FindCustomers => "find_customers",
            Permission::AdjustPoints => "adjust_points",
            Permission::KeyPaperForms => "key_paper_forms",
            Permission::ManageCards => "manage_cards",
            Permission::ApproveAdjustments => "approve_adjustments",
            Permission::AnswerTickets => "answer_tickets",
            Permission::WorkDocuments => "work_documents",
            Permission::ManageEmployees => "manage_employees",
            Permission::ImportPayroll => "import_payroll",
            Permission::ReadReports => "read_reports",
            Permission::ReadAudit => "read_audit",
            Permission::IssueCards => "issue_cards",
            Permission::ManageTills => "manage_tills",
            Permission::EditCatalogue => "edit_catalogue",
            Permission::RunMarketing => "run_marketing",
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

/// The most points one adjustment moves, whoever makes it.
pub const ADJUSTMENT_MAX_POINTS: u64 = 1_000_000;
/// A reason's length in characters, for an adjustment and for rejecting one.
pub const REASON_CHARS: std::ops::RangeInclusive<usize> = 3..=500;

/// A reason given for an adjustment or a rejection, trimmed.
pub fn parse_reason(input: &str) -> Result<String, &'static str> {
    let reason = input.trim();
    if REASON_CHARS.contains(&reason.chars().count()) {
        Ok(reason.to_owned())
    } else {
        Err("adjustment_reason_length")
    }
}

/// An adjustment's points: whole, not zero, at most [`ADJUSTMENT_MAX_POINTS`] either way.
/// `None` is what was not a whole number.
pub fn parse_adjustment_points(input: Option<i64>) -> Result<crate::Points, &'static str> {
    input
        .filter(|p| *p != 0 && p.unsigned_abs() <= ADJUSTMENT_MAX_POINTS)
        .map(crate::Points::new)
        .ok_or("adjustment_points_range")
}

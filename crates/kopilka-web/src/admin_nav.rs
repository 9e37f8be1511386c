//! The back office's sections, each shown to the staff whose roles open it: the pages follow
//! the same matrix the service enforces (`Permission::roles`).

use crate::i18n::Texts;
use kopilka_domain::employee::Department;
use kopilka_domain::staff::{acts_as_any, Permission, Role};

pub(crate) struct NavLink {
    pub(crate) href: &'static str,
    pub(crate) label: String,
}

/// What opens a section: a permission of the matrix, or answering one of the departments.
enum Opens {
    Permission(Permission),
    DepartmentThreads,
}

/// In the order of the navigation; the first a staff member may open is their home.
const SECTIONS: [(&str, &str, Opens); 15] = [
    (
        "/admin/members",
        "admin_nav_members",
        Opens::Permission(Permission::FindCustomers),
    ),
    (
        "/admin/tickets",
        "admin_nav_tickets",
        Opens::Permission(Permission::AnswerTickets),
    ),
    (
        "/admin/adjustments",
        "admin_nav_adjustments",
        Opens::Permission(Permission::AdjustPoints),
    ),
    (
        "/admin/offers",
        "admin_nav_offers",
        Opens::Permission(Permission::RunMarketing),
    ),
    (
        "/admin/promotions",
        "admin_nav_promotions",
        Opens::Permission(Permission::RunMarketing),
    ),
    (
        "/admin/paper-forms",
        "admin_nav_paper_forms",
        Opens::Permission(Permission::KeyPaperForms),
    ),
    (
        "/admin/cards",
        "admin_nav_cards",
        Opens::Permission(Permission::IssueCards),
    ),
    (
        "/admin/catalog",
        "admin_nav_catalog",
        Opens::Permission(Permission::EditCatalogue),
    ),
    (
        "/admin/tills",
        "admin_nav_tills",
        Opens::Permission(Permission::ManageTills),
    ),
    (
        "/admin/documents",
        "admin_nav_documents",
        Opens::Permission(Permission::WorkDocuments),
    ),
    (
        "/admin/employees",
        "admin_nav_employees",
        Opens::Permission(Permission::ManageEmployees),
    ),
    (
        "/admin/reports",
        "admin_nav_reports",
        Opens::Permission(Permission::ReadReports),
    ),
    (
        "/admin/payroll",
        "admin_nav_payroll",
        Opens::Permission(Permission::ImportPayroll),
    ),
    (
        "/admin/audit",
        "admin_nav_audit",
        Opens::Permission(Permission::ReadAudit),
    ),
    (
        "/admin/messages",
        "messages_title",
        Opens::DepartmentThreads,
    ),
];

fn opens(opens: &Opens, roles: &[Role]) -> bool {
    match opens {
        Opens::Permission(p) => p.granted_to(roles),
        Opens::DepartmentThreads => Department::ALL
            .iter()
            .any(|d| acts_as_any(roles, d.answered_by())),
    }
}

pub(crate) fn sections(texts: &Texts, roles: &[Role]) -> Vec<NavLink> {
    SECTIONS
        .iter()
        .filter(|(_, _, o)| opens(o, roles))
        .map(|(href, label, _)| NavLink {
            href,
            label: texts.get(label).to_owned(),
        })
        .collect()
}

/// Where a staff member lands after signing in: their first section.
pub(crate) fn home(roles: &[Role]) -> &'static str {
    SECTIONS
        .iter()
        .find(|(_, _, o)| opens(o, roles))
        .map_or("/admin/login", |(href, _, _)| href)
}

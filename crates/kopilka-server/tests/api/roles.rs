//! The role matrix walked: every role (and a staff member with none) against one call of each
//! permission. A role the matrix (`Permission::roles`) grants gets past authorization, any
//! other gets 403, whatever else the call would answer.

use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use kopilka_domain::staff::{Permission, Role};
use serde_json::json;

on_both_stores!(every_role_gets_exactly_what_the_matrix_grants);

/// One call that needs `permission`: (method, path, JSON body). The ids are unknown, so an
/// allowed call that gets that far answers 404, never a change.
fn call(permission: Permission) -> (&'static str, &'static str, Option<serde_json::Value>) {
    match permission {
        Permission::FindCustomers => ("GET", "/admin/members?q=%2B79990000000", None),
        Permission::AdjustPoints => (
            "POST",
            "/admin/members/999999/adjustments",
            Some(json!({ "points": 10, "reason": "проверка ролей" })),
        ),
        Permission::ApproveAdjustments => ("POST", "/admin/adjustments/999999/approve", None),
        Permission::ManageCards => (
            "POST",
            "/admin/members/999999/cards/2700000000007/block",
            None,
        ),
        // A valid form whose card no batch holds: refused after authorization, nothing made.
        Permission::KeyPaperForms => (
            "POST",
            "/admin/paper-forms",
            Some(json!({
                "card_number": "2700000000007", "phone": "+79990000001", "last_name": "Проверкина",
                "gender": "female", "birth_date": "1980-01-01", "city": "Тверь",
                "consents": { "personal_data": true },
            })),
        ),
        Permission::AnswerTickets => ("GET", "/admin/tickets", None),
        Permission::WorkDocuments => ("GET", "/admin/document-requests", None),
        Permission::ManageEmployees => ("GET", "/admin/employees", None),
        // Sent as CSV below: an empty file is refused by its content, after authorization.
        Permission::ImportPayroll => ("POST", "/admin/payroll", None),
        Permission::ReadReports => ("GET", "/admin/reports/liability", None),
        Permission::ReadAudit => ("GET", "/admin/audit", None),
        Permission::IssueCards => ("GET", "/admin/card-batches", None),
        Permission::ManageTills => ("GET", "/admin/tills", None),
        Permission::EditCatalogue => ("GET", "/admin/catalog/products.csv", None),
        Permission::RunMarketing => ("GET", "/admin/offers", None),
    }
}

async fn every_role_gets_exactly_what_the_matrix_grants(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut holders: Vec<(String, Vec<Role>)> = Role::ALL
        .iter()
        .map(|r| (r.as_str().replace('_', "-"), vec![*r]))
        .collect();
    holders.push(("nobody".into(), Vec::new()));
    holders.push(("hr-and-support".into(), vec![Role::Hr, Role::Support]));
    let mut walked = 0;
    for (login, roles) in &holders {
        let token = app.staff_token(login, roles).await;
        for permission in Permission::ALL {
            let (method, path, body) = call(permission);
            let url = format!("{}/api/v1{path}", app.base);
            let mut request = app
                .client
                .request(method.parse().unwrap(), &url)
                .bearer_auth(&token);
            request = match (permission, body) {
                (Permission::ImportPayroll, _) => request
                    .header("content-type", "text/csv")
                    .body(String::new()),
                (_, Some(body)) => request.json(&body),
                (_, None) => request,
            };
            let status = request.send().await.unwrap().status().as_u16();
            let granted = permission.granted_to(roles);
            assert_eq!(
                status == 403,
                !granted,
                "{login} {roles:?} → {} ({method} {path}): {status}",
                permission.as_str()
            );
            assert!(status < 500, "{login} {method} {path}: {status}");
            walked += 1;
        }
    }
    assert_eq!(walked, holders.len() * Permission::ALL.len());
}

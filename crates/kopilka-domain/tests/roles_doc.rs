//! docs/ROLES.md prints the role matrix as the code decides it (`Permission::roles`).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use kopilka_domain::staff::{Permission, Role};

/// The matrix as a Markdown table: a row per permission, a column per role.
fn matrix() -> String {
    let mut table = String::from("| permission |");
    for role in Role::ALL {
        table.push_str(&format!(" {} |", role.as_str()));
    }
    table.push_str("\n|---|");
    for _ in Role::ALL {
        table.push_str(":-:|");
    }
    for permission in Permission::ALL {
        table.push_str(&format!("\n| `{}` |", permission.as_str()));
        for role in Role::ALL {
            let mark = if permission.granted_to(&[role]) {
                "✓"
            } else {
                ""
            };
            table.push_str(&format!(" {mark} |"));
        }
    }
    table
}

#[test]
fn the_roles_page_prints_the_matrix_the_code_enforces() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/ROLES.md")).unwrap();
    let expected = matrix();
    assert!(
        doc.contains(&expected),
        "docs/ROLES.md should hold this table:\n{expected}"
    );
}

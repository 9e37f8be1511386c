//! docs/ARCHITECTURE.md names the workspace as it is: every crate in `crates/` and every
//! storage trait, and nothing that is not there.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The backticked names in the first column of the table whose header starts with `header`.
fn first_column(doc: &str, header: &str) -> Vec<String> {
    let start = doc
        .find(header)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no table {header:?}"));
    let table = doc[start..].lines().take_while(|l| l.starts_with('|'));
    let mut names = Vec::new();
    for line in table.skip(2) {
        let cell = line.split('|').nth(1).unwrap_or("");
        for part in cell.split('`').skip(1).step_by(2) {
            names.push(part.to_owned());
        }
    }
    names.sort();
    names
}

#[test]
fn the_architecture_names_every_crate_and_nothing_else() {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let mut crates: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    crates.sort();
    assert_eq!(first_column(&doc, "| crate |"), crates);
}

#[test]
fn the_architecture_names_every_storage_trait_and_nothing_else() {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let mut traits = Vec::new();
    for entry in std::fs::read_dir(root().join("crates/kopilka-store/src")).unwrap() {
        let path = entry.unwrap().path();
        // The traits live at the crate's top; its folders hold the contract suite.
        if path.is_dir() {
            continue;
        }
        let source = std::fs::read_to_string(path).unwrap();
        for line in source.lines() {
            if let Some(rest) = line.strip_prefix("pub trait ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                traits.push(name);
            }
        }
    }
    traits.sort();
    assert_eq!(first_column(&doc, "| trait |"), traits);
}

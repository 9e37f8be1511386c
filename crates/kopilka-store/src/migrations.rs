//! A check both stores' tests run: no applied migration ever changes. A database that ran
//! one keeps its checksum (sqlx refuses to start against an edited one; rusqlite_migration
//! would not even notice), so a change to what a migration does goes in a new migration.

use sha2::{Digest, Sha256};
use std::path::Path;

/// Compares every file in `<crate>/migrations` with `<crate>/applied-migrations.sha256`
/// (`sha256sum` format). A new migration is added to the list; an old one never changes.
pub fn assert_unchanged(crate_dir: &Path) {
    let listed = std::fs::read_to_string(crate_dir.join("applied-migrations.sha256"))
        .expect("applied-migrations.sha256");
    let mut expected: Vec<(String, String)> = listed
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (hash, file) = l.split_once("  ").expect("<sha256>  <file>");
            (file.to_owned(), hash.to_owned())
        })
        .collect();
    expected.sort();
    let mut found: Vec<(String, String)> = std::fs::read_dir(crate_dir.join("migrations"))
        .expect("migrations/")
        .map(|e| {
            let path = e.expect("an entry").path();
            let bytes = std::fs::read(&path).expect("a migration");
            let hash: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            (file, hash)
        })
        .collect();
    found.sort();
    for (file, hash) in &found {
        match expected.iter().find(|(f, _)| f == file) {
            Some((_, listed)) => assert_eq!(
                hash, listed,
                "{file} changed after it was applied: put the change in a new migration"
            ),
            None => panic!(
                "{file} is new: add `{hash}  {file}` to applied-migrations.sha256 once it ships"
            ),
        }
    }
    let gone: Vec<&String> = expected
        .iter()
        .map(|(f, _)| f)
        .filter(|f| !found.iter().any(|(g, _)| g == *f))
        .collect();
    assert!(gone.is_empty(), "applied migrations removed: {gone:?}");
}

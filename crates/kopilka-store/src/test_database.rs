//! A fresh, empty database for one test, on either store: a file in a temporary folder, or a
//! database of its own on the test server (`test_postgres`). Every test that needs a
//! database takes one here, and it goes when the test ends, failed or not.

use sqlx::{Connection, Executor, PgConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDatabase {
    /// What `Settings::database_url` takes: `sqlite://…` or `postgres://…`.
    pub url: String,
    kept: Kept,
}

enum Kept {
    Folder(tempfile::TempDir),
    Database { name: String },
}

impl TestDatabase {
    pub async fn fresh(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                Self {
                    url: format!("sqlite://{}", dir.path().join("kopilka.db").display()),
                    kept: Kept::Folder(dir),
                }
            }
            Backend::Postgres => {
                let name = format!("kopilka_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = admin().await;
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("a test database");
                let server = crate::test_postgres::server_url();
                let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
                Self {
                    url: format!("{base}/{name}"),
                    kept: Kept::Database { name },
                }
            }
        }
    }

    /// The SQLite file's path; `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match &self.kept {
            Kept::Folder(dir) => Some(dir.path().join("kopilka.db")),
            Kept::Database { .. } => None,
        }
    }
}

async fn admin() -> PgConnection {
    PgConnection::connect(&crate::test_postgres::server_url())
        .await
        .expect("the test PostgreSQL server (see kopilka_store::test_postgres)")
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Kept::Database { name } = &self.kept else {
            return;
        };
        let name = name.clone();
        // Drop runs inside the test's runtime: the async clean-up gets a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let _ = admin()
                    .await
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            });
        })
        .join();
    }
}

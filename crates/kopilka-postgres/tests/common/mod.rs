//! What the PostgreSQL crate's test files share.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};
use std::str::FromStr;

/// The test server (see `kopilka_store::test_postgres`: a configured one, the local one, or
/// one of the tests' own).
pub fn server_options() -> PgConnectOptions {
    PgConnectOptions::from_str(&kopilka_store::test_postgres::server_url()).unwrap()
}

/// A new, empty database on the test server, dropped again by the returned guard.
#[allow(dead_code)] // not every test file makes one
pub async fn fresh_database(name: &str) -> (String, Dropped) {
    let mut admin = PgConnection::connect_with(&server_options()).await.unwrap();
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let options = server_options().database(name);
    let url = format!(
        "postgres://{}@{}:{}/{name}",
        options.get_username(),
        options.get_host(),
        options.get_port()
    );
    (url, Dropped(name.to_owned()))
}

/// Drops the test's database when the test ends, failed or not.
pub struct Dropped(pub String);

impl Drop for Dropped {
    fn drop(&mut self) {
        let name = self.0.clone();
        // Drop runs inside the test's runtime: the async clean-up gets a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = PgConnection::connect_with(&server_options()).await.unwrap();
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .unwrap();
            });
        })
        .join();
    }
}

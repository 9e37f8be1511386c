//! The PostgreSQL server the tests create their databases on. `KOPILKA_TEST_POSTGRES_URL`
//! when set; else the local server on 127.0.0.1:5432 when it answers; else a throwaway
//! cluster of the tests' own, started once from the installed PostgreSQL binaries and shared
//! by every test binary of the run. Without PostgreSQL installed, the tests say in one line
//! what to install.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const LOCAL: &str = "127.0.0.1:5432";
/// The throwaway cluster's port, away from the usual one.
const OWN_PORT: u16 = 54_329;

/// The server's URL (its `postgres` database), starting a cluster if none answers.
pub fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("KOPILKA_TEST_POSTGRES_URL") {
            return url;
        }
        if answers(LOCAL) {
            return format!("postgres://postgres@{LOCAL}/postgres");
        }
        let own = format!("127.0.0.1:{OWN_PORT}");
        if !answers(&own) {
            start_own_cluster();
        }
        format!("postgres://postgres@{own}/postgres")
    })
    .clone()
}

fn answers(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .ok()
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok())
}

fn binaries() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|bin| bin.join("initdb").exists());
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not running on {LOCAL} and not installed: apt-get install postgresql \
             (or set KOPILKA_TEST_POSTGRES_URL)"
        )
    })
}

/// Runs `program` as the `postgres` user when the tests run as root (PostgreSQL refuses to
/// run as root), as the tests' own user otherwise.
fn command(program: &Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start_own_cluster() {
    let bin = binaries();
    let dir = std::env::temp_dir().join("kopilka-test-postgres");
    // One test binary creates the cluster; the others wait for it to answer.
    if std::fs::create_dir(&dir).is_ok() {
        let _ = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status();
        let data = dir.join("data");
        let ok = command(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&data)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "initdb failed in {}", data.display());
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {OWN_PORT} -k {} -c fsync=off",
            dir.display()
        );
        let ok = command(&bin.join("pg_ctl"))
            .args(["-D"])
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.join("log"))
            .args(["-w", "start"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "pg_ctl start failed: see {}", dir.join("log").display());
    }
    for _ in 0..200 {
        if answers(&format!("127.0.0.1:{OWN_PORT}")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the tests' own PostgreSQL did not start: see {} (remove the folder to start afresh)",
        dir.join("log").display()
    );
}

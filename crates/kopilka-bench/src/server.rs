//! The server under test: the real `kopilka` binary in its own process, on a fresh database.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub base: String,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
}

/// The `kopilka` binary built beside this one.
pub fn kopilka_binary() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name("kopilka");
    if !path.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p kopilka-server)",
            path.display()
        );
    }
    Ok(path)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Server {
    /// Starts `kopilka serve --demo` with `env` (database URL, limits) and waits for `/readyz`.
    pub async fn start(binary: &Path, mut env: Vec<(String, String)>) -> Result<Self> {
        let port = free_port()?;
        env.push(("KOPILKA_LISTEN".into(), format!("127.0.0.1:{port}")));
        env.push(("RUST_LOG".into(), "warn".into()));
        let child = Command::new(binary)
            .args(["serve", "--demo"])
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting kopilka serve")?;
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            binary: binary.to_owned(),
            env,
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await {
                if r.status().is_success() {
                    return Ok(server);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("kopilka serve did not become ready")
    }

    /// Runs a `kopilka` command with the server's settings; its standard output.
    pub fn command(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let mut child = Command::new(&self.binary)
            .args(args)
            .envs(
                self.env
                    .iter()
                    .filter(|(k, _)| k != "KOPILKA_LISTEN")
                    .cloned(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            pipe.write_all(input.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "kopilka {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Resident memory of the server process, in MiB.
    pub fn rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .map(str::to_owned)
            })
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Starting and stopping the processes under test.

use crate::Args;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Shopkeeper {
    pub addr: SocketAddr,
    pub binary: PathBuf,
    pub database: String,
    pub restart_ms: f64,
    child: Child,
    dir: Scratch,
}

/// A scratch folder removed on drop.
pub struct Scratch(pub PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn wait_ready(addr: SocketAddr, path: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
            if s.write_all(req.as_bytes()).await.is_ok() {
                let mut buf = [0u8; 16];
                if s.read(&mut buf).await.is_ok() && buf.starts_with(b"HTTP/1.1 200") {
                    return Ok(());
                }
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "server at {addr} did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

impl Shopkeeper {
    pub async fn start(args: &Args) -> anyhow::Result<Self> {
        let binary = match &args.shopkeeper {
            Some(p) => p.clone(),
            None => std::env::current_exe()?.with_file_name("shopkeeper"),
        };
        anyhow::ensure!(
            binary.exists(),
            "{} not found (cargo build --profile dist --workspace)",
            binary.display()
        );
        let dir = std::env::temp_dir().join(format!("shopkeeper-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let database = args
            .database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display()));
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse()?;
        let spawn = || {
            Command::new(&binary)
                .args(["--database", &database, "serve", "--no-demo", "--listen"])
                .arg(addr.to_string())
                // The scenarios hammer one key: the documented per-key quota would cap them.
                .args(["--api-rate-per-key", "0"])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
        };
        // First start creates and migrates the database; the second measures a start on an
        // existing one.
        let mut first = spawn()?;
        wait_ready(addr, "/healthz").await?;
        first.kill()?;
        first.wait()?;
        let t0 = Instant::now();
        let child = spawn()?;
        wait_ready(addr, "/healthz").await?;
        let restart_ms = t0.elapsed().as_secs_f64() * 1000.0;
        Ok(Self {
            addr,
            binary,
            database,
            restart_ms,
            child,
            dir: Scratch(dir),
        })
    }

    /// Runs a CLI command against the server's database; returns its JSON output.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<serde_json::Value> {
        use std::io::Write;
        let mut child = Command::new(&self.binary)
            .args(["--database", &self.database])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes())?;
        }
        drop(child.stdin.take());
        let out = child.wait_with_output()?;
        anyhow::ensure!(out.status.success(), "shopkeeper {args:?} failed");
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    pub fn rss_mb(&self) -> f64 {
        rss_mb(self.child.id())
    }

    /// The scratch folder (removed when the bench ends).
    pub fn scratch(&self) -> &Path {
        &self.dir.0
    }

    /// Bytes of the SQLite database file and of its write-ahead log; `None` for another
    /// database.
    pub fn sqlite_bytes(&self) -> Option<(u64, u64)> {
        let rest = self
            .database
            .strip_prefix("sqlite://")
            .or_else(|| self.database.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        Some((size(path), size(&format!("{path}-wal"))))
    }
}

impl Drop for Shopkeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// node-oidc-provider, installed with npm into a scratch folder on first use.
pub struct Peer {
    pub addr: SocketAddr,
    child: Child,
}

impl Peer {
    pub async fn start() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join("shopkeeper-bench-peer");
        std::fs::create_dir_all(&dir)?;
        if !dir.join("node_modules/oidc-provider").exists() {
            let status = Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .arg("oidc-provider@8")
                .status()?;
            anyhow::ensure!(status.success(), "npm install oidc-provider failed");
        }
        std::fs::write(
            dir.join("package.json"),
            r#"{"type":"module","private":true}"#,
        )?;
        std::fs::write(dir.join("server.mjs"), include_str!("../peer/server.mjs"))?;
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse()?;
        let child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .env("PORT", addr.port().to_string())
            .env("NODE_ENV", "production")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        wait_ready(addr, "/.well-known/openid-configuration").await?;
        Ok(Self { addr, child })
    }

    pub fn rss_mb(&self) -> f64 {
        rss_mb(self.child.id())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

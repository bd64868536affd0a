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
    wait_ready_within(addr, path, Duration::from_secs(30)).await
}

async fn wait_ready_within(addr: SocketAddr, path: &str, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
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

/// The shopkeeper binary: `--shopkeeper`, or the one beside the bench's.
pub fn binary(args: &Args) -> anyhow::Result<PathBuf> {
    let binary = match &args.shopkeeper {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("shopkeeper"),
    };
    anyhow::ensure!(
        binary.exists(),
        "{} not found (cargo build --profile dist --workspace)",
        binary.display()
    );
    Ok(binary)
}

impl Shopkeeper {
    pub async fn start(args: &Args) -> anyhow::Result<Self> {
        Self::start_on(&binary(args)?, args.database.as_deref(), "bench").await
    }

    /// Starts the binary on `database` (default: a fresh SQLite file `{name}.db` in a scratch
    /// folder of its own).
    pub async fn start_on(
        binary: &Path,
        database: Option<&str>,
        name: &str,
    ) -> anyhow::Result<Self> {
        let binary = binary.to_path_buf();
        let dir =
            std::env::temp_dir().join(format!("shopkeeper-bench-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let database = database
            .map(str::to_owned)
            .unwrap_or_else(|| format!("sqlite://{}/{name}.db", dir.display()));
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

/// The files of the Vendure peer (bench/peer/vendure), written into its scratch folder.
const VENDURE_FILES: &[(&str, &str)] = &[
    ("package.json", include_str!("../peer/vendure/package.json")),
    (
        "package-lock.json",
        include_str!("../peer/vendure/package-lock.json"),
    ),
    (
        "vendure-config.js",
        include_str!("../peer/vendure/vendure-config.js"),
    ),
    ("server.js", include_str!("../peer/vendure/server.js")),
    ("worker.js", include_str!("../peer/vendure/worker.js")),
    ("seed.js", include_str!("../peer/vendure/seed.js")),
];

/// Vendure (npm `@vendure/core`, the versions of bench/peer/vendure/package-lock.json): its
/// API server and its worker, as its docs run them in production.
pub struct Vendure {
    /// The API servers' addresses, one per server process.
    pub addrs: Vec<SocketAddr>,
    servers: Vec<Child>,
    worker: Child,
}

/// The environment bench/peer/vendure's scripts read their database from.
fn vendure_env(command: &mut Command, database: &str) -> anyhow::Result<()> {
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(database)?;
    command
        .env("DB_HOST", options.get_host())
        .env("DB_PORT", options.get_port().to_string())
        .env("DB_USER", options.get_username())
        .env(
            "DB_NAME",
            options
                .get_database()
                .ok_or_else(|| anyhow::anyhow!("{database} names no database"))?,
        )
        .env("NODE_ENV", "production");
    Ok(())
}

impl Vendure {
    /// Writes the peer's files into a scratch folder and installs its locked dependencies
    /// there (`npm ci`), unless that lock is installed already. Returns the folder.
    pub fn install() -> anyhow::Result<PathBuf> {
        let dir = std::env::temp_dir().join("shopkeeper-bench-vendure");
        std::fs::create_dir_all(&dir)?;
        let lock = VENDURE_FILES[1].1;
        let installed = std::fs::read_to_string(dir.join("node_modules/.bench-lock")).ok();
        for (name, text) in VENDURE_FILES {
            std::fs::write(dir.join(name), text)?;
        }
        if installed.as_deref() != Some(lock) {
            println!("vendure: npm ci in {}", dir.display());
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel", "error"])
                .current_dir(&dir)
                .status()?;
            anyhow::ensure!(status.success(), "npm ci (vendure) failed");
            std::fs::write(dir.join("node_modules/.bench-lock"), lock)?;
        }
        Ok(dir)
    }

    /// Creates the schema on `database` and seeds it (`seed.js`); returns what it printed.
    pub fn seed(
        dir: &Path,
        database: &str,
        products: u64,
        orders: u64,
    ) -> anyhow::Result<serde_json::Value> {
        let mut command = Command::new("node");
        command
            .arg("seed.js")
            .args(["--products", &products.to_string()])
            .args(["--orders", &orders.to_string()])
            // It starts Vendure to place its template order through the Shop API.
            .env("PORT", free_port().to_string())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        vendure_env(&mut command, database)?;
        let out = command.output()?;
        anyhow::ensure!(out.status.success(), "vendure seed.js failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .ok_or_else(|| anyhow::anyhow!("seed.js printed no JSON: {text}"))?;
        Ok(serde_json::from_str(last)?)
    }

    /// Starts `servers` API server processes (each on a port of its own, each with
    /// `pool_size` database connections) and the worker on `database` (seeded).
    pub async fn start(
        dir: &Path,
        database: &str,
        servers: usize,
        pool_size: usize,
    ) -> anyhow::Result<Self> {
        let spawn = |script: &str, port: u16| -> anyhow::Result<Child> {
            let mut command = Command::new("node");
            command
                .arg(script)
                .current_dir(dir)
                .env("PORT", port.to_string())
                .env("WORKER_HEALTH_PORT", port.to_string())
                .env("POOL_SIZE", pool_size.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit());
            vendure_env(&mut command, database)?;
            Ok(command.spawn()?)
        };
        let worker = spawn("worker.js", free_port())?;
        let mut this = Self {
            addrs: Vec::new(),
            servers: Vec::new(),
            worker,
        };
        for _ in 0..servers.max(1) {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse()?;
            this.servers.push(spawn("server.js", addr.port())?);
            this.addrs.push(addr);
        }
        for addr in &this.addrs {
            wait_ready_within(*addr, "/health", Duration::from_secs(120)).await?;
        }
        Ok(this)
    }

    /// The servers' and the worker's RSS together.
    pub fn rss_mb(&self) -> f64 {
        self.servers.iter().map(|c| rss_mb(c.id())).sum::<f64>() + rss_mb(self.worker.id())
    }
}

impl Drop for Vendure {
    fn drop(&mut self) {
        for child in self.servers.iter_mut().chain([&mut self.worker]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

//! The benchmark scenarios, as the documented API is called by real clients.

use crate::load::{Scenario, Worker};
use crate::server::Shopkeeper;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use std::sync::Arc;

const PASSWORD: &str = "bench password 1234";

/// Keys, a shopper and pre-issued tokens, provisioned once per run.
pub struct Fixtures {
    public_basic: String,
    confidential_basic: String,
    /// Limited access tokens the check scenarios present, one per connection.
    access: Vec<String>,
    /// Refresh tokens, one chain per connection.
    refresh: Vec<String>,
}

fn form_post(path: &str, auth: &str, body: String) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "127.0.0.1")
        .header("authorization", auth)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn get(path: &str, bearer: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {bearer}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn field(body: &[u8], name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(v[name].as_str()?.to_owned())
}

impl Fixtures {
    pub async fn provision(server: &Shopkeeper, connections: usize) -> anyhow::Result<Self> {
        server.cli(
            &["site", "create", "--id", "bench", "--session-ttl", "3600"],
            None,
        )?;
        let public = server.cli(
            &["client", "create", "--site", "bench", "--kind", "public"],
            None,
        )?;
        let confidential = server.cli(
            &[
                "client",
                "create",
                "--site",
                "bench",
                "--kind",
                "confidential",
            ],
            None,
        )?;
        server.cli(
            &[
                "shopper",
                "create",
                "--site",
                "bench",
                "--username",
                "bench",
                "--password-stdin",
            ],
            Some(PASSWORD),
        )?;
        let public_basic = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:", public["api_key"].as_str().unwrap()))
        );
        let confidential_basic = format!(
            "Basic {}",
            STANDARD.encode(format!(
                "{}:{}",
                confidential["api_key"].as_str().unwrap(),
                confidential["secret"].as_str().unwrap()
            ))
        );
        // Pre-issue one pair per connection through the API itself.
        let mut access = Vec::new();
        let mut refresh = Vec::new();
        let issue = Arc::new(Anonymous {
            auth: public_basic.clone(),
        });
        for _ in 0..connections {
            let (a, r) = one_pair(server, issue.clone()).await?;
            access.push(a);
            refresh.push(r);
        }
        Ok(Self {
            public_basic,
            confidential_basic,
            access,
            refresh,
        })
    }

    pub fn worker(&self, id: usize) -> Worker {
        Worker {
            id,
            token: Some(self.refresh[id % self.refresh.len()].clone()),
        }
    }
}

async fn one_pair(server: &Shopkeeper, s: Arc<Anonymous>) -> anyhow::Result<(String, String)> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(server.addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut w = Worker::default();
    let response = sender.send_request(s.request(&mut w)).await?;
    let body = response.into_body().collect().await?.to_bytes();
    Ok((
        field(&body, "access_token").ok_or_else(|| anyhow::anyhow!("no token"))?,
        field(&body, "refresh_token").unwrap(),
    ))
}

struct Anonymous {
    auth: String,
}
impl Scenario for Anonymous {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        form_post("/oauth20/token", &self.auth, "grant_type=password".into())
    }
}

struct ClientCredentials {
    auth: String,
}
impl Scenario for ClientCredentials {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        form_post(
            "/oauth20/token",
            &self.auth,
            "grant_type=client_credentials".into(),
        )
    }
}

/// Each connection walks its own refresh chain.
struct Refresh {
    auth: String,
}
impl Scenario for Refresh {
    fn request(&self, w: &mut Worker) -> Request<Full<Bytes>> {
        let token = w.token.clone().unwrap_or_default();
        form_post(
            "/oauth20/token",
            &self.auth,
            format!("grant_type=refresh_token&refresh_token={token}"),
        )
    }
    fn observe(&self, w: &mut Worker, status: u16, body: &[u8]) -> bool {
        if status == 200 {
            w.token = field(body, "refresh_token");
        }
        status == 200
    }
}

/// A bearer check on a protected read.
struct Check {
    path: &'static str,
    tokens: Vec<String>,
}
impl Scenario for Check {
    fn request(&self, w: &mut Worker) -> Request<Full<Bytes>> {
        get(self.path, &self.tokens[w.id % self.tokens.len()])
    }
}

struct Password {
    auth: String,
}
impl Scenario for Password {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        form_post(
            "/oauth20/token",
            &self.auth,
            format!(
                "grant_type=password&username=bench&password={}",
                PASSWORD.replace(' ', "+")
            ),
        )
    }
}

struct Ceiling;
impl Scenario for Ceiling {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        Request::get("/healthz")
            .header("host", "127.0.0.1")
            .body(Full::new(Bytes::new()))
            .unwrap()
    }
}

struct PeerClientCredentials;
impl Scenario for PeerClientCredentials {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        form_post(
            "/token",
            &format!(
                "Basic {}",
                STANDARD.encode("bench:bench-secret-bench-secret-bench-secret")
            ),
            "grant_type=client_credentials".into(),
        )
    }
}

pub fn simple(f: &Fixtures) -> Vec<(&'static str, Arc<dyn Scenario>)> {
    vec![
        ("ceiling", Arc::new(Ceiling)),
        (
            "anonymous",
            Arc::new(Anonymous {
                auth: f.public_basic.clone(),
            }),
        ),
        (
            "client-credentials",
            Arc::new(ClientCredentials {
                auth: f.confidential_basic.clone(),
            }),
        ),
        (
            "refresh",
            Arc::new(Refresh {
                auth: f.public_basic.clone(),
            }),
        ),
        ("check-me", check_me(f)),
        (
            "check-access-tokens",
            Arc::new(Check {
                path: "/oauth20/access-tokens",
                tokens: f.access.clone(),
            }),
        ),
    ]
}

/// The bearer check on the Shopper API's most common protected read.
pub fn check_me(f: &Fixtures) -> Arc<dyn Scenario> {
    Arc::new(Check {
        path: "/v1/shoppers/me",
        tokens: f.access.clone(),
    })
}

pub fn password(f: &Fixtures) -> Arc<dyn Scenario> {
    Arc::new(Password {
        auth: f.public_basic.clone(),
    })
}

pub fn peer_client_credentials() -> Arc<dyn Scenario> {
    Arc::new(PeerClientCredentials)
}

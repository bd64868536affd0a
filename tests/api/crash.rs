//! Crash safety: the real binary is killed with SIGKILL in the middle of a burst of token
//! requests; restarted on the same database, every token it had answered with 200 still
//! validates (an answered token was committed before its answer was sent).

use crate::helpers::{free_port, suite_database};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn start(database: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_shopkeeper"))
        .args(["--database", database])
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--argon2-memory-kib", "1024", "--argon2-iterations", "1"])
        .env("SHOPKEEPER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become healthy");
}

#[tokio::test]
async fn tokens_answered_before_a_sigkill_still_validate_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = suite_database(&dir.path().join("crash.db")).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(&database, port);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let demo: Value = serde_json::from_str(&line).expect("demo JSON on stdout");
    let public = demo["demo"]["public_client"]["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    wait_healthy(&http, &base).await;

    // Four clients hammer the token endpoint; every 200 is recorded.
    let answered: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut burst = Vec::new();
    for _ in 0..4 {
        let (http, base, public, answered) =
            (http.clone(), base.clone(), public.clone(), answered.clone());
        burst.push(tokio::spawn(async move {
            loop {
                let sent = http
                    .post(format!("{base}/oauth20/token"))
                    .basic_auth(&public, None::<&str>)
                    .form(&[("grant_type", "password")])
                    .send()
                    .await;
                let Ok(r) = sent else { return };
                if r.status() != 200 {
                    continue;
                }
                let Ok(body) = r.json::<Value>().await else {
                    return;
                };
                answered.lock().unwrap().push((
                    body["access_token"].as_str().unwrap().to_owned(),
                    body["refresh_token"].as_str().unwrap().to_owned(),
                ));
            }
        }));
    }
    // Kill once the burst is well under way, while requests are in flight.
    while answered.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SAFETY: signalling our own child process by its id.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGKILL) }, 0);
    child.wait().unwrap();
    for task in burst {
        task.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 200);

    let mut child = start(&database, port);
    wait_healthy(&http, &base).await;
    for (access, _) in &answered {
        let r = http
            .get(format!("{base}/oauth20/access-tokens"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "a token answered before the crash is gone");
    }
    // And the last refresh tokens answered still refresh.
    for (_, refresh) in answered.iter().rev().take(10) {
        let r = http
            .post(format!("{base}/oauth20/token"))
            .basic_auth(&public, None::<&str>)
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    child.kill().ok();
    child.wait().ok();
}

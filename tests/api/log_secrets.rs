//! Runs the real binary with debug logging (JSON lines), drives every flow that hands out or
//! receives a secret, and greps everything it logged for those secrets. Also checks that
//! request log lines carry the request id, and that debug is not drowned in driver noise.
use crate::helpers::free_port;
use base64::Engine as _;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn debug_logs_never_contain_tokens_secrets_or_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_shopkeeper"))
        .args([
            "--database",
            &format!("sqlite://{}", dir.path().join("db.sqlite").display()),
        ])
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .args(["--argon2-memory-kib", "1024", "--argon2-iterations", "1"])
        .env("SHOPKEEPER_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut s = String::new();
        BufReader::new(stderr).read_to_string(&mut s).unwrap();
        s
    });
    // The demo credentials: printed once to stdout, not logged.
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let demo: Value = serde_json::from_str(&line).expect("demo JSON on stdout");
    let demo = &demo["demo"];
    let public = demo["public_client"]["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let conf = demo["confidential_client"]["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let conf_secret = demo["confidential_client"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let username = demo["shopper"]["username"].as_str().unwrap().to_owned();
    let password = demo["shopper"]["password"].as_str().unwrap().to_owned();
    let wrong_password = "not-the-password-9f3a1c";

    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut secrets = vec![
        conf_secret.clone(),
        password.clone(),
        wrong_password.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(format!("{conf}:{conf_secret}")),
    ];
    let token = |form: Vec<(&'static str, String)>, basic: (String, Option<String>)| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let r = http
                .post(format!("{base}/oauth20/token"))
                .basic_auth(basic.0, basic.1)
                .form(&form)
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let public_auth = (public.clone(), None::<String>);
    let conf_auth = (conf.clone(), Some(conf_secret.clone()));
    let mut pairs = vec![
        token(vec![("grant_type", "password".into())], public_auth.clone()).await,
        token(
            vec![
                ("grant_type", "password".into()),
                ("username", username.clone()),
                ("password", password.clone()),
            ],
            public_auth.clone(),
        )
        .await,
        token(
            vec![("grant_type", "client_credentials".into())],
            conf_auth.clone(),
        )
        .await,
    ];
    let failed = token(
        vec![
            ("grant_type", "password".into()),
            ("username", username.clone()),
            ("password", wrong_password.into()),
        ],
        public_auth.clone(),
    )
    .await;
    assert_eq!(failed["error"], "invalid_grant");
    let refresh = pairs[1]["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = token(
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh.clone()),
        ],
        public_auth.clone(),
    )
    .await;
    // A replay inside the grace window (the same pair again).
    token(
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh),
        ],
        public_auth.clone(),
    )
    .await;
    pairs.push(refreshed);
    let legacy: Value = http
        .get(format!("{base}/v1/shoppers/token?apiKey={public}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    pairs.push(legacy);
    for p in &pairs {
        let access = p["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{p}"))
            .to_owned();
        let refresh = p["refresh_token"].as_str().unwrap().to_owned();
        // Token in the header and in the query string.
        http.get(format!("{base}/oauth20/access-tokens"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        http.get(format!("{base}/oauth20/access-tokens?token={access}"))
            .send()
            .await
            .unwrap();
        http.post(format!("{base}/oauth20/introspect"))
            .basic_auth(&conf, Some(&conf_secret))
            .form(&[("token", &access)])
            .send()
            .await
            .unwrap();
        secrets.push(access);
        secrets.push(refresh);
    }
    let last = pairs.last().unwrap();
    http.post(format!("{base}/oauth20/revoke"))
        .basic_auth(&public, None::<&str>)
        .form(&[("token", last["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    http.delete(format!("{base}/oauth20/access-tokens"))
        .bearer_auth(pairs[0]["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();

    // SIGTERM: a graceful stop.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "shopkeeper exited with {exit}");
    let logs = logs.join().unwrap();

    assert!(
        logs.lines().count() > 20,
        "debug logging produced too little: {logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret appears in the logs"
        );
    }
    // Every request's line, and every line logged while serving one, names the request id;
    // the drivers stay quiet at debug unless named (no statement per query).
    let mut request_lines = 0;
    for line in logs.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        let target = v["target"].as_str().unwrap_or("");
        assert!(
            !["sqlx", "hyper", "tower", "mio"]
                .iter()
                .any(|noisy| target.starts_with(noisy)),
            "driver noise at debug: {line}"
        );
        let id = if target == "shopkeeper::request" {
            request_lines += 1;
            &v["fields"]["request_id"]
        } else if v["span"]["name"] == "request" {
            &v["span"]["request_id"]
        } else {
            continue;
        };
        assert!(
            id.as_str().is_some_and(|id| !id.is_empty()),
            "no request id: {line}"
        );
    }
    assert!(request_lines > 10, "{logs}");
}

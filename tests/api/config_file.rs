//! The TOML configuration file: `config check` validates one, and `serve --config` takes its
//! options with flags and environment variables ranking above it.

use crate::helpers::free_port;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_shopkeeper");

#[test]
fn config_check_accepts_a_valid_file_and_names_what_is_wrong() {
    if crate::helpers::storage_free_test_ran_in_first_pass() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "listen = \"127.0.0.1:9999\"\nrefresh-grace-seconds = 5\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"valid\":true"));

    for (name, text, says) in [
        ("unknown.toml", "lissen = \"x\"\n", "unknown option"),
        (
            "value.toml",
            "refresh-grace-seconds = \"soon\"\n",
            "refresh-grace-seconds",
        ),
        ("syntax.toml", "listen = \n", "invalid TOML"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = Command::new(BIN)
            .args(["config", "check"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{name}: {err}");
    }
}

/// `shopkeeper --config FILE serve ARGS` with `env` set (and no other `SHOPKEEPER_LISTEN`),
/// once it answers on `port`; `None` if it never does.
async fn serve_with(
    file: &Path,
    args: &[String],
    env: &[(&str, String)],
    port: u16,
) -> Option<std::process::Child> {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(file)
        .arg("serve")
        .args(args)
        .env_remove("SHOPKEEPER_LISTEN")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Some(child);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

fn stop(mut child: std::process::Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A file in `dir` that sets `listen` to `port`, no demo data and a database in `dir`.
fn listen_file(dir: &Path, port: u16) -> std::path::PathBuf {
    let file = dir.join("shopkeeper.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:{port}\"\nno-demo = true\ndatabase = \"sqlite://{}/db.sqlite\"\n",
            dir.display()
        ),
    )
    .unwrap();
    file
}

#[tokio::test]
async fn serve_takes_options_from_the_file_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let (file_port, flag_port) = (free_port(), free_port());
    let file = listen_file(dir.path(), file_port);
    for (extra, port) in [
        (vec![], file_port),
        (
            vec!["--listen".to_owned(), format!("127.0.0.1:{flag_port}")],
            flag_port,
        ),
    ] {
        let up = serve_with(&file, &extra, &[], port).await;
        let up = up.map(stop).is_some();
        assert!(up, "server not listening on the port from {extra:?}");
    }
}

#[tokio::test]
async fn flags_beat_environment_variables_which_beat_the_file_which_beats_defaults() {
    if crate::helpers::storage_free_test_ran_in_first_pass() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (file_port, env_port, flag_port) = (free_port(), free_port(), free_port());
    let file = listen_file(dir.path(), file_port);
    let env = [("SHOPKEEPER_LISTEN", format!("127.0.0.1:{env_port}"))];
    let flag = ["--listen".to_owned(), format!("127.0.0.1:{flag_port}")];
    let child = serve_with(&file, &[], &[], file_port).await;
    assert!(
        child.map(stop).is_some(),
        "the file's listen beats the default"
    );
    let child = serve_with(&file, &[], &env, env_port).await;
    assert!(child.map(stop).is_some(), "the environment beats the file");
    let child = serve_with(&file, &flag, &env, flag_port).await;
    assert!(child.map(stop).is_some(), "the flag beats the environment");
}

/// A TOML array for a list option reaches the server whole: with the second of two trusted
/// proxies being the test's own address, `X-Forwarded-For` names the client the throttle counts.
#[tokio::test]
async fn a_toml_array_sets_every_value_of_a_list_option() {
    if crate::helpers::storage_free_test_ran_in_first_pass() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let file = dir.path().join("shopkeeper.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase = \"sqlite://{}/db.sqlite\"\n\
             trusted-proxies = [\"10.0.0.1\", \"127.0.0.1\"]\n\
             throttle-ip-failures = 2\nthrottle-user-failures = 100\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let child = serve_with(&file, &[], &[], port).await.expect("server up");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let start: serde_json::Value = http
        .get(format!("{base}/start/config.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = start["apiKey"].as_str().unwrap().to_owned();
    let attempt = |from: &'static str, n: usize| {
        http.post(format!("{base}/oauth20/token"))
            .basic_auth(&key, None::<&str>)
            .header("x-forwarded-for", from)
            .form(&[
                ("grant_type", "password"),
                ("username", &format!("guess{n}@example.com")),
                ("password", "x"),
            ])
            .send()
    };
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(attempt("203.0.113.5", n).await.unwrap().status().as_u16());
    }
    let other = attempt("203.0.113.6", 9).await.unwrap().status().as_u16();
    stop(child);
    assert_eq!(statuses, [400, 400, 400, 429]);
    assert_eq!(other, 400, "another forwarded client is not throttled");
}

/// What `serve --config FILE` prints for a file it refuses: one JSON line on stderr, with no
/// `error:` prefix inside the message.
fn refused(file: &Path) -> String {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(file)
        .args(["serve", "--listen", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let value: serde_json::Value = serde_json::from_str(&stderr).unwrap();
    let message = value["error"]["message"].as_str().unwrap().to_owned();
    assert!(!message.contains("error:"), "{message}");
    message
}

#[test]
fn a_bad_value_or_an_unknown_key_is_named_once_with_the_file() {
    if crate::helpers::storage_free_test_ran_in_first_pass() {
        return;
    }
    let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    let (file, name) = (file.path(), file.path().display());
    for (text, says) in [
        (
            "refresh-grace-seconds = \"soon\"\n",
            "refresh-grace-seconds: invalid value \"soon\": invalid digit found in string",
        ),
        (
            "log-format = \"xml\"\n",
            "log-format: invalid value \"xml\": expected one of pretty, json",
        ),
        (
            "trusted-proxies = [\"10.0.0.1\", \"nope\"]\n",
            "trusted-proxies: invalid value \"nope\": invalid IP address syntax",
        ),
        (
            "listen = \"127.0.0.1:1\"\nlissen = \"x\"\n",
            "unknown option \"lissen\" (keys are the long flag names)",
        ),
    ] {
        std::fs::write(file, text).unwrap();
        assert_eq!(refused(file), format!("config file {name}: {says}"));
    }
}

//! The TOML configuration file: `config check` validates one, and `serve --config` takes its
//! options with flags and environment variables ranking above it.

use crate::helpers::free_port;
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

#[tokio::test]
async fn serve_takes_options_from_the_file_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let (file_port, flag_port) = (free_port(), free_port());
    let file = dir.path().join("shopkeeper.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:{file_port}\"\nno-demo = true\ndatabase = \"sqlite://{}/db.sqlite\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let http = reqwest::Client::new();
    for (extra, port) in [
        (vec![], file_port),
        (
            vec!["--listen".to_owned(), format!("127.0.0.1:{flag_port}")],
            flag_port,
        ),
    ] {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(&file)
            .arg("serve")
            .args(&extra)
            .env_remove("SHOPKEEPER_LISTEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut up = false;
        for _ in 0..100 {
            if http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(up, "server not listening on the port from {extra:?}");
    }
}

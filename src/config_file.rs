//! The TOML configuration file (`--config FILE`): one precedence order for every option,
//! flags > environment variables > the file > defaults.
//!
//! The file's keys are the long flag names (`listen = "0.0.0.0:8080"`,
//! `refresh-grace-seconds = 10`). Each is applied by setting the flag's environment variable
//! when it is not already set, so the file ranks below the environment and flags, and clap
//! validates file values exactly as it validates the same value given as a flag.

use clap::Command;
use std::collections::BTreeMap;

/// `(flag name, environment variable)` for every option of `command` and its subcommands.
fn env_names(command: &Command, out: &mut BTreeMap<String, String>) {
    for arg in command.get_arguments() {
        if let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) {
            out.insert(long.to_owned(), env.to_string_lossy().into_owned());
        }
    }
    for sub in command.get_subcommands() {
        env_names(sub, out);
    }
}

/// Reads the file and returns the environment assignments it implies (every key checked).
pub fn assignments(command: &Command, text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let table: toml::Table = text
        .parse()
        .map_err(|e| anyhow::anyhow!("invalid TOML: {e}"))?;
    let mut known = BTreeMap::new();
    env_names(command, &mut known);
    let mut out = Vec::new();
    for (key, value) in table {
        let env = known.get(&key).ok_or_else(|| {
            anyhow::anyhow!("unknown option {key:?} (keys are the long flag names)")
        })?;
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                anyhow::bail!("option {key:?}: expected a string, number or boolean, got {other}")
            }
        };
        out.push((env.clone(), text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn cmd() -> Command {
        Command::new("t").subcommand(
            Command::new("serve").arg(Arg::new("listen").long("listen").env("T_LISTEN")),
        )
    }

    #[test]
    fn keys_map_to_their_environment_variables() {
        let a = assignments(&cmd(), "listen = \"0.0.0.0:1\"").unwrap();
        assert_eq!(a, vec![("T_LISTEN".to_owned(), "0.0.0.0:1".to_owned())]);
    }

    #[test]
    fn unknown_keys_and_bad_toml_are_refused() {
        assert!(assignments(&cmd(), "lissen = 1").is_err());
        assert!(assignments(&cmd(), "listen = ").is_err());
        assert!(assignments(&cmd(), "listen = [1]").is_err());
    }
}

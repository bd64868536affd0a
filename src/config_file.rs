//! The TOML configuration file (`--config FILE`): one precedence order for every option,
//! flags > environment variables > the file > defaults.
//!
//! The file's keys are the long flag names (`listen = "0.0.0.0:8080"`,
//! `refresh-grace-seconds = 10`). Each is applied by setting the flag's environment variable
//! when it is not already set, so the file ranks below the environment and flags, and clap
//! validates file values exactly as it validates the same value given as a flag.

use clap::Command;
use std::collections::BTreeMap;

/// An option the file may set: its environment variable, and the separator of its list
/// values (`trusted-proxies = ["10.0.0.1", "10.0.0.2"]`) when it takes a list.
struct FileOption {
    env: String,
    delimiter: Option<char>,
}

/// Every option of `command` and its subcommands, by flag name.
fn env_names(command: &Command, out: &mut BTreeMap<String, FileOption>) {
    for arg in command.get_arguments() {
        if let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) {
            out.insert(
                long.to_owned(),
                FileOption {
                    env: env.to_string_lossy().into_owned(),
                    delimiter: arg.get_value_delimiter(),
                },
            );
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
        let option = known.get(&key).ok_or_else(|| {
            anyhow::anyhow!("unknown option {key:?} (keys are the long flag names)")
        })?;
        let text = match (value, option.delimiter) {
            (toml::Value::Array(items), Some(delimiter)) => items
                .into_iter()
                .map(|item| {
                    scalar(item).ok_or_else(|| {
                        anyhow::anyhow!("option {key:?}: a list of strings or numbers expected")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?
                .join(&delimiter.to_string()),
            (value, _) => scalar(value).ok_or_else(|| {
                anyhow::anyhow!(
                    "option {key:?}: expected a string, number or boolean{}",
                    if option.delimiter.is_some() {
                        ", or a list of them"
                    } else {
                        ""
                    }
                )
            })?,
        };
        out.push((option.env.clone(), text));
    }
    Ok(out)
}

fn scalar(value: toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn cmd() -> Command {
        Command::new("t").subcommand(
            Command::new("serve")
                .arg(Arg::new("listen").long("listen").env("T_LISTEN"))
                .arg(
                    Arg::new("proxies")
                        .long("proxies")
                        .env("T_PROXIES")
                        .value_delimiter(','),
                ),
        )
    }

    #[test]
    fn lists_are_accepted_for_list_options_only() {
        let a = assignments(&cmd(), "proxies = [\"10.0.0.1\", \"10.0.0.2\"]").unwrap();
        assert_eq!(
            a,
            vec![("T_PROXIES".to_owned(), "10.0.0.1,10.0.0.2".to_owned())]
        );
        let a = assignments(&cmd(), "proxies = \"10.0.0.1\"").unwrap();
        assert_eq!(a, vec![("T_PROXIES".to_owned(), "10.0.0.1".to_owned())]);
        assert!(assignments(&cmd(), "proxies = [[1]]").is_err());
        assert!(assignments(&cmd(), "listen = [\"a\", \"b\"]").is_err());
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

//! The TOML configuration file (`--config FILE`): one precedence order for every option,
//! flags > environment variables > the file > defaults.
//!
//! The file's keys are the long flag names (`listen = "0.0.0.0:8080"`,
//! `refresh-grace-seconds = 10`, `trusted-proxies = ["10.0.0.1", "10.0.0.2"]`). The clap
//! definitions stay the one source of every option's name, environment variable, default,
//! parser and help: figment reads the file, and each value the command line and the environment
//! leave at its default becomes that option's default, parsed by the option's own clap parser.

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use figment::value::{Dict, Num, Value};
use figment::{
    Figment,
    providers::{Format, Toml},
};
use std::path::{Path, PathBuf};

/// A configuration file read and its keys checked: every key names an option.
#[derive(Debug)]
pub struct ConfigFile {
    path: PathBuf,
    values: Dict,
}

/// One value of the file for one option, ready for its parser.
struct FileValue {
    /// The names of the subcommands between the root and the command defining the option.
    path: Vec<String>,
    arg: Arg,
    values: Vec<String>,
}

impl ConfigFile {
    /// Reads `path`, refusing bad TOML and keys that name no option of `command` or its
    /// subcommands.
    pub fn read(path: &Path, command: &Command) -> anyhow::Result<Self> {
        let name = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {name}: {e}"))?;
        let values: Dict = Figment::from(Toml::string(&text))
            .extract()
            .map_err(|e| anyhow::anyhow!("config file {name}: invalid TOML: {}", e.kind))?;
        let file = Self {
            path: path.to_owned(),
            values,
        };
        for key in file.values.keys() {
            if find_option(command, key, &mut Vec::new()).is_none() {
                anyhow::bail!(
                    "config file {name}: unknown option {key:?} (keys are the long flag names)"
                );
            }
        }
        Ok(file)
    }

    /// `config check`: every value is one its option's parser accepts. Returns how many
    /// options the file sets.
    pub fn check(&self, command: &Command) -> anyhow::Result<usize> {
        for key in self.values.keys() {
            if let Some((arg, path)) = find_option(command, key, &mut Vec::new()) {
                self.value_for(key, arg, path)?;
            }
        }
        Ok(self.values.len())
    }

    /// `command` with the file's values as the defaults of the options that `matches` (the
    /// command line parsed without the file) took from neither a flag nor the environment.
    /// Parsing the same arguments with it gives flags > environment > file > defaults.
    pub fn layer(&self, command: Command, matches: &ArgMatches) -> anyhow::Result<Command> {
        let mut layered = Vec::new();
        self.collect(&command, matches, &mut Vec::new(), &mut layered)?;
        Ok(layered.into_iter().fold(command, set_default))
    }

    fn collect(
        &self,
        command: &Command,
        matches: &ArgMatches,
        path: &mut Vec<String>,
        out: &mut Vec<FileValue>,
    ) -> anyhow::Result<()> {
        for arg in command.get_arguments() {
            let Some(key) = file_key(arg) else { continue };
            if !self.values.contains_key(key)
                || matches!(
                    matches.value_source(arg.get_id().as_str()),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
            {
                continue;
            }
            out.push(self.value_for(key, arg, path.clone())?);
        }
        if let Some((name, sub_matches)) = matches.subcommand()
            && let Some(sub) = command.find_subcommand(name)
        {
            path.push(name.to_owned());
            self.collect(sub, sub_matches, path, out)?;
            path.pop();
        }
        Ok(())
    }

    /// The file's value for `arg` as its parser's input, parsed once here so a bad one is
    /// refused naming the file and the key.
    fn value_for(&self, key: &str, arg: &Arg, path: Vec<String>) -> anyhow::Result<FileValue> {
        let name = self.path.display();
        let list = takes_list(arg);
        let values = match &self.values[key] {
            Value::Array(_, items) if list => items.iter().map(scalar).collect(),
            value => scalar(value).map(|v| vec![v]),
        }
        .ok_or_else(|| {
            anyhow::anyhow!(
                "config file {name}: {key}: expected a string, number or boolean{}",
                if list { ", or a list of them" } else { "" }
            )
        })?;
        parse_alone(arg, &values)
            .map_err(|e| anyhow::anyhow!("config file {name}: {key}: {}", value_error(&e)))?;
        Ok(FileValue {
            path,
            arg: arg.clone(),
            values,
        })
    }
}

/// The file key of an option: its long flag name, for the options the environment can set
/// too (not `--config` itself, nor a command's own arguments such as `site create --id`).
fn file_key(arg: &Arg) -> Option<&str> {
    let long = arg.get_long()?;
    (arg.get_env().is_some() && long != "config").then_some(long)
}

/// The option a file key names, in `command` or a subcommand, with the subcommand path to it.
fn find_option<'a>(
    command: &'a Command,
    key: &str,
    path: &mut Vec<String>,
) -> Option<(&'a Arg, Vec<String>)> {
    if let Some(arg) = command.get_arguments().find(|a| file_key(a) == Some(key)) {
        return Some((arg, path.clone()));
    }
    command.get_subcommands().find_map(|sub| {
        path.push(sub.get_name().to_owned());
        let found = find_option(sub, key, path);
        path.pop();
        found
    })
}

fn takes_list(arg: &Arg) -> bool {
    arg.get_value_delimiter().is_some() || matches!(arg.get_action(), ArgAction::Append)
}

/// A TOML scalar as the text a flag would carry.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(_, s) => Some(s.clone()),
        Value::Char(_, c) => Some(c.to_string()),
        Value::Bool(_, b) => Some(b.to_string()),
        Value::Num(_, n) => Some(number(*n)),
        Value::Array(..) | Value::Dict(..) | Value::Empty(..) => None,
    }
}

/// A TOML number as written: integers as integers, floats with their point (`5.0` stays a
/// float, which an integer option refuses instead of truncating).
fn number(n: Num) -> String {
    if let Some(i) = n.to_i128() {
        i.to_string()
    } else if let Some(u) = n.to_u128() {
        u.to_string()
    } else {
        format!("{:?}", n.to_f64().unwrap_or(f64::NAN))
    }
}

/// Runs `arg`'s parser over `values` exactly as it runs over a default, with nothing else
/// (no environment, no other option) in the way.
fn parse_alone(arg: &Arg, values: &[String]) -> Result<(), clap::Error> {
    let alone = arg
        .clone()
        .env(None)
        .global(false)
        .required(false)
        .default_values(values.iter().map(clap::builder::OsStr::from));
    Command::new("file")
        .no_binary_name(true)
        .disable_help_flag(true)
        .arg(alone)
        .try_get_matches_from(Vec::<String>::new())
        .map(drop)
}

/// What a parser said about a value, without clap's `error:` prefix or the flag's spelling:
/// `invalid value "soon": invalid digit found in string`.
fn value_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let value = match e.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) => format!("invalid value {v:?}"),
        _ => "invalid value".to_owned(),
    };
    if let Some(source) = std::error::Error::source(e) {
        format!("{value}: {source}")
    } else if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        format!("{value}: expected one of {}", valid.join(", "))
    } else {
        format!("{value}: {}", e.kind())
    }
}

/// `command` with `value` as its option's default.
fn set_default(command: Command, value: FileValue) -> Command {
    fn walk(command: Command, path: &[String], value: &FileValue) -> Command {
        match path.split_first() {
            None => command.mut_arg(value.arg.get_id(), |arg| {
                arg.default_values(value.values.iter().map(clap::builder::OsStr::from))
            }),
            Some((first, rest)) => command.mut_subcommand(first, |sub| walk(sub, rest, value)),
        }
    }
    walk(command, &value.path, &value)
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
                    Arg::new("grace")
                        .long("grace")
                        .env("T_GRACE")
                        .default_value("10")
                        .value_parser(clap::value_parser!(i64)),
                )
                .arg(
                    Arg::new("proxies")
                        .long("proxies")
                        .env("T_PROXIES")
                        .value_delimiter(',')
                        .value_parser(clap::value_parser!(std::net::IpAddr)),
                ),
        )
    }

    fn file(text: &str) -> anyhow::Result<ConfigFile> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, text).unwrap();
        let file = ConfigFile::read(&path, &cmd())?;
        file.check(&cmd())?;
        Ok(file)
    }

    fn error(text: &str) -> String {
        format!("{:#}", file(text).unwrap_err())
    }

    #[test]
    fn lists_are_accepted_for_list_options_only() {
        assert!(file("proxies = [\"10.0.0.1\", \"10.0.0.2\"]").is_ok());
        assert!(file("proxies = \"10.0.0.1\"").is_ok());
        assert!(error("proxies = [[1]]").contains("a list of them"));
        assert!(error("listen = [\"a\", \"b\"]").contains("expected a string"));
    }

    #[test]
    fn values_are_parsed_by_the_options_parser() {
        assert!(file("grace = 5").is_ok());
        let e = error("grace = \"soon\"");
        assert!(e.ends_with("grace: invalid value \"soon\": invalid digit found in string"));
        assert!(error("grace = 5.0").contains("invalid value \"5.0\""));
        assert!(error("proxies = [\"10.0.0.1\", \"nope\"]").contains("invalid value \"nope\""));
    }

    #[test]
    fn unknown_keys_and_bad_toml_are_refused() {
        assert!(error("lissen = 1").contains("unknown option \"lissen\""));
        assert!(error("listen = ").contains("invalid TOML"));
        assert!(error("listen = [1]").contains("expected a string"));
    }

    #[test]
    fn the_file_ranks_below_flags_and_environment() {
        let f = file("grace = 7\nproxies = [\"10.0.0.1\", \"10.0.0.2\"]").unwrap();
        let parse = |args: &[&str]| {
            let first = cmd().try_get_matches_from(args).unwrap();
            let layered = f.layer(cmd(), &first).unwrap();
            let m = layered.try_get_matches_from(args).unwrap();
            let serve = m.subcommand_matches("serve").unwrap().clone();
            let proxies: Vec<String> = serve
                .get_many::<std::net::IpAddr>("proxies")
                .unwrap()
                .map(ToString::to_string)
                .collect();
            (*serve.get_one::<i64>("grace").unwrap(), proxies)
        };
        assert_eq!(
            parse(&["t", "serve"]),
            (7, vec!["10.0.0.1".to_owned(), "10.0.0.2".to_owned()])
        );
        assert_eq!(parse(&["t", "serve", "--grace", "3"]).0, 3);
    }
}

//! Raw flags and environment → a validated `RunConfig`, before any request is sent.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use crate::auth::{token_variable, Tokens};
use crate::checks::{self, Check};
use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::spec::Spec;

/// Where the run sends its requests.
#[derive(Clone, Debug)]
pub enum Target {
    /// The embedded reference server, started for the run.
    Embedded,
    Remote {
        url: Url,
        user_id: String,
        password: String,
        other_user_id: Option<String>,
        /// `SCOPE=TOKEN` flags, checked for shape; scopes are checked against the spec later.
        tokens: Vec<(String, String)>,
    },
}

#[derive(Clone, Debug)]
pub struct RunConfig {
    pub spec: Option<PathBuf>,
    pub target: Target,
    pub seed: u64,
    pub cases: usize,
    pub timeout: Duration,
    pub junit: PathBuf,
    /// The checks to apply, in catalogue order.
    pub checks: Vec<&'static Check>,
    /// Warnings fail the run.
    pub strict: bool,
    /// More declarative cases, beside the shipped ones.
    pub cases_dir: Option<PathBuf>,
}

impl RunConfig {
    /// Validates `args`; `random_seed` is used when no seed is given.
    pub fn from_args(args: RunArgs, random_seed: u64) -> Result<RunConfig> {
        let timeout = parse_timeout(&args.timeout)?;
        let mut tokens = Vec::new();
        for flag in &args.tokens {
            match flag.split_once('=') {
                Some((scope, token)) if !scope.is_empty() && !token.is_empty() => {
                    tokens.push((scope.to_string(), token.to_string()));
                }
                _ => {
                    return Err(Error::Usage(
                        "--token takes SCOPE=TOKEN, for example --token user=eyJ…".into(),
                    ))
                }
            }
        }
        let target = match args.target {
            None => {
                if !tokens.is_empty() || args.user_id.is_some() || args.other_user_id.is_some() {
                    return Err(Error::Usage(
                        "--token, --user-id and --other-user-id need --target (the embedded server brings its own)".into(),
                    ));
                }
                Target::Embedded
            }
            Some(raw) => {
                let url = Url::parse(&raw)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
                    .ok_or_else(|| {
                        Error::Usage(format!("--target {raw} is not an http:// or https:// URL"))
                    })?;
                let user_id = args.user_id.filter(|id| !id.is_empty()).ok_or_else(|| {
                    Error::Usage(
                        "--target needs --user-id: the test account whose password the run changes"
                            .into(),
                    )
                })?;
                let password = args
                    .password
                    .filter(|password| !password.is_empty())
                    .ok_or_else(|| Error::Usage("--target needs the test account's password: set SPECGATE_PASSWORD (or --password)".into()))?;
                Target::Remote {
                    url,
                    user_id,
                    password,
                    other_user_id: args.other_user_id.filter(|id| !id.is_empty()),
                    tokens,
                }
            }
        };
        let checks = checks::select(&args.checks, &args.exclude_checks).map_err(Error::Usage)?;
        if checks.is_empty() {
            return Err(Error::Usage(
                "--checks and --exclude-checks leave no check to run".into(),
            ));
        }
        if args.cases == 0 {
            return Err(Error::Usage("--cases must be at least 1".into()));
        }
        Ok(RunConfig {
            spec: args.spec,
            target,
            seed: args.seed.unwrap_or(random_seed),
            cases: args.cases,
            timeout,
            junit: args.junit,
            checks,
            strict: args.strict,
            cases_dir: args.cases_dir,
        })
    }
}

fn parse_timeout(raw: &str) -> Result<Duration> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0 && *seconds <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Error::Usage(format!(
                "--timeout {raw} is not a number of seconds between 0 and 3600"
            ))
        })
}

/// The tokens of a remote run: flags first, then `SPECGATE_TOKEN_<SCOPE>` for scopes no flag
/// gave. Every scope named must exist in the spec's security schemes.
pub fn tokens(
    spec: &Spec,
    flags: &[(String, String)],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Tokens> {
    let known: Vec<&str> = spec
        .security_schemes
        .iter()
        .flat_map(|scheme| scheme.scopes.iter().map(String::as_str))
        .collect();
    let mut tokens = Tokens::default();
    for (scope, token) in flags {
        if !known.contains(&scope.as_str()) {
            return Err(Error::Usage(format!(
                "--token {scope}=…: the spec defines no scope `{scope}` (its scopes: {})",
                known.join(", ")
            )));
        }
        tokens.insert(scope, token);
    }
    for scope in &known {
        if tokens.get(scope).is_none() {
            if let Some(token) = env(&token_variable(scope)).filter(|token| !token.is_empty()) {
                tokens.insert(scope, &token);
            }
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(argv: &[&str]) -> Result<RunConfig> {
        let cli = crate::cli::Cli::try_parse_from(argv).expect("argv parses");
        match cli.command {
            crate::cli::Command::Run(args) => RunConfig::from_args(*args, 99),
            _ => unreachable!("a run command"),
        }
    }

    #[test]
    fn embedded_by_default_with_random_seed() {
        let config = parse(&["specgate", "run"]).unwrap();
        assert!(matches!(config.target, Target::Embedded));
        assert_eq!(config.seed, 99);
        assert_eq!(config.timeout, Duration::from_secs(10));
    }

    #[test]
    fn remote_needs_account() {
        let error = parse(&["specgate", "run", "--target", "http://127.0.0.1:1"]).unwrap_err();
        assert!(error.to_string().contains("--user-id"), "{error}");
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for argv in [
            &["specgate", "run", "--timeout", "0"][..],
            &["specgate", "run", "--timeout", "soon"],
            &["specgate", "run", "--target", "ftp://x", "--user-id", "a"],
            &["specgate", "run", "--token", "user"],
            &["specgate", "run", "--token", "user=t"],
            &["specgate", "run", "--cases", "0"],
        ] {
            let error = parse(argv).unwrap_err();
            assert_eq!(error.exit_code(), crate::exit::ERROR, "{argv:?}");
        }
    }

    #[test]
    fn token_flags_beat_environment_and_unknown_scopes_fail() {
        let spec = crate::spec::load(None).unwrap();
        let env = |name: &str| match name {
            "SPECGATE_TOKEN_USER" => Some("from-env".to_string()),
            "SPECGATE_TOKEN_ADMIN" => Some("admin-env".to_string()),
            _ => None,
        };
        let flags = vec![("user".to_string(), "from-flag".to_string())];
        let tokens = tokens(&spec, &flags, env).unwrap();
        assert_eq!(tokens.get("user"), Some("from-flag"));
        assert_eq!(tokens.get("admin"), Some("admin-env"));
        assert_eq!(tokens.get("service"), None);
        let flags = vec![("root".to_string(), "x".to_string())];
        assert!(super::tokens(&spec, &flags, env).is_err());
    }
}

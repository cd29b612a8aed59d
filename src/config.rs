//! Raw flags, environment and configuration file → a validated `RunConfig`, before any
//! request is sent. Flags beat environment variables, which beat the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use reqwest::Url;

use crate::auth::{token_variable, Tokens};
use crate::checks::{self, Check};
use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::plan::Phase;
use crate::spec::Spec;

/// Where the run sends its requests.
#[derive(Clone, Debug)]
pub enum Target {
    /// The embedded reference server, started for the run.
    Embedded,
    Remote(Box<Remote>),
}

/// A server given with `--target`, and the account and tokens to test it with.
#[derive(Clone, Debug)]
pub struct Remote {
    pub url: Url,
    pub user_id: String,
    pub password: String,
    pub other_user_id: Option<String>,
    pub other_password: Option<String>,
    pub other_token: Option<String>,
    /// `SCOPE=TOKEN` flags, checked for shape; scopes are checked against the spec later.
    pub tokens: Vec<(String, String)>,
    /// Tokens from the configuration file, below flags and environment.
    pub file_tokens: BTreeMap<String, String>,
    /// How to get the tokens no flag, variable or file gave.
    pub oauth: Option<OAuth>,
}

impl Remote {
    /// A spec with a password operation needs the test account whose password the run
    /// changes; other specs need none.
    pub fn require_account(&self) -> Result<()> {
        if self.user_id.is_empty() {
            return Err(Error::Usage(
                "--target needs --user-id: the test account whose password the run changes".into(),
            ));
        }
        if self.password.is_empty() {
            return Err(Error::Usage(
                "--target needs the test account's password: set SPECGATE_PASSWORD (or --password)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// OAuth2 settings from flags; the URLs default to the spec's.
#[derive(Clone, Debug)]
pub struct OAuth {
    pub flow: crate::cli::OAuthFlow,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub token_url: Option<String>,
    pub authorize_url: Option<String>,
    pub username: String,
    pub redirect_port: u16,
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
    /// Per-operation adjustments of what the spec expects, from the configuration file.
    pub overrides: BTreeMap<String, Override>,
    pub rate_limit: Option<f64>,
    /// Independent cases in flight at once (see `Settings::concurrency`).
    pub concurrency: usize,
    pub max_wrong_passwords: usize,
    pub restore: bool,
    pub transport: Transport,
    pub dry_run: bool,
    pub phases: Vec<Phase>,
    pub only: Option<Vec<String>>,
    pub time_budget: Option<Duration>,
    pub max_shrink_steps: usize,
    /// (K, N): run part K (1-based) of N.
    pub partition: Option<(usize, usize)>,
    /// Extra reports: (format, path).
    pub reports: Vec<(ReportFormat, PathBuf)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Html,
    Markdown,
    Json,
    Sarif,
}

/// How requests travel: TLS trust, gateway headers, body cap.
#[derive(Clone, Debug, Default)]
pub struct Transport {
    /// PEM bytes of extra CA certificates.
    pub cacert: Option<Vec<u8>>,
    pub insecure: bool,
    /// `--header` pairs; values are secrets.
    pub headers: Vec<(String, String)>,
    pub max_body: usize,
}

/// `specgate.toml`. Every key is optional; secrets are better kept in the environment.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub target: Option<String>,
    pub user_id: Option<String>,
    pub other_user_id: Option<String>,
    pub password: Option<String>,
    pub other_password: Option<String>,
    pub other_token: Option<String>,
    pub seed: Option<u64>,
    pub cases: Option<usize>,
    pub timeout: Option<f64>,
    pub junit: Option<PathBuf>,
    pub cases_dir: Option<PathBuf>,
    pub rate_limit: Option<f64>,
    pub concurrency: Option<usize>,
    pub max_wrong_passwords: Option<usize>,
    pub cacert: Option<PathBuf>,
    pub max_body: Option<usize>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub tokens: BTreeMap<String, String>,
    #[serde(default)]
    pub operations: BTreeMap<String, Override>,
}

/// What one operation's target may do beyond its spec, by agreement.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Statuses the target may answer although the spec does not document them (say 429 from
    /// a gateway): `status_documented` accepts them; the body checks skip them.
    #[serde(default)]
    pub extra_statuses: Vec<u16>,
    /// Checks not applied to this operation.
    #[serde(default)]
    pub skip_checks: Vec<String>,
}

/// Reads `path`, or `specgate.toml` in the working directory when no path is given and the
/// file exists.
pub fn read_file(path: Option<&Path>) -> Result<FileConfig> {
    let default = Path::new("specgate.toml");
    let path = match path {
        Some(path) => path,
        None if default.is_file() => default,
        None => return Ok(FileConfig::default()),
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        Error::Usage(format!(
            "cannot read {shown}: {}",
            error.to_string().to_lowercase()
        ))
    })?;
    toml::from_str(&text).map_err(|error| {
        let line = error
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        let message = error.message().trim().to_string();
        Error::Usage(match line {
            Some(line) => format!("{shown}:{line}: {message}"),
            None => format!("{shown}: {message}"),
        })
    })
}

impl RunConfig {
    /// Validates `args` over `file`; `random_seed` is used when neither gives a seed.
    pub fn from_args(args: RunArgs, file: FileConfig, random_seed: u64) -> Result<RunConfig> {
        let timeout = match (&args.timeout, file.timeout) {
            (Some(raw), _) => parse_timeout(raw)?,
            (None, Some(seconds)) => parse_timeout(&seconds.to_string())?,
            (None, None) => DEFAULT_TIMEOUT,
        };
        let cases = args.cases.or(file.cases).unwrap_or(DEFAULT_CASES);
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
        let user_id = args.user_id.or(file.user_id);
        let other_user_id = args.other_user_id.or(file.other_user_id);
        let password = args.password.or(file.password);
        let target = match args.target.or(file.target) {
            None => {
                if !tokens.is_empty() || user_id.is_some() || other_user_id.is_some() {
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
                // Whether the spec needs an account is known once it is loaded: see
                // `Remote::require_account`.
                let user_id = user_id.unwrap_or_default();
                let password = password.unwrap_or_default();
                let oauth = match args.oauth_flow {
                    None => None,
                    Some(flow) => Some(OAuth {
                        flow,
                        client_id: args.oauth_client_id.clone().ok_or_else(|| {
                            Error::Usage("--oauth-flow needs --oauth-client-id".into())
                        })?,
                        client_secret: args.oauth_client_secret.clone(),
                        token_url: args.oauth_token_url.clone(),
                        authorize_url: args.oauth_authorize_url.clone(),
                        username: args
                            .oauth_username
                            .clone()
                            .unwrap_or_else(|| user_id.clone()),
                        redirect_port: args.oauth_redirect_port,
                    }),
                };
                Target::Remote(Box::new(Remote {
                    oauth,
                    url,
                    user_id,
                    password,
                    other_user_id: other_user_id.filter(|id| !id.is_empty()),
                    other_password: args
                        .other_password
                        .clone()
                        .or(file.other_password)
                        .filter(|p| !p.is_empty()),
                    other_token: args
                        .other_token
                        .clone()
                        .or(file.other_token)
                        .filter(|t| !t.is_empty()),
                    tokens,
                    file_tokens: file.tokens,
                }))
            }
        };
        let checks = checks::select(&args.checks, &args.exclude_checks).map_err(Error::Usage)?;
        if checks.is_empty() {
            return Err(Error::Usage(
                "--checks and --exclude-checks leave no check to run".into(),
            ));
        }
        if cases == 0 {
            return Err(Error::Usage("--cases must be at least 1".into()));
        }
        for (operation, adjustment) in &file.operations {
            for id in &adjustment.skip_checks {
                if checks::find(id).is_none() {
                    return Err(Error::Usage(format!(
                        "configuration: operations.{operation}.skip_checks: no check `{id}`"
                    )));
                }
            }
        }
        let rate_limit = match (&args.rate_limit, file.rate_limit) {
            (Some(raw), _) => Some(parse_rate(raw)?),
            (None, Some(rate)) => Some(parse_rate(&rate.to_string())?),
            (None, None) => None,
        };
        let concurrency = match (args.concurrency, file.concurrency) {
            (Some(n), _) => usize::from(n),
            (None, Some(n)) if !(1..=MAX_CONCURRENCY).contains(&n) => {
                return Err(Error::Usage(format!(
                    "configuration: concurrency must be 1 to {MAX_CONCURRENCY}, not {n}"
                )))
            }
            (None, Some(n)) => n,
            (None, None) => default_concurrency(),
        };
        let mut headers = Vec::new();
        for raw in &args.headers {
            let Some((name, value)) = raw.split_once(':') else {
                return Err(Error::Usage(format!("--header {raw}: expected NAME:VALUE")));
            };
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        for (name, value) in file.headers {
            if !headers
                .iter()
                .any(|(known, _)| known.eq_ignore_ascii_case(&name))
            {
                headers.push((name, value));
            }
        }
        for (name, value) in &headers {
            let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && reqwest::header::HeaderValue::from_str(value).is_ok();
            if !valid {
                return Err(Error::Usage(format!(
                    "header `{name}` is not a valid HTTP header"
                )));
            }
        }
        let cacert = match args.cacert.or(file.cacert) {
            None => None,
            Some(path) => {
                let bytes = std::fs::read(&path).map_err(|error| {
                    Error::Usage(format!(
                        "--cacert {}: {}",
                        path.display(),
                        error.to_string().to_lowercase()
                    ))
                })?;
                if reqwest::Certificate::from_pem_bundle(&bytes)
                    .map_or(true, |certs| certs.is_empty())
                {
                    return Err(Error::Usage(format!(
                        "--cacert {}: no PEM certificate in it",
                        path.display()
                    )));
                }
                Some(bytes)
            }
        };
        let time_budget = match &args.time_budget {
            None => None,
            Some(raw) => Some(parse_seconds("--time-budget", raw, f64::MAX)?),
        };
        let only = (!args.only.is_empty()).then(|| args.only.clone());
        let partition = match &args.partition {
            None => None,
            Some(raw) => {
                let parsed = raw
                    .split_once('/')
                    .and_then(|(k, n)| {
                        Some((
                            k.trim().parse::<usize>().ok()?,
                            n.trim().parse::<usize>().ok()?,
                        ))
                    })
                    .filter(|(k, n)| *n >= 1 && (1..=*n).contains(k));
                Some(parsed.ok_or_else(|| {
                    Error::Usage(format!(
                        "--partition {raw}: expected K/N with 1 <= K <= N, such as 2/3"
                    ))
                })?)
            }
        };
        let mut reports = Vec::new();
        for pair in args.reports.chunks(2) {
            let [format, path] = pair else {
                return Err(Error::Usage("--report takes FORMAT PATH".into()));
            };
            let format = match format.as_str() {
                "html" => ReportFormat::Html,
                "markdown" | "md" => ReportFormat::Markdown,
                "json" => ReportFormat::Json,
                "sarif" => ReportFormat::Sarif,
                other => {
                    return Err(Error::Usage(format!(
                        "--report {other}: formats are html, markdown, json and sarif"
                    )))
                }
            };
            reports.push((format, PathBuf::from(path)));
        }
        Ok(RunConfig {
            phases: if args.phases.is_empty() {
                vec![Phase::Examples, Phase::Coverage, Phase::Fuzz]
            } else {
                args.phases.clone()
            },
            only,
            time_budget,
            max_shrink_steps: args.max_shrink_steps.unwrap_or(DEFAULT_MAX_SHRINK_STEPS),
            partition,
            reports,
            rate_limit,
            concurrency,
            max_wrong_passwords: args
                .max_wrong_passwords
                .or(file.max_wrong_passwords)
                .unwrap_or(DEFAULT_MAX_WRONG_PASSWORDS),
            restore: !args.no_restore,
            transport: Transport {
                cacert,
                insecure: args.insecure,
                headers,
                max_body: args
                    .max_body
                    .or(file.max_body)
                    .unwrap_or(crate::client::MAX_BODY)
                    .max(1),
            },
            dry_run: args.dry_run,
            spec: args.spec,
            target,
            seed: args.seed.or(file.seed).unwrap_or(random_seed),
            cases,
            timeout,
            junit: args
                .junit
                .or(file.junit)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_JUNIT)),
            checks,
            strict: args.strict,
            cases_dir: args.cases_dir.or(file.cases_dir),
            overrides: file.operations,
        })
    }
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_WRONG_PASSWORDS: usize = 5;

/// The most cases in flight at once (`--concurrency` takes 1 to this).
const MAX_CONCURRENCY: usize = 256;

/// One case in flight per CPU, at most 8: enough to keep a loopback server busy without
/// crowding a shared staging server.
fn default_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}
const DEFAULT_MAX_SHRINK_STEPS: usize = 200;
const DEFAULT_CASES: usize = 20;
const DEFAULT_JUNIT: &str = "target/specgate/junit.xml";

/// `20`, `20/s` or `2.5/s`: requests per second.
fn parse_rate(raw: &str) -> Result<f64> {
    raw.trim()
        .trim_end_matches("/s")
        .parse::<f64>()
        .ok()
        .filter(|rate| rate.is_finite() && *rate > 0.0)
        .ok_or_else(|| {
            Error::Usage(format!(
                "--rate-limit {raw} is not a number of requests per second, such as 20/s"
            ))
        })
}

fn parse_timeout(raw: &str) -> Result<Duration> {
    parse_seconds("--timeout", raw, 3600.0)
}

/// A positive number of seconds, at most `max`.
fn parse_seconds(flag: &str, raw: &str, max: f64) -> Result<Duration> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0 && *seconds <= max)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| {
            Error::Usage(if max < f64::MAX {
                format!("{flag} {raw} is not a number of seconds between 0 and {max}")
            } else {
                format!("{flag} {raw} is not a positive number of seconds")
            })
        })
}

/// The tokens of a remote run: flags first, then `SPECGATE_TOKEN_<SCOPE>`, then the file, for
/// scopes nothing before gave. Every scope named must exist in the spec's security schemes.
pub fn tokens(
    spec: &Spec,
    flags: &[(String, String)],
    env: impl Fn(&str) -> Option<String>,
    file: &BTreeMap<String, String>,
) -> Result<Tokens> {
    let known: Vec<&str> = spec
        .security_schemes
        .iter()
        .flat_map(|scheme| scheme.scopes.iter().map(String::as_str))
        .collect();
    let unknown = |scope: &str, place: &str| {
        Error::Usage(format!(
            "{place}: the spec defines no scope `{scope}` (its scopes: {})",
            known.join(", ")
        ))
    };
    let mut tokens = Tokens::default();
    for (scope, token) in flags {
        if !known.contains(&scope.as_str()) {
            return Err(unknown(scope, &format!("--token {scope}=…")));
        }
        tokens.insert(scope, token);
    }
    if let Some(scope) = file.keys().find(|scope| !known.contains(&scope.as_str())) {
        return Err(unknown(scope, &format!("configuration: tokens.{scope}")));
    }
    for scope in &known {
        if tokens.get(scope).is_none() {
            let from_env = env(&token_variable(scope)).filter(|token| !token.is_empty());
            if let Some(token) = from_env.or_else(|| file.get(*scope).cloned()) {
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
            crate::cli::Command::Run(args) => {
                RunConfig::from_args(*args, FileConfig::default(), 99)
            }
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
    fn flags_beat_the_file() {
        let file: FileConfig = toml::from_str(
            "target = \"http://127.0.0.1:9\"\nuser_id = \"from-file\"\ntimeout = 2.5\ncases = 3\n[operations.UpdateLocalUserPassword]\nextra_statuses = [429]\n",
        )
        .unwrap();
        let cli = crate::cli::Cli::try_parse_from([
            "specgate",
            "run",
            "--password",
            "pw",
            "--cases",
            "7",
        ])
        .unwrap();
        let crate::cli::Command::Run(args) = cli.command else {
            unreachable!("a run command")
        };
        let config = RunConfig::from_args(*args, file, 1).unwrap();
        assert_eq!(config.cases, 7);
        assert_eq!(config.timeout, Duration::from_millis(2500));
        let Target::Remote(remote) = &config.target else {
            unreachable!("the file names a target")
        };
        assert_eq!(remote.user_id, "from-file");
        assert_eq!(
            config.overrides["UpdateLocalUserPassword"].extra_statuses,
            [429]
        );
    }

    #[test]
    fn concurrency_from_flag_file_or_cpu_count() {
        let from = |argv: &[&str], file: &str| {
            let cli = crate::cli::Cli::try_parse_from(argv).expect("argv parses");
            let crate::cli::Command::Run(args) = cli.command else {
                unreachable!("a run command")
            };
            let file: FileConfig = toml::from_str(file).expect("the file parses");
            RunConfig::from_args(*args, file, 1).map(|config| config.concurrency)
        };
        let default = from(&["specgate", "run"], "").unwrap();
        assert!((1..=8).contains(&default), "{default}");
        assert_eq!(from(&["specgate", "run"], "concurrency = 3").unwrap(), 3);
        let flag = ["specgate", "run", "--concurrency", "5"];
        assert_eq!(from(&flag, "concurrency = 3").unwrap(), 5);
        for bad in ["concurrency = 0", "concurrency = 257"] {
            let error = from(&["specgate", "run"], bad).unwrap_err();
            assert_eq!(error.exit_code(), crate::exit::ERROR, "{bad}");
        }
        for bad in ["0", "257"] {
            let argv = ["specgate", "run", "--concurrency", bad];
            assert!(crate::cli::Cli::try_parse_from(argv).is_err(), "{bad}");
        }
    }

    #[test]
    fn remote_needs_account_for_a_password_operation() {
        let config = parse(&["specgate", "run", "--target", "http://127.0.0.1:1"]).unwrap();
        let Target::Remote(remote) = config.target else {
            unreachable!("a remote target")
        };
        let error = remote.require_account().unwrap_err();
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
        let file = BTreeMap::from([("service".to_string(), "from-file".to_string())]);
        let tokens = tokens(&spec, &flags, env, &file).unwrap();
        assert_eq!(tokens.get("user"), Some("from-flag"));
        assert_eq!(tokens.get("admin"), Some("admin-env"));
        assert_eq!(tokens.get("service"), Some("from-file"));
        assert_eq!(tokens.get("usersView"), None);
        let flags = vec![("root".to_string(), "x".to_string())];
        assert!(super::tokens(&spec, &flags, env, &BTreeMap::new()).is_err());
    }
}

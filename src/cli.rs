//! The command line. The doc comments here are the `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::server::Fault;

/// specgate: a conformance test harness for OpenAPI operations.
///
/// Exit codes: 0 conformant, 1 not conformant (a check failed), 2 error (bad flag, unreadable
/// or unusable spec, unreachable target, report not written, test account not restored).
/// The exit-code table, shown in `--help`.
const EXIT_CODES: &str = "Exit codes:
  0  conformant: every check that ran passed
  1  not conformant: at least one check failed (or the target stopped answering)
  2  error: bad flag, unreadable or unusable spec, unreachable target at start,
     report not written, test account not restored";

#[derive(Debug, Parser)]
#[command(name = "specgate", version, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test a target against the spec (without --target: the embedded reference server).
    #[command(after_help = EXIT_CODES)]
    Run(Box<RunArgs>),
    /// Send chosen cases of a run again, exactly, and check them (same as `run --only IDS`:
    /// give the run's seed and target flags).
    #[command(after_help = EXIT_CODES)]
    Replay(Box<ReplayArgs>),
    /// Serve the reference implementation of the PrivX password operation (test-only tokens).
    Serve(ServeArgs),
    /// Validate OpenAPI 3.0 documents and report every problem with its line and column.
    #[command(after_help = VALIDATE_EXIT_CODES)]
    Validate(ValidateArgs),
    /// List the checks a run applies.
    Checks,
}

const VALIDATE_EXIT_CODES: &str = "Exit codes:
  0  no errors (warnings allowed)
  1  errors found
  2  a file cannot be read or parsed";

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The documents to validate (YAML or JSON).
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: crate::spec::lint::Format,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// OpenAPI 3.0 document (YAML or JSON). Default: the shipped PrivX spec, built in.
    #[arg(long, value_name = "PATH")]
    pub spec: Option<PathBuf>,

    /// Base URL of the server to test. Without it, specgate starts its embedded reference
    /// server on a free loopback port and tests that.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,

    /// A bearer token holding one scope (repeatable). Also read from SPECGATE_TOKEN_<SCOPE>.
    #[arg(long = "token", value_name = "SCOPE=TOKEN")]
    pub tokens: Vec<String>,

    /// The test account whose password the run changes (and restores).
    #[arg(long, value_name = "ID")]
    pub user_id: Option<String>,

    /// The test account's current password. Prefer the environment variable: a flag is
    /// visible to other users of the machine.
    #[arg(
        long,
        env = "SPECGATE_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub password: Option<String>,

    /// Another existing user: the run checks that the test account's token cannot change
    /// that user's password.
    #[arg(long, value_name = "ID")]
    pub other_user_id: Option<String>,

    /// The other user's password: with --other-token, the run proves that a refused change
    /// left it as it was.
    #[arg(
        long,
        env = "SPECGATE_OTHER_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub other_password: Option<String>,

    /// A `user` token of the other user (see --other-password).
    #[arg(
        long,
        env = "SPECGATE_OTHER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub other_token: Option<String>,

    /// Get the scopes' tokens from the identity provider with this OAuth2 flow (scopes given a
    /// token by flag or environment keep it). The token URL is the spec's unless
    /// --oauth-token-url says otherwise.
    #[arg(long, value_enum, value_name = "FLOW")]
    pub oauth_flow: Option<OAuthFlow>,

    /// The OAuth2 client id.
    #[arg(long, value_name = "ID")]
    pub oauth_client_id: Option<String>,

    /// The OAuth2 client secret (prefer the environment variable).
    #[arg(
        long,
        env = "SPECGATE_OAUTH_CLIENT_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub oauth_client_secret: Option<String>,

    /// The token endpoint, instead of the spec's tokenUrl.
    #[arg(long, value_name = "URL")]
    pub oauth_token_url: Option<String>,

    /// The authorize endpoint (authorization-code flow), instead of the spec's.
    #[arg(long, value_name = "URL")]
    pub oauth_authorize_url: Option<String>,

    /// The user name of the password flow [default: --user-id]; its password is the test
    /// account's.
    #[arg(long, value_name = "NAME")]
    pub oauth_username: Option<String>,

    /// The loopback port the authorization-code flow listens on for the browser's redirect
    /// [default: a free port].
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub oauth_redirect_port: u16,

    /// Seed for generated requests; the same seed and spec send the same requests.
    /// Default: a random seed, printed in the summary.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Valid requests generated per operation for each credential the operation accepts
    /// [default: 20].
    #[arg(long, value_name = "N")]
    pub cases: Option<usize>,

    /// Seconds to wait for each answer [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<String>,

    /// A configuration file (default: specgate.toml in the working directory, if present).
    /// Flags beat environment variables, which beat the file.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// A directory of declarative cases (YAML, searched recursively) to run beside the shipped
    /// ones; README.md documents the format.
    #[arg(long, value_name = "DIR")]
    pub cases_dir: Option<PathBuf>,

    /// Apply only these checks (comma-separated ids; `specgate checks` lists them).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub checks: Vec<String>,

    /// Apply every check but these (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub exclude_checks: Vec<String>,

    /// Treat warnings (checks of warning severity, such as error_semantics) as failures.
    #[arg(long)]
    pub strict: bool,

    /// At most this many requests per second (for example 20 or 20/s).
    #[arg(long, value_name = "N/s")]
    pub rate_limit: Option<String>,

    /// Cases of operations that change no password sent at the same time, at most; password
    /// changes on the test account always go one by one [default: the CPU count, at most 8].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: Option<u16>,

    /// Wrong current passwords the run may send in all, so that a lockout policy is never
    /// tripped [default: 5].
    #[arg(long, value_name = "N")]
    pub max_wrong_passwords: Option<usize>,

    /// Leave the test account with the password the run last set (for throwaway accounts);
    /// the summary prints it.
    #[arg(long)]
    pub no_restore: bool,

    /// A header sent with every request, for gateways (repeatable). Its value is treated as a
    /// secret.
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,

    /// A PEM file of CA certificates to trust, for a private CA.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Do not verify TLS certificates (a warning is printed on every run).
    #[arg(long)]
    pub insecure: bool,

    /// Bytes of a response body kept; a longer body is reported as truncated [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<usize>,

    /// The phases to run, in this order: examples (declarative cases), coverage (boundary values
    /// and broken bodies), fuzz (random valid bodies) [default: all].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PHASES")]
    pub phases: Vec<crate::plan::Phase>,

    /// Run only these cases of the plan (comma-separated ids, as reports name them), with the
    /// same seed and flags: a failure is sent again exactly.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub only: Vec<String>,

    /// Start no new case after this many seconds; the run still restores and reports.
    #[arg(long, value_name = "SECONDS")]
    pub time_budget: Option<String>,

    /// Requests one shrink of a failing case may send; 0 turns shrinking off [default: 200].
    #[arg(long, value_name = "N")]
    pub max_shrink_steps: Option<usize>,

    /// Run only part K of N of the plan (for example 2/3): cases are dealt out by number, so the
    /// N parts together are exactly the whole run with the same seed.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<String>,

    /// Also write a report: FORMAT is html, markdown, json or sarif (repeatable).
    #[arg(long = "report", num_args = 2, value_names = ["FORMAT", "PATH"])]
    pub reports: Vec<String>,

    /// How failures are printed: terminal (the summary) or github (workflow annotations, then
    /// the summary).
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: OutputFormat,

    /// Which findings fail the run (exit 1): errors only, or warnings too.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,

    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,

    /// No progress bar: only the summary.
    #[arg(long, short)]
    pub quiet: bool,

    /// Print the plan (each case's request, secrets redacted) and send nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Where to write the JUnit XML report [default: target/specgate/junit.xml].
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OAuthFlow {
    ClientCredentials,
    Password,
    AuthorizationCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Terminal,
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The case ids to send again (as the report names them: c0042; c0042.1 and c0042.min
    /// replay c0042).
    #[arg(required = true, value_name = "CASE_ID")]
    pub ids: Vec<String>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the address bound is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// A user of the store, replacing the two seeded ones (repeatable). The first user gets
    /// one token per scope; every other user a `user` token.
    #[arg(long = "user", value_name = "ID:PASSWORD")]
    pub users: Vec<String>,

    /// Switch on one deviation from the contract (repeatable), to see what a failing run
    /// looks like.
    #[arg(long = "fault", value_enum, value_name = "NAME")]
    pub faults: Vec<Fault>,
}

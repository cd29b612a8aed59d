//! The harness's own failures. A target that answers wrongly is not an error: that is a
//! `Failure` in the outcome. Each error here names the thing at fault in a lowercase one-line
//! message, and maps to an exit code.

use crate::exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag, environment variable or combination of them that cannot work.
    #[error("{0}")]
    Usage(String),
    #[error("cannot read spec {path}: {reason}")]
    SpecRead { path: String, reason: String },
    #[error("cannot parse spec {path}: {reason}")]
    SpecParse { path: String, reason: String },
    /// The linter found errors in the spec; `diagnostics` holds them rendered for people.
    #[error("spec {path} has {errors} errors: specgate validate {path} shows them")]
    SpecLint {
        path: String,
        errors: usize,
        diagnostics: String,
    },
    #[error("spec {path} cannot be used: {reason}")]
    SpecInvalid { path: String, reason: String },
    /// The target did not answer the first request with HTTP.
    #[error("target {url} is unusable: {reason}")]
    Target { url: String, reason: String },
    #[error("cannot start the reference server on {addr}: {reason}")]
    Serve { addr: String, reason: String },
    /// A declarative case file that cannot be used.
    #[error("case {file}{}: {reason}", line.map(|line| format!(":{line}")).unwrap_or_default())]
    Case {
        file: String,
        line: Option<u64>,
        reason: String,
    },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    /// A signal stopped the run (after the password was restored).
    #[error("the run was interrupted before it finished")]
    Interrupted,
    /// The run could not put the test account's password back.
    #[error("the password of test account {user_id} could not be restored: {reason}")]
    Restore { user_id: String, reason: String },
}

impl Error {
    /// The exit code this error ends the process with. The match is exhaustive on purpose: a new
    /// kind of error cannot be added without choosing its code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::SpecRead { .. }
            | Error::SpecParse { .. }
            | Error::SpecInvalid { .. }
            | Error::SpecLint { .. }
            | Error::Target { .. }
            | Error::Serve { .. }
            | Error::Case { .. }
            | Error::Interrupted
            | Error::Write { .. }
            | Error::Restore { .. } => exit::ERROR,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The check catalogue: pure functions from one observed exchange to a verdict.
//!
//! Each check lives in its own file with the same shape: a `CHECK` constant naming it, an
//! `evaluate` function, and a table of tests at the bottom. A check that does not apply to an
//! exchange says `Verdict::Skip`; the report shows a check that applied to nothing as
//! "not exercised", never as passed.

mod auth_required;
mod case_expectations;
mod content_type;
mod error_semantics;
mod negative_rejected;
mod no_secret_echo;
mod own_resource_only;
mod positive_accepted;
mod response_schema;
mod scope_enforced;
mod server_error;
mod state_changed;
mod state_unchanged;
mod status_documented;
mod timeout;
mod wrong_password_rejected;

pub use positive_accepted::is_policy_refusal;

use crate::auth::Credential;
use crate::client::{Exchange, Response};
use crate::plan::Intent;
use crate::spec::Operation;

/// A named check.
#[derive(Clone, Copy)]
pub struct Check {
    pub id: &'static str,
    /// One line, for `specgate checks` and the reports.
    pub description: &'static str,
    /// How much a failure weighs by default: warnings do not fail a run unless `--strict`.
    pub severity: Severity,
    pub evaluate: fn(&Observation) -> Verdict,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// Every check, in report order.
pub const CATALOGUE: &[Check] = &[
    timeout::CHECK,
    server_error::CHECK,
    status_documented::CHECK,
    content_type::CHECK,
    response_schema::CHECK,
    negative_rejected::CHECK,
    positive_accepted::CHECK,
    auth_required::CHECK,
    scope_enforced::CHECK,
    own_resource_only::CHECK,
    wrong_password_rejected::CHECK,
    state_changed::CHECK,
    state_unchanged::CHECK,
    no_secret_echo::CHECK,
    error_semantics::CHECK,
    case_expectations::CHECK,
];

/// What a check sees: one exchange and why it was sent.
pub struct Observation<'a> {
    pub operation: &'a Operation,
    pub intent: &'a Intent,
    pub credential: &'a Credential,
    /// Whether the operation's security accepts `credential`.
    pub allowed: bool,
    pub exchange: &'a Exchange,
    /// Statuses the configuration allows beyond the spec's.
    pub extra_statuses: &'a [u16],
}

impl Observation<'_> {
    pub fn response(&self) -> Option<&Response> {
        self.exchange.response.as_ref().ok()
    }

    pub fn status(&self) -> Option<u16> {
        self.response().map(|response| response.status)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Boxed: a run keeps a verdict per check for every exchange, and most pass.
    Fail(Box<Finding>),
    /// The check does not apply to this exchange.
    Skip,
}

/// Why a check failed: one line, and where in the body if it is about the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub message: String,
    /// JSON pointer into the response body.
    pub pointer: Option<String>,
    /// Set by the runner from the check's severity and `--strict`.
    pub severity: Severity,
}

impl Verdict {
    fn fail(message: impl Into<String>) -> Verdict {
        Verdict::Fail(Box::new(Finding {
            message: message.into(),
            pointer: None,
            severity: Severity::Error,
        }))
    }

    /// Pass when `ok`, otherwise fail with `message`.
    fn expect(ok: bool, message: impl FnOnce() -> String) -> Verdict {
        if ok {
            Verdict::Pass
        } else {
            Verdict::fail(message())
        }
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn is_client_error(status: u16) -> bool {
    (400..500).contains(&status)
}

/// Statuses that say nothing about the account's state: the probe was refused for its
/// credential, throttled, or the server failed (which `server_error` reports).
fn is_inconclusive(status: u16) -> bool {
    matches!(status, 401 | 403 | 429) || status >= 500
}

/// The media type's essence: `application/json; charset=utf-8` → `application/json`.
pub(crate) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Looks a check up by id.
pub fn find(id: &str) -> Option<&'static Check> {
    CATALOGUE.iter().find(|check| check.id == id)
}

/// The checks a run applies: `only` (all when empty) less `exclude`. An unknown id is an
/// error naming the known ones.
pub fn select(only: &[String], exclude: &[String]) -> Result<Vec<&'static Check>, String> {
    for id in only.iter().chain(exclude) {
        if find(id).is_none() {
            let known: Vec<&str> = CATALOGUE.iter().map(|check| check.id).collect();
            return Err(format!("no check `{id}` (checks: {})", known.join(", ")));
        }
    }
    Ok(CATALOGUE
        .iter()
        .filter(|check| only.is_empty() || only.iter().any(|id| id == check.id))
        .filter(|check| !exclude.iter().any(|id| id == check.id))
        .collect())
}

#[cfg(test)]
pub(crate) mod fixture {
    //! Observations built by hand for the checks' test tables.

    use std::sync::OnceLock;
    use std::time::Duration;

    use super::*;
    use crate::client::{Request, TransportError};
    use crate::spec::{self, Spec};

    pub fn spec() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| spec::load(None).expect("embedded spec loads"))
    }

    pub fn exchange(status: u16, content_type: Option<&str>, body: &str) -> Exchange {
        let mut headers = Vec::new();
        if let Some(content_type) = content_type {
            headers.push(("content-type".to_string(), content_type.to_string()));
        }
        Exchange {
            request: Request {
                method: "PUT".into(),
                url: "http://127.0.0.1/".into(),
                headers: Vec::new(),
                body: Vec::new(),
            },
            response: Ok(Response {
                status,
                headers,
                body: body.as_bytes().to_vec(),
                truncated: false,
            }),
            elapsed: Duration::from_millis(1),
        }
    }

    pub fn json(status: u16, body: &str) -> Exchange {
        exchange(status, Some("application/json"), body)
    }

    pub fn timed_out() -> Exchange {
        let mut exchange = exchange(200, None, "");
        exchange.response = Err(TransportError::Timeout(Duration::from_secs(1)));
        exchange
    }

    /// Runs `check` on `exchange` sent with `intent` under `credential`.
    pub fn verdict(check: Check, intent: Intent, credential: &str, exchange: &Exchange) -> Verdict {
        let operation = &spec().operations[0];
        let credential = match credential {
            "none" => Credential::Anonymous,
            "unknown" => Credential::Unknown,
            scope => Credential::Scope(scope.to_string()),
        };
        let allowed = crate::plan::accepts(operation, Some("oauth"), &credential);
        (check.evaluate)(&Observation {
            operation,
            intent: &intent,
            credential: &credential,
            allowed,
            exchange,
            extra_statuses: &[],
        })
    }

    /// The kind of a verdict, for compact tables.
    pub fn kind(verdict: &Verdict) -> &'static str {
        match verdict {
            Verdict::Pass => "pass",
            Verdict::Fail(_) => "fail",
            Verdict::Skip => "skip",
        }
    }
}

//! The outcome of a run, and the writers that render it.
//!
//! `Outcome` is plain data: the runner fills it, the writers only read it once the run is
//! over. Every writer takes the run's `Secrets` and passes all text through them.

pub mod curl;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod passed;
pub mod sarif;
pub mod terminal;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::auth::Credential;
use crate::checks::{self, Severity, Verdict};
use crate::client::Exchange;

/// Everything a run found.
#[derive(Debug)]
pub struct Outcome {
    pub spec_source: String,
    /// SHA-256 of the spec's text, hex.
    pub spec_sha256: String,
    /// The target URL, and whether it is the embedded reference server.
    pub target: String,
    pub embedded: bool,
    /// The test account the run changed.
    pub account: String,
    pub seed: u64,
    /// The ids of the checks the run applied.
    pub checks: Vec<&'static str>,
    /// Signs that the setup (a token, the account) is wrong rather than the target.
    pub warnings: Vec<String>,
    /// Other things worth saying: cases not sent, and why.
    pub notes: Vec<String>,
    /// Throttling answers (429, MAX_LOAD, TOO_MANY_CONNECTIONS) seen and retried.
    pub throttled: usize,
    /// The run was stopped by a signal.
    pub interrupted: bool,
    /// Tokens the run got by refreshing, by scope: secrets, for the caller to scrub. No
    /// writer shows them.
    pub refreshed: Vec<(String, String)>,
    /// The exchanges reports show, in run order: those with a failed verdict (warnings
    /// included).
    pub records: Vec<Record>,
    /// Every other exchange: counted, and spooled for the JUnit report.
    pub passed: passed::Passed,
    /// Cases sent (probes and shrinking aside).
    pub cases: usize,
    /// Request latency over every exchange.
    pub latency: Latency,
    pub matrix: Vec<MatrixRow>,
    /// Why the run stopped before its plan was done, if it did.
    pub aborted: Option<String>,
    pub restore: Restore,
    pub elapsed: Duration,
}

/// One exchange and the verdicts of the checks that applied to it.
#[derive(Debug)]
pub struct Record {
    /// The exchange's position in the run (passing ones included).
    pub seq: u64,
    /// `c0001`, or `c0001.2` for the second probe after case `c0001`.
    pub id: String,
    pub operation: String,
    pub credential: Credential,
    pub label: String,
    pub exchange: Exchange,
    /// Checks that applied, with their verdicts (never `Skip`).
    pub verdicts: Vec<(&'static str, Verdict)>,
    /// A valid request refused by the server's own policy (counted apart in reports).
    pub policy_refusal: bool,
}

/// One row of the scope matrix: a credential, what the spec expects, and what came back to
/// its valid requests.
#[derive(Debug)]
pub struct MatrixRow {
    pub operation: String,
    pub credential: Credential,
    /// What the spec's security requirement says of this credential.
    pub expected: Expected,
    /// Statuses (or `timeout`) of the valid requests sent with it, and how many of each.
    pub observed: BTreeMap<String, usize>,
}

impl MatrixRow {
    /// Whether a matrix row's observed statuses agree with what the spec expects of its
    /// credential; None when nothing was sent or nothing is expected.
    ///
    /// A credential the spec accepts agrees when no request was refused for its token (401/403),
    /// failed (5xx) or went unanswered: another 4xx is the server's policy refusing a body, which
    /// `positive_accepted` judges, not the scope. A credential the spec refuses agrees only when
    /// every request was answered 401 or 403.
    pub fn agrees(&self) -> Option<bool> {
        if self.observed.is_empty() {
            return None;
        }
        let statuses = || self.observed.keys().map(|key| key.parse::<u16>().ok());
        match self.expected {
            Expected::NoToken => None,
            Expected::Accepted => Some(statuses().all(|status| {
                status.is_some_and(|s| {
                    (200..300).contains(&s) || ((400..500).contains(&s) && !matches!(s, 401 | 403))
                })
            })),
            Expected::Refused => Some(statuses().all(|status| matches!(status, Some(401 | 403)))),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Accepted,
    Refused,
    /// No token was configured for this scope: nothing was sent.
    NoToken,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restore {
    /// The run did not change any password.
    NotNeeded,
    Restored,
    Failed(String),
    /// `--no-restore`: the password the account has now, if known (a generated one).
    Skipped(Option<String>),
}

/// Passed, failed and warned counts of one check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    /// Failures of a warning-severity check (not counted in `failed`).
    pub warned: usize,
}

impl Outcome {
    /// Per check, in catalogue order: how many exchanges passed and failed it. A check with
    /// neither was not exercised.
    pub fn tally(&self) -> Vec<(&'static str, Tally)> {
        checks::CATALOGUE
            .iter()
            .filter(|check| self.checks.contains(&check.id))
            .map(|check| {
                let mut tally = Tally {
                    passed: self.passed.of_check(check.id).0,
                    ..Tally::default()
                };
                for (id, verdict) in self.records.iter().flat_map(|record| &record.verdicts) {
                    if *id == check.id {
                        match verdict {
                            Verdict::Pass => tally.passed += 1,
                            Verdict::Fail(finding) if finding.severity == Severity::Warning => {
                                tally.warned += 1
                            }
                            Verdict::Fail(_) => tally.failed += 1,
                            Verdict::Skip => {}
                        }
                    }
                }
                (check.id, tally)
            })
            .collect()
    }

    pub fn failures(&self) -> impl Iterator<Item = (&Record, &'static str, &checks::Finding)> {
        self.records.iter().flat_map(|record| {
            record
                .verdicts
                .iter()
                .filter_map(move |(id, verdict)| match verdict {
                    Verdict::Fail(finding) => Some((record, *id, &**finding)),
                    _ => None,
                })
        })
    }

    /// Failures that fail the run (warnings excluded).
    pub fn failure_count(&self) -> usize {
        self.failures()
            .filter(|(_, _, finding)| finding.severity == Severity::Error)
            .count()
    }

    pub fn policy_refusals(&self) -> usize {
        self.passed.policy_refusals()
            + self
                .records
                .iter()
                .filter(|record| record.policy_refusal)
                .count()
    }

    /// Exchanges in the run: shown and passing.
    pub fn exchanges(&self) -> usize {
        self.records.len() + self.passed.len()
    }

    /// Conformant: no check failed and the plan ran to its end.
    pub fn conformant(&self) -> bool {
        self.failure_count() == 0 && self.aborted.is_none()
    }
}

/// Request latencies, in microseconds, in fixed memory whatever the run's length.
#[derive(Debug)]
pub struct Latency(hdrhistogram::Histogram<u64>);

impl Default for Latency {
    fn default() -> Latency {
        // One microsecond to an hour, three significant digits.
        Latency(
            hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("valid histogram bounds"),
        )
    }
}

impl Latency {
    pub fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The latency below which `percentile` per cent of the requests fall (`None` before any).
    pub fn percentile(&self, percentile: f64) -> Option<Duration> {
        (!self.0.is_empty()).then(|| Duration::from_micros(self.0.value_at_percentile(percentile)))
    }
}

//! The JSON report, for tools: the whole outcome as one document, built with serde_json.
//!
//! The document holds the run's identity (spec, target, seed), the verdict, the totals, a
//! tally per check, the scope matrix, the setup warnings, the restore state and every failure
//! with its request, response excerpt and curl reproduction. Passing exchanges are counted,
//! not listed (the JUnit report lists them).
//!
//! The serde structs here are a scrubbed view of the `Outcome`, built once from it: the shared
//! types carry no serde derives, so the JSON shape can change without touching the runner.
//! This file also holds what the other file writers share, so that they say the same things:
//! the exchange view (the HTML page renders it, so each piece of an exchange is scrubbed in
//! one place), failures grouped by check, the rule for a matrix row's agreement, and the
//! wording of a few lines. It does not write anything but JSON.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::{curl, junit, Expected, Outcome, Record, Restore};
use crate::checks::{self, Finding, Severity};
use crate::client::Exchange;
use crate::redact::Secrets;

/// How much of a body a failure shows, in characters (as in the JUnit report).
const BODY_EXCERPT: usize = 2048;

/// Bumped when a field changes meaning or goes away; adding a field does not bump it.
const FORMAT_VERSION: u32 = 1;

/// Writes the document for `outcome`, every string from the run scrubbed with `secrets`.
pub fn write(outcome: &Outcome, secrets: &Secrets, mut out: impl Write) -> std::io::Result<()> {
    let document = Document::new(outcome, secrets);
    serde_json::to_writer_pretty(&mut out, &document).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

#[derive(Serialize)]
struct Document {
    format_version: u32,
    /// The specgate version that wrote the report.
    version: &'static str,
    spec: String,
    target: String,
    embedded: bool,
    account: String,
    /// A string: seeds are u64 and JSON readers that use doubles (jq, JavaScript) would round
    /// one above 2^53, and a rounded seed reproduces a different run.
    seed: String,
    conformant: bool,
    /// Why the run stopped before its plan was done.
    aborted: Option<String>,
    /// The run was stopped by a signal.
    interrupted: bool,
    restore: RestoreView,
    elapsed_seconds: f64,
    totals: Totals,
    checks: Vec<CheckView>,
    matrix: Vec<MatrixView>,
    warnings: Vec<String>,
    /// Other things worth saying, such as cases not sent and why.
    notes: Vec<String>,
    failures: Vec<FailureView>,
}

#[derive(Serialize)]
struct Totals {
    /// Planned cases (a probe after a case is not a case).
    cases: usize,
    requests: usize,
    /// Failures that fail the run.
    failures: usize,
    /// Failures of warning severity.
    warnings: usize,
    policy_refusals: usize,
    /// Throttling answers seen and retried.
    throttled: usize,
}

#[derive(Serialize)]
struct RestoreView {
    /// `not-needed`, `restored`, `failed` or `skipped` (`--no-restore`). A skipped restore
    /// does not carry the account's current password: a report file is an artifact that
    /// outlives the run, and that password is then the account's real one.
    state: &'static str,
    reason: Option<String>,
}

#[derive(Serialize)]
struct CheckView {
    id: &'static str,
    description: &'static str,
    severity: &'static str,
    passed: usize,
    failed: usize,
    warned: usize,
    /// False when the check applied to no exchange (never reported as passed).
    exercised: bool,
}

#[derive(Serialize)]
struct MatrixView {
    operation: String,
    credential: String,
    /// `accepted`, `refused` or `no-token`.
    expected: &'static str,
    /// Status (or `no answer`) → how many valid requests got it.
    observed: BTreeMap<String, usize>,
    /// Whether what came back agrees with what the spec expects; null when nothing was sent.
    agrees: Option<bool>,
}

#[derive(Serialize)]
struct FailureView {
    check: &'static str,
    severity: &'static str,
    case: String,
    operation: String,
    credential: String,
    label: String,
    message: String,
    /// JSON pointer into the response body, when the finding is about the body.
    pointer: Option<String>,
    #[serde(flatten)]
    exchange: ExchangeView,
}

/// One exchange, every string scrubbed, bodies cut to an excerpt.
#[derive(Serialize)]
pub(super) struct ExchangeView {
    pub request: RequestView,
    /// None when no answer came back (`transport_error` says why).
    pub response: Option<ResponseView>,
    pub transport_error: Option<String>,
    pub elapsed_ms: u128,
    /// A shell command that sends the request again, secrets as environment variables.
    pub curl: String,
}

#[derive(Serialize)]
pub(super) struct RequestView {
    pub method: String,
    pub url: String,
    pub headers: Vec<HeaderView>,
    pub body: BodyView,
}

#[derive(Serialize)]
pub(super) struct ResponseView {
    pub status: u16,
    pub headers: Vec<HeaderView>,
    pub body: BodyView,
}

#[derive(Serialize)]
pub(super) struct HeaderView {
    pub name: String,
    pub value: String,
}

#[derive(Serialize)]
pub(super) struct BodyView {
    /// The start of the body as text (invalid UTF-8 shown as U+FFFD), secrets replaced.
    pub excerpt: String,
    /// The body's full size in bytes.
    pub bytes: usize,
    /// Whether `excerpt` is shorter than the body (cut here, or by the client's size limit).
    pub cut: bool,
}

impl Document {
    fn new(outcome: &Outcome, secrets: &Secrets) -> Document {
        let scrub = |text: &str| secrets.scrub(text);
        let all_failures = outcome.failures().count();
        Document {
            format_version: FORMAT_VERSION,
            version: env!("CARGO_PKG_VERSION"),
            spec: scrub(&outcome.spec_source),
            target: scrub(&outcome.target),
            embedded: outcome.embedded,
            account: scrub(&outcome.account),
            seed: outcome.seed.to_string(),
            conformant: outcome.conformant(),
            aborted: outcome.aborted.as_deref().map(scrub),
            interrupted: outcome.interrupted,
            restore: match &outcome.restore {
                Restore::NotNeeded => RestoreView {
                    state: "not-needed",
                    reason: None,
                },
                Restore::Restored => RestoreView {
                    state: "restored",
                    reason: None,
                },
                Restore::Failed(reason) => RestoreView {
                    state: "failed",
                    reason: Some(scrub(reason)),
                },
                Restore::Skipped(password) => RestoreView {
                    state: "skipped",
                    reason: Some(skipped_restore(password.is_some()).into()),
                },
            },
            elapsed_seconds: outcome.elapsed.as_secs_f64(),
            totals: Totals {
                cases: outcome.cases,
                requests: outcome.exchanges(),
                failures: outcome.failure_count(),
                warnings: all_failures - outcome.failure_count(),
                policy_refusals: outcome.policy_refusals(),
                throttled: outcome.throttled,
            },
            checks: outcome
                .tally()
                .into_iter()
                .map(|(id, tally)| {
                    let check = checks::find(id);
                    CheckView {
                        id,
                        description: check.map_or("", |check| check.description),
                        severity: severity_name(check.map_or(Severity::Error, |c| c.severity)),
                        exercised: tally.passed + tally.failed + tally.warned > 0,
                        passed: tally.passed,
                        failed: tally.failed,
                        warned: tally.warned,
                    }
                })
                .collect(),
            matrix: outcome
                .matrix
                .iter()
                .map(|row| MatrixView {
                    operation: scrub(&row.operation),
                    credential: scrub(&row.credential.to_string()),
                    expected: expected_name(row.expected),
                    observed: row
                        .observed
                        .iter()
                        .map(|(status, count)| (scrub(status), *count))
                        .collect(),
                    agrees: row.agrees(),
                })
                .collect(),
            warnings: outcome.warnings.iter().map(|w| scrub(w)).collect(),
            notes: outcome.notes.iter().map(|note| scrub(note)).collect(),
            failures: by_check(outcome)
                .into_iter()
                .flat_map(|(_, failures)| failures)
                .map(|(record, check, finding)| FailureView {
                    check,
                    severity: severity_name(finding.severity),
                    case: scrub(&record.id),
                    operation: scrub(&record.operation),
                    credential: scrub(&record.credential.to_string()),
                    label: scrub(&record.label),
                    message: scrub(&finding.message),
                    pointer: finding.pointer.as_deref().map(scrub),
                    exchange: ExchangeView::new(&record.exchange, secrets),
                })
                .collect(),
        }
    }
}

impl ExchangeView {
    pub(super) fn new(exchange: &Exchange, secrets: &Secrets) -> ExchangeView {
        let request = &exchange.request;
        let headers = |headers: &[(String, String)]| {
            headers
                .iter()
                .map(|(name, value)| HeaderView {
                    name: secrets.scrub(name),
                    value: secrets.scrub(value),
                })
                .collect()
        };
        let (response, transport_error) = match &exchange.response {
            Ok(response) => {
                let mut body = BodyView::new(&response.body, secrets);
                // The client stopped reading at its limit: the body was longer than `bytes`.
                body.cut |= response.truncated;
                let view = ResponseView {
                    status: response.status,
                    headers: headers(&response.headers),
                    body,
                };
                (Some(view), None)
            }
            Err(error) => (None, Some(secrets.scrub(&error.to_string()))),
        };
        ExchangeView {
            request: RequestView {
                method: secrets.scrub(&request.method),
                url: secrets.scrub(&request.url),
                headers: headers(&request.headers),
                body: BodyView::new(&request.body, secrets),
            },
            response,
            transport_error,
            elapsed_ms: exchange.elapsed.as_millis(),
            curl: curl::command(request, secrets),
        }
    }
}

impl BodyView {
    /// Scrubbing sees the whole body, so that a secret across the cut is still found.
    pub(super) fn new(bytes: &[u8], secrets: &Secrets) -> BodyView {
        let scrubbed = secrets.scrub(&String::from_utf8_lossy(bytes));
        let cut = scrubbed.chars().count() > BODY_EXCERPT;
        BodyView {
            excerpt: scrubbed.chars().take(BODY_EXCERPT).collect(),
            bytes: bytes.len(),
            cut,
        }
    }
}

/// One failure: the record of the exchange, the check that failed, and why.
pub(super) type Failure<'a> = (&'a Record, &'static str, &'a Finding);

/// A check and its failures.
pub(super) type Group<'a> = (&'static str, Vec<Failure<'a>>);

/// The failures of each check that has any, checks in catalogue order, failures in the order
/// they were sent.
pub(super) fn by_check(outcome: &Outcome) -> Vec<Group<'_>> {
    let mut groups: Vec<(&'static str, Vec<_>)> = checks::CATALOGUE
        .iter()
        .map(|check| (check.id, Vec::new()))
        .collect();
    for failure in outcome.failures() {
        match groups.iter_mut().find(|(id, _)| *id == failure.1) {
            Some((_, failures)) => failures.push(failure),
            // A check the catalogue no longer has still gets reported, after the others.
            None => groups.push((failure.1, vec![failure])),
        }
    }
    groups.retain(|(_, failures)| !failures.is_empty());
    groups
}

pub(super) fn expected_name(expected: Expected) -> &'static str {
    match expected {
        Expected::Accepted => "accepted",
        Expected::Refused => "refused",
        Expected::NoToken => "no-token",
    }
}

pub(super) fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// `<case id> <operation> [<credential>] <label>`, scrubbed: the name the JUnit report and
/// the terminal give the exchange.
pub(super) fn case_name(record: &Record, secrets: &Secrets) -> String {
    secrets.scrub(&junit::test_name(record))
}

/// What a file report says of a restore skipped with `--no-restore`. The account's current
/// password is left to the terminal: a report file is an artifact that outlives the run, and
/// that password is now the account's real one.
pub(super) fn skipped_restore(password_known: bool) -> &'static str {
    if password_known {
        "not restored (--no-restore); its current password is in the terminal summary"
    } else {
        "not restored (--no-restore); its password is not known"
    }
}

/// The throttling line, in the terminal's words.
pub(super) fn throttled(times: usize) -> String {
    format!(
        "throttling: the target said it was busy {times} times (429, MAX_LOAD or TOO_MANY_CONNECTIONS); those requests were retried with backoff, not judged"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credential;

    fn row(expected: Expected, observed: &[(&str, usize)]) -> crate::report::MatrixRow {
        crate::report::MatrixRow {
            operation: "Op".into(),
            credential: Credential::Anonymous,
            expected,
            observed: observed
                .iter()
                .map(|(status, count)| (status.to_string(), *count))
                .collect(),
        }
    }

    #[test]
    fn matrix_agreement() {
        use Expected::*;
        type Row<'a> = (Expected, &'a [(&'a str, usize)], Option<bool>);
        let table: &[Row] = &[
            (Accepted, &[("200", 3)], Some(true)),
            // A password policy refusing a body is not a scope problem.
            (Accepted, &[("200", 2), ("400", 1)], Some(true)),
            (Accepted, &[("200", 2), ("403", 1)], Some(false)),
            (Accepted, &[("500", 1)], Some(false)),
            (Accepted, &[("no answer", 1)], Some(false)),
            (Refused, &[("401", 1), ("403", 2)], Some(true)),
            (Refused, &[("403", 2), ("200", 1)], Some(false)),
            (Refused, &[("400", 1)], Some(false)),
            (Refused, &[], None),
            (NoToken, &[], None),
        ];
        for (expected, observed, agreement) in table {
            assert_eq!(
                row(*expected, observed).agrees(),
                *agreement,
                "{expected:?} {observed:?}"
            );
        }
    }

    #[test]
    fn body_excerpt_is_scrubbed_whole_then_cut() {
        let mut secrets = Secrets::default();
        secrets.add("hunter2", "SPECGATE_PASSWORD");
        let mut body = "x".repeat(BODY_EXCERPT - 3).into_bytes();
        body.extend_from_slice(b"hunter2");
        let view = BodyView::new(&body, &secrets);
        assert!(view.cut);
        assert_eq!(view.bytes, body.len());
        assert!(view.excerpt.ends_with("${S"), "{}", view.excerpt);
        assert!(!view.excerpt.contains("hun"));
    }
}

//! The terminal summary: failures, a table of checks, the scope matrix, the verdict.

use std::io::Write;

use super::{curl, junit, Expected, Outcome, Restore};
use crate::checks::Severity;
use crate::client::Request;
use crate::plan::Case;
use crate::redact::Secrets;

/// Failures printed in full; the rest are counted (the JUnit report has them all).
const MAX_FAILURES_SHOWN: usize = 20;
/// Request bodies longer than this are left out of the terminal's curl commands.
const MAX_BODY_SHOWN: usize = 2048;

/// `--dry-run`: each planned request, secrets redacted, and nothing sent.
pub fn write_plan(
    plan: &[(Case, Request)],
    secrets: &Secrets,
    mut out: impl Write,
) -> std::io::Result<()> {
    let mut text = String::new();
    for (case, request) in plan {
        text.push_str(&format!(
            "{} [{}] {}\n    {}\n",
            case.id,
            case.credential,
            case.label,
            curl::command(request, secrets)
        ));
    }
    text.push_str(&format!(
        "{} cases planned (each followed by state probes when run); nothing was sent\n",
        plan.len()
    ));
    out.write_all(secrets.scrub(&text).as_bytes())
}

/// The command that sends a record's case again: the run's other flags (target, account) go
/// with it.
pub fn replay_command(outcome: &Outcome, record_id: &str) -> String {
    let case = record_id.split('.').next().unwrap_or(record_id);
    if outcome.embedded {
        format!("replay: specgate replay {case} --seed {}", outcome.seed)
    } else {
        format!(
            "replay: specgate replay {case} --seed {} --target {} (with this run's account and token flags)",
            outcome.seed, outcome.target
        )
    }
}

/// The summary; `color` marks failures, warnings and the verdict with ANSI colours.
pub fn write(
    outcome: &Outcome,
    secrets: &Secrets,
    color: bool,
    mut out: impl Write,
) -> std::io::Result<()> {
    let text = secrets.scrub(&render(outcome, secrets));
    let text = if color { paint(&text) } else { text };
    out.write_all(text.as_bytes())
}

/// Colours whole lines by what they start with.
fn paint(text: &str) -> String {
    const RED: &str = "\x1b[31m";
    const YELLOW: &str = "\x1b[33m";
    const GREEN: &str = "\x1b[32m";
    const RESET: &str = "\x1b[0m";
    let mut painted = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        let colour = if line.starts_with("FAIL ")
            || line.starts_with("result: NOT")
            || line.starts_with("TEST ACCOUNT NOT RESTORED")
        {
            Some(RED)
        } else if line.starts_with("WARN ") || line.starts_with("SETUP WARNING") {
            Some(YELLOW)
        } else if line.starts_with("result: conformant") {
            Some(GREEN)
        } else {
            None
        };
        match colour {
            Some(colour) => painted.push_str(&format!("{colour}{line}{RESET}\n")),
            None => {
                painted.push_str(line);
                painted.push('\n');
            }
        }
    }
    painted
}

fn render(outcome: &Outcome, secrets: &Secrets) -> String {
    let mut text = String::new();
    let mut line = |s: String| {
        text.push_str(&s);
        text.push('\n');
    };
    line(format!("specgate {}", env!("CARGO_PKG_VERSION")));
    line(format!("spec     {}", outcome.spec_source));
    line(format!(
        "target   {}{}",
        outcome.target,
        if outcome.embedded {
            " (embedded reference server)"
        } else {
            ""
        }
    ));
    line(format!("seed     {}", outcome.seed));
    line(String::new());
    for warning in &outcome.warnings {
        line(format!("SETUP WARNING: {warning}"));
    }
    if !outcome.warnings.is_empty() {
        line(String::new());
    }

    let failures: Vec<_> = outcome.failures().collect();
    for (record, check, finding) in failures.iter().take(MAX_FAILURES_SHOWN) {
        let tag = match finding.severity {
            Severity::Error => "FAIL",
            Severity::Warning => "WARN",
        };
        line(format!("{tag} {check}  {}", junit::test_name(record)));
        line(format!("     {}", finding.message));
        let request = &record.exchange.request;
        if request.body.len() > MAX_BODY_SHOWN {
            let without_body = Request {
                body: Vec::new(),
                ..request.clone()
            };
            line(format!(
                "     {} (a {}-byte body is left out here; the JUnit report has the whole command)",
                curl::command(&without_body, secrets),
                request.body.len()
            ));
        } else {
            line(format!("     {}", curl::command(request, secrets)));
        }
        line(format!("     {}", replay_command(outcome, &record.id)));
    }
    if failures.len() > MAX_FAILURES_SHOWN {
        line(format!(
            "… and {} more failures (all of them are in the JUnit report)",
            failures.len() - MAX_FAILURES_SHOWN
        ));
    }
    if !failures.is_empty() {
        line(String::new());
    }

    line(format!(
        "{:<26}{:>8}{:>8}{:>8}",
        "check", "passed", "failed", "warned"
    ));
    for (check, tally) in outcome.tally() {
        if tally.passed + tally.failed + tally.warned == 0 {
            line(format!(
                "{check:<26}{:>8}{:>8}{:>8}  not exercised",
                "-", "-", "-"
            ));
        } else {
            line(format!(
                "{check:<26}{:>8}{:>8}{:>8}",
                tally.passed, tally.failed, tally.warned
            ));
        }
    }
    line(String::new());

    let mut operation = "";
    for row in &outcome.matrix {
        if row.operation != operation {
            operation = &row.operation;
            line(format!("scope matrix: {operation}"));
            line(format!("{:<16}{:<11}observed", "credential", "expected"));
        }
        let expected = match row.expected {
            Expected::Accepted => "accepted",
            Expected::Refused => "refused",
            Expected::NoToken => "no token",
        };
        let observed = if row.observed.is_empty() {
            "-".to_string()
        } else {
            row.observed
                .iter()
                .map(|(status, count)| format!("{status} ×{count}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        line(format!(
            "{:<16}{expected:<11}{observed}",
            row.credential.to_string()
        ));
    }
    if !outcome.matrix.is_empty() {
        line(String::new());
    }

    line(format!(
        "{} cases, {} requests, {} failed checks, {} warnings, {} valid requests refused by the server's policy, {:.2} s",
        outcome.cases,
        outcome.exchanges(),
        outcome.failure_count(),
        failures.len() - outcome.failure_count(),
        outcome.policy_refusals(),
        outcome.elapsed.as_secs_f64()
    ));
    for note in &outcome.notes {
        line(format!("note: {note}"));
    }
    if outcome.throttled > 0 {
        line(format!(
            "throttling: the target said it was busy {} times (429, MAX_LOAD or TOO_MANY_CONNECTIONS); those requests were retried with backoff, not judged",
            outcome.throttled
        ));
    }
    if let Some(reason) = &outcome.aborted {
        line(format!("run stopped early: {reason}"));
    }
    match &outcome.restore {
        Restore::NotNeeded => {}
        Restore::Restored => line("test account: original password restored".into()),
        Restore::Failed(reason) => line(format!(
            "TEST ACCOUNT NOT RESTORED: its original password could not be put back ({reason})"
        )),
        Restore::Skipped(Some(password)) => line(format!(
            "test account: not restored (--no-restore); its password is now {password}"
        )),
        Restore::Skipped(None) => {
            line("test account: not restored (--no-restore); its password is not known".into())
        }
    }
    if outcome.conformant() {
        line("result: conformant".into());
    } else {
        let failed_checks = outcome
            .tally()
            .iter()
            .filter(|(_, tally)| tally.failed > 0)
            .count();
        line(format!(
            "result: NOT CONFORMANT ({} failures in {failed_checks} checks; rerun with --seed {})",
            outcome.failure_count(),
            outcome.seed
        ));
    }
    text
}

//! The JUnit XML report, written with `junit-report`.
//!
//! One `<testsuite>` per check, named `specgate.<check>`; one `<testcase>` per exchange the
//! check applied to, named `<case id> <operation> [<credential>] <label>`. A failure's message
//! is the finding; its text holds the request, the response and a curl reproduction. A check
//! that applied to nothing gets one skipped test case saying it was not exercised.

use std::io::Write;

use junit_report::{Duration, ReportBuilder, TestCaseBuilder, TestSuiteBuilder};

use super::{curl, Outcome, Record};
use crate::checks::{self, Severity, Verdict};
use crate::client::Exchange;
use crate::redact::Secrets;

/// How much of a response body a failure shows.
const BODY_EXCERPT: usize = 2048;

pub fn write(outcome: &Outcome, secrets: &Secrets, mut sink: impl Write) -> std::io::Result<()> {
    let mut report = ReportBuilder::new();
    let mut skipped = Vec::new();
    for check in checks::CATALOGUE
        .iter()
        .filter(|check| outcome.checks.contains(&check.id))
    {
        let mut suite = TestSuiteBuilder::new(&format!("specgate.{}", check.id));
        let classname = format!("specgate.{}", check.id);
        let mut exercised = false;
        for record in &outcome.records {
            for (id, verdict) in &record.verdicts {
                if *id != check.id {
                    continue;
                }
                exercised = true;
                let name = secrets.scrub(&test_name(record));
                let time = Duration::seconds_f64(record.exchange.elapsed.as_secs_f64());
                let mut case = match verdict {
                    // A warning does not turn a CI dashboard red: the case passes and says why
                    // it was flagged.
                    Verdict::Fail(finding) if finding.severity == Severity::Warning => {
                        let mut case = TestCaseBuilder::success(&name, time);
                        case.set_system_out(&format!(
                            "WARNING: {}\n{}",
                            secrets.scrub(&finding.message),
                            details(record, check.id, secrets)
                        ));
                        case
                    }
                    Verdict::Fail(finding) => {
                        let mut case = TestCaseBuilder::failure(
                            &name,
                            time,
                            check.id,
                            &secrets.scrub(&finding.message),
                        );
                        let mut text = details(record, check.id, secrets);
                        if let Some(pointer) = &finding.pointer {
                            text.insert_str(0, &format!("pointer: {pointer}\n"));
                        }
                        text.insert_str(0, &format!("rule: {}\n", check.description));
                        text.push_str(&super::terminal::replay_command(outcome, &record.id));
                        text.push('\n');
                        case.set_trace(&secrets.scrub(&text));
                        case
                    }
                    Verdict::Pass | Verdict::Skip => TestCaseBuilder::success(&name, time),
                };
                case.set_classname(&classname);
                suite.add_testcase(case.build());
            }
        }
        skipped.push(usize::from(!exercised));
        if !exercised {
            let mut case = TestCaseBuilder::skipped_with_cause(
                &format!("{}: not exercised", check.id),
                "not-exercised",
                "no exchange of this run was one this check applies to",
            );
            case.set_classname(&classname);
            suite.add_testcase(case.build());
        }
        report.add_testsuite(suite.build());
    }
    // The scope matrix: a suite per credential, a case per operation saying whether what came
    // back agrees with what the spec expects of it.
    let scopes_checked = ["scope_enforced", "auth_required"]
        .iter()
        .any(|id| outcome.checks.contains(id));
    for row in outcome.matrix.iter().filter(|_| scopes_checked) {
        let credential = row.credential.to_string();
        let mut suite = TestSuiteBuilder::new(&format!("specgate.scope.{credential}"));
        let expected = match row.expected {
            super::Expected::Accepted => "accepted",
            super::Expected::Refused => "refused",
            super::Expected::NoToken => "no token",
        };
        let observed: Vec<String> = row
            .observed
            .iter()
            .map(|(status, count)| format!("{status} ×{count}"))
            .collect();
        let name = format!("{} [{credential}] expected {expected}", row.operation);
        let mut case = match row.agrees() {
            Some(true) => TestCaseBuilder::success(&name, Duration::ZERO),
            Some(false) => {
                let mut case = TestCaseBuilder::failure(
                    &name,
                    Duration::ZERO,
                    "scope_matrix",
                    &format!("expected {expected}, observed {}", observed.join(", ")),
                );
                case.set_trace("the scope_enforced, auth_required and positive_accepted suites name each request");
                case
            }
            None => TestCaseBuilder::skipped_with_cause(
                &name,
                "not-exercised",
                if row.expected == super::Expected::NoToken {
                    "no token was configured for this scope"
                } else {
                    "no valid request was sent with this credential"
                },
            ),
        };
        case.set_classname(&format!("specgate.scope.{credential}"));
        skipped.push(usize::from(row.agrees().is_none()));
        suite.add_testcase(case.build());
        report.add_testsuite(suite.build());
    }
    let report = report.build();
    let mut xml = Vec::new();
    report
        .write_xml(&mut xml)
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    let xml = String::from_utf8(xml).map_err(std::io::Error::other)?;
    let totals = Totals {
        tests: report.testsuites().iter().map(|suite| suite.tests()).sum(),
        failures: report
            .testsuites()
            .iter()
            .map(|suite| suite.failures())
            .sum(),
        skipped: skipped.iter().sum(),
        time: outcome.elapsed.as_secs_f64(),
    };
    let properties = properties(outcome, secrets);
    sink.write_all(complete(&xml, &totals, &skipped, &properties).as_bytes())
}

struct Totals {
    tests: usize,
    failures: usize,
    skipped: usize,
    time: f64,
}

/// The run's facts, as `<property>` elements (values scrubbed and XML-escaped).
fn properties(outcome: &Outcome, secrets: &Secrets) -> String {
    let facts = [
        ("specgate.version", env!("CARGO_PKG_VERSION").to_string()),
        ("seed", outcome.seed.to_string()),
        ("spec", outcome.spec_source.clone()),
        ("spec.sha256", outcome.spec_sha256.clone()),
        ("target", outcome.target.clone()),
    ];
    let mut xml = String::from("<properties>");
    for (name, value) in facts {
        xml.push_str(&format!(
            "<property name=\"{name}\" value=\"{}\"/>",
            escape(&secrets.scrub(&value))
        ));
    }
    xml.push_str("</properties>");
    xml
}

/// What junit-report does not write: the `<testsuites>` name and totals, each suite's
/// `skipped` count, and each suite's `<properties>` (which must come before its test cases).
fn complete(xml: &str, totals: &Totals, skipped: &[usize], properties: &str) -> String {
    let mut out = String::with_capacity(xml.len() + skipped.len() * properties.len() + 256);
    let head = format!(
        "<testsuites name=\"specgate\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
        totals.tests, totals.failures, totals.skipped, totals.time
    );
    let mut rest = match xml.split_once("<testsuites>") {
        Some((before, after)) => {
            out.push_str(before);
            out.push_str(&head);
            after
        }
        None => return xml.to_string(),
    };
    let mut index = 0;
    // junit-report escapes `>` in attribute values, so the first `>` ends the start tag.
    while let Some(at) = rest.find("<testsuite ") {
        let Some(end) = rest[at..].find('>').map(|end| at + end) else {
            break;
        };
        out.push_str(&rest[..end]);
        out.push_str(&format!(
            " skipped=\"{}\">",
            skipped.get(index).copied().unwrap_or(0)
        ));
        out.push_str(properties);
        rest = &rest[end + 1..];
        index += 1;
    }
    out.push_str(rest);
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub fn test_name(record: &Record) -> String {
    format!(
        "{} {} [{}] {}",
        record.id, record.operation, record.credential, record.label
    )
}

/// The failure's text: what was sent, what came back, how to send it again.
fn details(record: &Record, check: &str, secrets: &Secrets) -> String {
    let mut text = secrets.scrub(&format!("check: {check}\ncase: {}\n", test_name(record)));
    text.push_str(&exchange_text(&record.exchange, secrets));
    text.push_str(&format!(
        "reproduce: {}\n",
        curl::command(&record.exchange.request, secrets)
    ));
    text
}

/// The request and response as text, secrets replaced. Each piece is scrubbed before it is
/// escaped for display, so that escaping cannot hide a secret from the scrubber.
pub fn exchange_text(exchange: &Exchange, secrets: &Secrets) -> String {
    let request = &exchange.request;
    let line = |text: String| secrets.scrub(&text) + "\n";
    let mut text = line(format!("request: {} {}", request.method, request.url));
    for (name, value) in &request.headers {
        text.push_str(&line(format!("  {name}: {value}")));
    }
    if !request.body.is_empty() {
        text.push_str(&format!("  body: {}\n", excerpt(&request.body, secrets)));
    }
    match &exchange.response {
        Ok(response) => {
            text.push_str(&format!("response: {}\n", response.status));
            for (name, value) in &response.headers {
                text.push_str(&line(format!("  {name}: {value}")));
            }
            if !response.body.is_empty() {
                text.push_str(&format!("  body: {}\n", excerpt(&response.body, secrets)));
            }
        }
        Err(error) => text.push_str(&format!("response: none ({error})\n")),
    }
    text.push_str(&format!(
        "elapsed: {:.3} s\n",
        exchange.elapsed.as_secs_f64()
    ));
    text
}

/// The start of a body, secrets replaced, control characters escaped. Scrubbing sees the
/// whole body so that a secret across the cut is still found.
fn excerpt(bytes: &[u8], secrets: &Secrets) -> String {
    let scrubbed = secrets.scrub(&String::from_utf8_lossy(bytes));
    let mut text: String = scrubbed
        .chars()
        .take(BODY_EXCERPT)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if scrubbed.chars().count() > BODY_EXCERPT {
        text.push_str(&format!(" … ({} bytes in all)", bytes.len()));
    }
    text
}

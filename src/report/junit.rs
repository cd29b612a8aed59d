//! The JUnit XML report, its test cases rendered by `junit-report`, streamed.
//!
//! One `<testsuite>` per check, named `specgate.<check>`; one `<testcase>` per exchange the
//! check applied to, named `<case id> <operation> [<credential>] <label>`. A failure's message
//! is the finding; its text holds the request, the response and a curl reproduction. A check
//! that applied to nothing gets one skipped test case saying it was not exercised. Then a suite
//! per credential of the scope matrix.
//!
//! A long run has millions of test cases, so the report is never whole in memory: each suite's
//! figures are counted from the verdicts first, its start tag (with what junit-report does not
//! write: the `skipped` count and the run's `<properties>`) is written here, and its test cases
//! are rendered by junit-report a chunk at a time.

use std::io::Write;

use junit_report::{Duration, ReportBuilder, TestCase, TestCaseBuilder, TestSuiteBuilder};

use super::{curl, MatrixRow, Outcome, Record};
use crate::auth::Credential;
use crate::checks::{self, Check, Severity, Verdict};
use crate::client::Exchange;
use crate::redact::Secrets;

/// How much of a response body a failure shows.
const BODY_EXCERPT: usize = 2048;
/// Test cases rendered at a time.
const CHUNK: usize = 512;

/// A suite of the report: a check's, or a row of the scope matrix.
enum Suite<'a> {
    Check(&'static Check),
    Scope(&'a MatrixRow),
}

/// What a suite's start tag says of it.
#[derive(Default)]
struct Figures {
    tests: usize,
    failures: usize,
    skipped: usize,
    time: Duration,
}

pub fn write(outcome: &Outcome, secrets: &Secrets, sink: impl Write) -> std::io::Result<()> {
    // Nothing is written when the passing exchanges cannot be read back: no half a report.
    if let Some(error) = outcome.passed.error() {
        return Err(std::io::Error::other(error.to_string()));
    }
    let mut out = std::io::BufWriter::new(sink);
    let suites = suites(outcome);
    let figures: Vec<Figures> = suites.iter().map(|suite| suite.figures(outcome)).collect();
    write!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"specgate\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
        figures.iter().map(|f| f.tests).sum::<usize>(),
        figures.iter().map(|f| f.failures).sum::<usize>(),
        figures.iter().map(|f| f.skipped).sum::<usize>(),
        outcome.elapsed.as_secs_f64()
    )?;
    let properties = properties(outcome, secrets);
    let timestamp = timestamp();
    for (id, (suite, figures)) in suites.iter().zip(&figures).enumerate() {
        let name = escape(&suite.name());
        write!(
            out,
            "<testsuite id=\"{id}\" name=\"{name}\" package=\"testsuite/{name}\" tests=\"{}\" errors=\"0\" failures=\"{}\" hostname=\"localhost\" timestamp=\"{timestamp}\" time=\"{}\" skipped=\"{}\">{properties}",
            figures.tests,
            figures.failures,
            figures.time.as_seconds_f64(),
            figures.skipped,
        )?;
        let mut chunk = Vec::with_capacity(CHUNK);
        for case in suite.cases(outcome, secrets, figures.skipped == 0)? {
            chunk.push(case?);
            if chunk.len() == CHUNK {
                render(&suite.name(), std::mem::take(&mut chunk), &mut out)?;
            }
        }
        if !chunk.is_empty() {
            render(&suite.name(), chunk, &mut out)?;
        }
        out.write_all(b"</testsuite>")?;
    }
    out.write_all(b"</testsuites>")?;
    out.flush()
}

/// The check suites in catalogue order, then the scope matrix's (when a check judges scopes).
fn suites(outcome: &Outcome) -> Vec<Suite<'_>> {
    let mut suites: Vec<Suite> = checks::CATALOGUE
        .iter()
        .filter(|check| outcome.checks.contains(&check.id))
        .map(Suite::Check)
        .collect();
    let scopes_checked = ["scope_enforced", "auth_required"]
        .iter()
        .any(|id| outcome.checks.contains(id));
    if scopes_checked {
        suites.extend(outcome.matrix.iter().map(Suite::Scope));
    }
    suites
}

/// Writes `cases` as junit-report renders them, without the report and suite around them.
fn render(suite: &str, cases: Vec<TestCase>, out: &mut impl Write) -> std::io::Result<()> {
    let mut builder = TestSuiteBuilder::new(suite);
    builder.add_testcases(cases);
    let mut report = ReportBuilder::new();
    report.add_testsuite(builder.build());
    let mut xml = Vec::new();
    report
        .build()
        .write_xml(&mut xml)
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    // junit-report escapes `>` in attribute values, so the first `>` after `<testsuite `
    // ends the suite's start tag.
    let inner = std::str::from_utf8(&xml)
        .ok()
        .and_then(|xml| {
            let at = xml.find("<testsuite ")?;
            let start = at + xml[at..].find('>')? + 1;
            let end = xml.rfind("</testsuite>")?;
            xml.get(start..end)
        })
        .ok_or_else(|| std::io::Error::other("junit-report wrote an unexpected suite"))?;
    out.write_all(inner.as_bytes())
}

impl Suite<'_> {
    fn name(&self) -> String {
        match self {
            Suite::Check(check) => format!("specgate.{}", check.id),
            Suite::Scope(row) => format!("specgate.scope.{}", row.credential),
        }
    }

    /// Counted from the verdicts, without rendering a test case.
    fn figures(&self, outcome: &Outcome) -> Figures {
        let mut figures = Figures::default();
        match self {
            Suite::Check(check) => {
                let (passed, time) = outcome.passed.of_check(check.id);
                figures.tests = passed;
                figures.time = Duration::seconds_f64(time.as_secs_f64());
                for record in &outcome.records {
                    for (_, verdict) in record.verdicts.iter().filter(|(id, _)| *id == check.id) {
                        figures.tests += 1;
                        figures.time += elapsed(record);
                        if matches!(verdict, Verdict::Fail(finding) if finding.severity == Severity::Error)
                        {
                            figures.failures += 1;
                        }
                    }
                }
                if figures.tests == 0 {
                    figures.tests = 1;
                    figures.skipped = 1;
                }
            }
            Suite::Scope(row) => {
                figures.tests = 1;
                match row.agrees() {
                    Some(false) => figures.failures = 1,
                    None => figures.skipped = 1,
                    Some(true) => {}
                }
            }
        }
        figures
    }

    /// The suite's test cases, made one at a time: the passing exchanges read back from the
    /// spool and the shown ones from memory, merged in run order. A check suite that was not
    /// `exercised` gets one skipped case saying so.
    fn cases<'s>(
        &'s self,
        outcome: &'s Outcome,
        secrets: &'s Secrets,
        exercised: bool,
    ) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<TestCase>> + 's>> {
        let check = match self {
            Suite::Check(check) => *check,
            Suite::Scope(row) => return Ok(Box::new(std::iter::once(Ok(scope_case(row))))),
        };
        let classname = self.name();
        if !exercised {
            let mut case = TestCaseBuilder::skipped_with_cause(
                &format!("{}: not exercised", check.id),
                "not-exercised",
                "no exchange of this run was one this check applies to",
            );
            case.set_classname(&classname);
            return Ok(Box::new(std::iter::once(Ok(case.build()))));
        }
        let index = super::passed::check_index(check.id);
        let mut entries = outcome.passed.entries()?.peekable();
        let mut records = outcome.records.iter().peekable();
        Ok(Box::new(std::iter::from_fn(move || loop {
            let spooled_first = match (entries.peek(), records.peek()) {
                (None, None) => return None,
                (Some(Ok(entry)), Some(record)) => entry.seq < record.seq,
                (Some(_), _) => true,
                (None, Some(_)) => false,
            };
            let mut case = if spooled_first {
                let entry = match entries.next()? {
                    Ok(entry) => entry,
                    Err(error) => return Some(Err(error)),
                };
                if !index.is_some_and(|index| entry.passed(index)) {
                    continue;
                }
                let time = Duration::seconds_f64(entry.elapsed.as_secs_f64());
                TestCaseBuilder::success(&secrets.scrub(&entry.name), time)
            } else {
                let record = records.next()?;
                let Some((_, verdict)) = record.verdicts.iter().find(|(id, _)| *id == check.id)
                else {
                    continue;
                };
                check_case(outcome, record, check, verdict, secrets)
            };
            case.set_classname(&classname);
            return Some(Ok(case.build()));
        })))
    }
}

/// Now, in RFC 3339 (UTC), for the suites' `timestamp`.
fn timestamp() -> String {
    let now = junit_report::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

fn elapsed(record: &Record) -> Duration {
    Duration::seconds_f64(record.exchange.elapsed.as_secs_f64())
}

/// The test case of one verdict of `check` on `record`.
fn check_case(
    outcome: &Outcome,
    record: &Record,
    check: &Check,
    verdict: &Verdict,
    secrets: &Secrets,
) -> TestCaseBuilder {
    let name = secrets.scrub(&test_name(record));
    let time = elapsed(record);
    match verdict {
        // A warning does not turn a CI dashboard red: the case passes and says why it was
        // flagged.
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
            let mut case =
                TestCaseBuilder::failure(&name, time, check.id, &secrets.scrub(&finding.message));
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
    }
}

/// The scope matrix's test case for one credential: whether what came back agrees with what
/// the spec expects of it.
fn scope_case(row: &MatrixRow) -> TestCase {
    let credential = row.credential.to_string();
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
            case.set_trace(
                "the scope_enforced, auth_required and positive_accepted suites name each request",
            );
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
    case.build()
}

/// The run's facts, as `<properties>` (values scrubbed and XML-escaped).
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub fn test_name(record: &Record) -> String {
    case_name(
        &record.id,
        &record.operation,
        &record.credential,
        &record.label,
    )
}

/// The name of an exchange's test cases: `<case id> <operation> [<credential>] <label>`.
pub fn case_name(id: &str, operation: &str, credential: &Credential, label: &str) -> String {
    format!("{id} {operation} [{credential}] {label}")
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

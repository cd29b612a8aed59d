//! The report writers (HTML, Markdown, JSON, SARIF, GitHub commands) on real outcomes: a run
//! of the harness in-process against a faulty reference server, snapshotted per format, and
//! checked for what each format promises (self-contained HTML, totals that match, one SARIF
//! result per failure, no secret anywhere). Hand-built outcomes pin escaping and the caps.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;
use std::time::Duration;

use clap::Parser;
use specgate::auth::Credential;
use specgate::checks::{Finding, Severity, Verdict};
use specgate::cli::{Cli, Command};
use specgate::client::{Exchange, Request, Response, TransportError};
use specgate::config::{FileConfig, RunConfig};
use specgate::harness;
use specgate::redact::Secrets;
use specgate::report::{
    github, html, json, markdown, sarif, Expected, MatrixRow, Outcome, Record, Restore,
};
use specgate::server::Fault;
use support::{scratch, token, TestServer, PASSWORD, SCOPES};

/// What the writers read: a finished run's outcome and its secrets.
struct Finished {
    outcome: Outcome,
    secrets: Secrets,
}

/// A run of the harness against a server with `faults`, every secret given as a flag (the
/// environment is shared by the test threads).
fn run_against(faults: &[Fault], name: &str, seed: u64) -> Finished {
    let server = TestServer::start(faults);
    let junit = scratch(name).join("junit.xml");
    let mut args: Vec<String> = [
        "specgate",
        "run",
        "--target",
        &server.url(),
        "--user-id",
        "alice",
        "--other-user-id",
        "bob",
        "--seed",
        &seed.to_string(),
        "--cases",
        "4",
        "--password",
        PASSWORD,
        "--junit",
        &junit.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    for scope in SCOPES {
        args.push("--token".into());
        args.push(format!("{scope}={}", token(scope)));
    }
    let cli = Cli::try_parse_from(args).expect("the run arguments parse");
    let Command::Run(args) = cli.command else {
        panic!("not a run command");
    };
    let config =
        RunConfig::from_args(*args, FileConfig::default(), 1).expect("a valid configuration");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let finished = runtime
        .block_on(harness::run(&config, &AtomicBool::new(false), None, None))
        .expect("the run finishes");
    Finished {
        outcome: finished
            .outcome
            .expect("a run, not a dry run, has an outcome"),
        secrets: finished.secrets,
    }
}

/// One faulty run shared by the tests of this file: a deep Error without `error_code`
/// (response_schema, error_semantics) and a scope that is not enforced (scope_enforced).
fn faulty() -> &'static Finished {
    static FINISHED: OnceLock<Finished> = OnceLock::new();
    FINISHED.get_or_init(|| {
        run_against(
            &[Fault::DeepErrorMissingCode, Fault::ScopeNotEnforced],
            "reports-faulty",
            5,
        )
    })
}

/// The same run, cut to the first two failing exchanges of each check, so that the snapshots
/// stay small enough to review. Tallies are those of the records kept; the matrix is whole.
fn trimmed() -> &'static Finished {
    static FINISHED: OnceLock<Finished> = OnceLock::new();
    FINISHED.get_or_init(|| {
        let mut finished = run_against(
            &[Fault::DeepErrorMissingCode, Fault::ScopeNotEnforced],
            "reports-trimmed",
            5,
        );
        let mut kept: BTreeMap<&str, usize> = BTreeMap::new();
        finished.outcome.records.retain(|record| {
            let mut keep = false;
            for (check, verdict) in &record.verdicts {
                if let Verdict::Fail(_) = verdict {
                    let count = kept.entry(check).or_default();
                    if *count < 2 {
                        *count += 1;
                        keep = true;
                    }
                }
            }
            keep
        });
        // The reports show what is left; the passing exchanges go with the rest.
        finished.outcome.passed = Default::default();
        finished.outcome.cases = finished
            .outcome
            .records
            .iter()
            .filter(|record| !record.id.contains('.'))
            .count();
        finished
    })
}

type Writer = fn(&Outcome, &Secrets, &mut Vec<u8>) -> std::io::Result<()>;

/// Every format, by name.
const FORMATS: &[(&str, Writer)] = &[
    ("html", |o, s, out| html::write(o, s, out)),
    ("markdown", |o, s, out| markdown::write(o, s, out)),
    ("json", |o, s, out| json::write(o, s, out)),
    ("sarif", |o, s, out| sarif::write(o, s, out)),
    ("github", |o, s, out| github::write(o, s, out)),
];

fn render(writer: Writer, outcome: &Outcome, secrets: &Secrets) -> String {
    let mut out = Vec::new();
    writer(outcome, secrets, &mut out).expect("the report is written");
    String::from_utf8(out).expect("the report is UTF-8")
}

fn format(name: &str) -> Writer {
    FORMATS
        .iter()
        .find(|(format, _)| *format == name)
        .map(|(_, writer)| *writer)
        .expect("a known format")
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT");
    // The Date response header.
    settings.add_filter(
        r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT",
        "DATE",
    );
    settings.add_filter(r"\d+\.\d\d s\b", "N.NN s");
    settings.add_filter(r"after \d+ ms", "after N ms");
    settings.add_filter(r#""elapsed_ms": \d+"#, r#""elapsed_ms": N"#);
    settings.add_filter(r#""elapsed_seconds": [0-9.e-]+"#, r#""elapsed_seconds": N"#);
    settings
}

fn assert_format_snapshot(name: &str) {
    let finished = trimmed();
    let report = render(format(name), &finished.outcome, &finished.secrets);
    snapshot_settings().bind(|| insta::assert_snapshot!(format!("report_{name}"), report));
}

#[test]
fn html_report_matches_its_snapshot() {
    assert_format_snapshot("html");
}

#[test]
fn markdown_report_matches_its_snapshot() {
    assert_format_snapshot("markdown");
}

#[test]
fn json_report_matches_its_snapshot() {
    assert_format_snapshot("json");
}

#[test]
fn sarif_report_matches_its_snapshot() {
    assert_format_snapshot("sarif");
}

#[test]
fn github_report_matches_its_snapshot() {
    assert_format_snapshot("github");
}

#[test]
fn faulty_run_fails_the_checks_the_reports_show() {
    let outcome = &faulty().outcome;
    let failed: Vec<&str> = outcome
        .tally()
        .into_iter()
        .filter(|(_, tally)| tally.failed > 0)
        .map(|(check, _)| check)
        .collect();
    assert!(failed.contains(&"response_schema"), "{failed:?}");
    assert!(failed.contains(&"scope_enforced"), "{failed:?}");
}

/// The markup of a page: what lies between each `<` and the next `>`. Text from the run has
/// its `<` escaped, so each raw `<` opens a real tag.
fn tags(page: &str) -> Vec<String> {
    page.split('<')
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(rest).to_ascii_lowercase())
        .collect()
}

/// Nothing the page names may be fetched: only plain layout tags, no `src`, links only to
/// anchors of the page, no URL in any tag or in the style, and a CSP that forbids fetching.
fn assert_self_contained(page: &str) {
    const ALLOWED: &[&str] = &[
        "!doctype", "html", "head", "meta", "title", "style", "body", "header", "section", "h1",
        "h2", "h3", "h4", "p", "dl", "dt", "dd", "table", "tr", "th", "td", "details", "summary",
        "span", "code", "pre", "div", "strong", "a",
    ];
    for tag in tags(page) {
        let name = tag
            .trim_start_matches('/')
            .split_whitespace()
            .next()
            .unwrap_or_default();
        assert!(ALLOWED.contains(&name), "a <{tag}> tag");
        assert!(!tag.contains("src="), "a source in <{tag}>");
        assert!(!tag.contains("://"), "a URL in <{tag}>");
        assert!(!tag.contains("url("), "a URL in <{tag}>");
        if let Some(at) = tag.find("href=") {
            assert!(
                tag[at..].starts_with("href=\"#"),
                "a link outside the page: <{tag}>"
            );
        }
    }
    let style = page
        .split("<style>")
        .nth(1)
        .and_then(|rest| rest.split("</style>").next())
        .expect("an inline style");
    for forbidden in ["url(", "@import", "://"] {
        assert!(!style.contains(forbidden), "the style holds {forbidden}");
    }
    assert!(page.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(page.contains("default-src 'none'"));
}

/// Markdown in which every `<` outside code is escaped, so that GitHub renders no HTML from
/// the run.
fn assert_no_raw_html(md: &str) {
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed == open.as_str() {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some(trimmed.chars().take_while(|c| *c == '`').collect());
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut at = 0;
        while at < chars.len() {
            if chars[at] == '`' {
                let run = chars[at..].iter().take_while(|c| **c == '`').count();
                let closing = "`".repeat(run);
                let rest: String = chars[at + run..].iter().collect();
                match rest.find(&closing) {
                    Some(end) => at += run + rest[..end].chars().count() + run,
                    None => at += run,
                }
                continue;
            }
            if chars[at] == '<' {
                assert!(at > 0 && chars[at - 1] == '\\', "raw HTML in: {line}");
            }
            at += 1;
        }
    }
}

#[test]
fn html_report_loads_nothing_from_elsewhere() {
    let finished = faulty();
    let page = render(format("html"), &finished.outcome, &finished.secrets);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<style>"));
    assert_self_contained(&page);
}

#[test]
fn html_report_shows_request_response_and_reproduction_of_each_failure() {
    let finished = faulty();
    let page = render(format("html"), &finished.outcome, &finished.secrets);
    let shown = page.matches("<details").count();
    assert_eq!(shown, finished.outcome.failures().count());
    assert_eq!(page.matches("<h4>Request</h4>").count(), shown);
    assert_eq!(page.matches("<h4>Response</h4>").count(), shown);
    assert_eq!(page.matches("<h4>Reproduce</h4>").count(), shown);
    assert_eq!(page.matches("<pre>curl -sS -i").count(), shown);
    assert!(page.contains("id=\"check-scope_enforced\""));
    assert!(
        page.contains("<tr class=\"disagree\">"),
        "the matrix shows the fault"
    );
}

#[test]
fn markdown_report_renders_no_html_from_the_run() {
    let finished = faulty();
    assert_no_raw_html(&render(
        format("markdown"),
        &finished.outcome,
        &finished.secrets,
    ));
}

#[test]
fn json_report_totals_match_the_outcome() {
    let finished = faulty();
    let outcome = &finished.outcome;
    let text = render(format("json"), outcome, &finished.secrets);
    let report: serde_json::Value = serde_json::from_str(&text).expect("the JSON parses");
    let totals = &report["totals"];
    let all_failures = outcome.failures().count();
    assert_eq!(totals["failures"], outcome.failure_count());
    assert_eq!(totals["warnings"], all_failures - outcome.failure_count());
    assert_eq!(totals["requests"], outcome.exchanges());
    assert!(
        outcome.exchanges() > outcome.records.len(),
        "passing exchanges are counted"
    );
    assert_eq!(totals["policy_refusals"], outcome.policy_refusals());
    assert_eq!(report["conformant"], outcome.conformant());
    assert_eq!(report["seed"], outcome.seed.to_string());
    assert_eq!(
        report["failures"].as_array().map(Vec::len),
        Some(all_failures)
    );
    assert_eq!(
        report["matrix"].as_array().map(Vec::len),
        Some(outcome.matrix.len())
    );
    assert_eq!(report["restore"]["state"], "restored");
    for (check, tally) in outcome.tally() {
        let row = report["checks"]
            .as_array()
            .and_then(|checks| checks.iter().find(|row| row["id"] == check))
            .unwrap_or_else(|| panic!("a row for {check}"));
        assert_eq!(row["passed"], tally.passed, "{check}");
        assert_eq!(row["failed"], tally.failed, "{check}");
        assert_eq!(row["warned"], tally.warned, "{check}");
    }
    let failure = &report["failures"][0];
    for field in [
        "check",
        "severity",
        "case",
        "operation",
        "credential",
        "label",
        "message",
        "curl",
    ] {
        assert!(failure[field].is_string(), "{field} in {failure}");
    }
    assert!(failure["request"]["url"].is_string());
    assert!(failure["response"]["status"].is_u64());
}

#[test]
fn sarif_report_has_one_result_per_failure() {
    let finished = faulty();
    let outcome = &finished.outcome;
    let text = render(format("sarif"), outcome, &finished.secrets);
    let log: serde_json::Value = serde_json::from_str(&text).expect("the SARIF parses");
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["tool"]["driver"]["name"], "specgate");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), outcome.checks.len());
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), outcome.failures().count());
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("a rule index") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(matches!(
            result["level"].as_str(),
            Some("error" | "warning")
        ));
        let location = &result["locations"][0];
        assert_eq!(
            location["physicalLocation"]["artifactLocation"]["uri"],
            "specs/privx-local-user-store.yaml"
        );
        assert_eq!(
            location["logicalLocations"][0]["name"],
            "UpdateLocalUserPassword"
        );
    }
}

#[test]
fn github_commands_are_one_line_per_failure() {
    let finished = faulty();
    let outcome = &finished.outcome;
    let text = render(format("github"), outcome, &finished.secrets);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), outcome.failures().count());
    let errors = lines
        .iter()
        .filter(|line| line.starts_with("::error title=specgate "))
        .count();
    let warnings = lines
        .iter()
        .filter(|line| line.starts_with("::warning title=specgate "))
        .count();
    assert_eq!(errors, outcome.failure_count());
    assert_eq!(errors + warnings, lines.len());
}

/// Every secret of the run, in the forms a report could hold it.
fn assert_no_secret(report: &str, secrets: &Secrets, format: &str) {
    assert!(!secrets.leaks_in(report), "{format} leaks a secret");
    assert!(!report.contains(PASSWORD), "{format} holds the password");
    for scope in SCOPES {
        assert!(
            !report.contains(&token(scope)),
            "{format} holds the {scope} token"
        );
    }
}

#[test]
fn no_report_holds_a_secret() {
    let finished = faulty();
    for (name, writer) in FORMATS {
        let report = render(*writer, &finished.outcome, &finished.secrets);
        assert_no_secret(&report, &finished.secrets, name);
    }
}

// Hand-built outcomes: content no well-behaved server sends.

const HOSTILE: &str = "</pre><script src=\"https://evil.example/x.js\"></script>|*x*|\n::error::forged%0A\r\n<img src=x>";

fn exchange(body: &[u8], response: Result<Response, TransportError>) -> Exchange {
    Exchange {
        request: Request {
            method: "PUT".into(),
            url: format!("https://target.example/users/{HOSTILE}/password"),
            headers: vec![
                ("authorization".into(), "Bearer s3cret-token".into()),
                ("x-evil".into(), HOSTILE.into()),
            ],
            body: body.to_vec(),
        },
        response,
        elapsed: Duration::from_millis(3),
    }
}

fn failing(id: &str, check: &'static str, severity: Severity, exchange: Exchange) -> Record {
    Record {
        seq: 0,
        id: id.into(),
        operation: format!("Op{HOSTILE}"),
        credential: Credential::Scope(format!("scope{HOSTILE}")),
        label: HOSTILE.into(),
        exchange,
        verdicts: vec![(
            check,
            Verdict::Fail(Box::new(Finding {
                message: format!("message {HOSTILE} s3cret-token"),
                pointer: Some(format!("/details/0/{HOSTILE}")),
                severity,
            })),
        )],
        policy_refusal: false,
    }
}

fn hostile_outcome(failures: usize) -> (Outcome, Secrets) {
    let mut secrets = Secrets::default();
    secrets.add("s3cret-token", "SPECGATE_TOKEN_USER");
    secrets.add("pa<ss>&\"word", "SPECGATE_PASSWORD");
    let response = Response {
        status: 400,
        headers: vec![("content-type".into(), format!("text/html{HOSTILE}"))],
        body: format!("{HOSTILE} echo pa<ss>&\"word s3cret-token").into_bytes(),
        truncated: false,
    };
    let mut body = br#"{"current_password":"pa<ss>&\"word"}"#.to_vec();
    body.extend_from_slice(b"\xff\x00`````");
    let mut records = Vec::new();
    for index in 0..failures {
        let (check, severity, response) = match index % 3 {
            0 => ("response_schema", Severity::Error, Ok(response.clone())),
            1 => ("error_semantics", Severity::Warning, Ok(response.clone())),
            _ => (
                "timeout",
                Severity::Error,
                Err(TransportError::Timeout(Duration::from_secs(1))),
            ),
        };
        records.push(failing(
            &format!("c{index:04}"),
            check,
            severity,
            exchange(&body, response),
        ));
    }
    for (seq, record) in records.iter_mut().enumerate() {
        record.seq = seq as u64;
    }
    let outcome = Outcome {
        spec_source: format!("/specs/{HOSTILE}.yaml"),
        spec_sha256: String::new(),
        target: format!("https://target.example/{HOSTILE}"),
        embedded: false,
        account: format!("alice{HOSTILE}"),
        seed: u64::MAX,
        checks: vec![
            "timeout",
            "response_schema",
            "error_semantics",
            "scope_enforced",
        ],
        warnings: vec![format!("warning {HOSTILE} s3cret-token")],
        notes: vec![format!("note {HOSTILE} s3cret-token")],
        throttled: 2,
        interrupted: true,
        refreshed: Vec::new(),
        records,
        passed: Default::default(),
        cases: failures,
        latency: Default::default(),
        matrix: vec![MatrixRow {
            operation: format!("Op{HOSTILE}"),
            credential: Credential::Scope(HOSTILE.into()),
            expected: Expected::Refused,
            observed: BTreeMap::from([(HOSTILE.to_string(), 2), ("200".to_string(), 1)]),
        }],
        aborted: Some(format!("stopped {HOSTILE}")),
        restore: Restore::Failed(format!("restore {HOSTILE} pa<ss>&\"word")),
        elapsed: Duration::from_millis(1500),
    };
    (outcome, secrets)
}

#[test]
fn hostile_content_cannot_break_out_of_any_format() {
    let (outcome, secrets) = hostile_outcome(7);
    for (name, writer) in FORMATS {
        let report = render(*writer, &outcome, &secrets);
        assert!(!secrets.leaks_in(&report), "{name} leaks a secret");
        assert!(!report.contains("s3cret-token"), "{name} holds the token");
        assert!(!report.contains("pa<ss>"), "{name} holds the password");
        assert!(
            !report.contains("pa&lt;ss&gt;"),
            "{name} holds the escaped password"
        );
    }
    let page = render(format("html"), &outcome, &secrets);
    assert_self_contained(&page);
    assert!(page.contains("&lt;/pre&gt;&lt;script"));

    assert_no_raw_html(&render(format("markdown"), &outcome, &secrets));

    let commands = render(format("github"), &outcome, &secrets);
    let lines: Vec<&str> = commands.lines().collect();
    assert_eq!(
        lines.len(),
        7,
        "a finding started a line of its own:\n{commands}"
    );
    assert!(lines
        .iter()
        .all(|line| line.starts_with("::error title=specgate ")
            || line.starts_with("::warning title=specgate ")));
    assert!(
        commands.contains("forged%250A"),
        "a literal %0A stays literal"
    );

    for name in ["json", "sarif"] {
        let text = render(format(name), &outcome, &secrets);
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert!(value.is_object(), "{name}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&render(format("json"), &outcome, &secrets)).expect("valid JSON");
    assert_eq!(report["seed"], u64::MAX.to_string());
    assert_eq!(report["restore"]["state"], "failed");
    let timeout = report["failures"]
        .as_array()
        .and_then(|failures| failures.iter().find(|f| f["check"] == "timeout"))
        .expect("a timeout failure");
    assert_eq!(timeout["response"], serde_json::Value::Null);
    assert!(timeout["transport_error"].is_string());
}

#[test]
fn markdown_summary_caps_the_failures_it_shows() {
    let (outcome, secrets) = hostile_outcome(80);
    let md = render(format("markdown"), &outcome, &secrets);
    assert_eq!(md.matches("```sh").count(), 50);
    assert!(md.contains("… and 30 more failures"), "{md}");
}

#[test]
fn html_report_caps_the_failures_it_shows_per_check() {
    let (outcome, secrets) = hostile_outcome(330);
    let page = render(format("html"), &outcome, &secrets);
    assert_eq!(page.matches("<details").count(), 300);
    assert_eq!(page.matches("… and 10 more failures of").count(), 3);
}

#[test]
fn writers_handle_an_outcome_with_nothing_in_it() {
    let outcome = Outcome {
        spec_source: String::new(),
        spec_sha256: String::new(),
        target: String::new(),
        embedded: true,
        account: String::new(),
        seed: 0,
        checks: Vec::new(),
        warnings: Vec::new(),
        notes: Vec::new(),
        throttled: 0,
        interrupted: false,
        refreshed: Vec::new(),
        records: Vec::new(),
        passed: Default::default(),
        cases: 0,
        latency: Default::default(),
        matrix: Vec::new(),
        aborted: None,
        restore: Restore::NotNeeded,
        elapsed: Duration::ZERO,
    };
    let secrets = Secrets::default();
    for (name, writer) in FORMATS {
        let report = render(*writer, &outcome, &secrets);
        if *name == "github" {
            assert!(report.is_empty());
        } else {
            assert!(report.contains("onformant"), "{name}: {report}");
        }
    }
}

/// The JUnit report is written a chunk of test cases at a time, the passing exchanges read
/// back from their spool between the shown ones: suites far longer than a chunk come out whole,
/// in run order, with start tags whose counts match what a parser finds in them.
#[test]
fn junit_suites_longer_than_a_chunk_are_whole_and_counted() {
    let (mut outcome, secrets) = hostile_outcome(3000);
    // After each shown exchange a passing one, `<id>.1`, that passed response_schema.
    for record in &mut outcome.records {
        record.seq *= 2;
    }
    for index in 0..3000u64 {
        let name = format!("c{index:04}.1 Op [user] probe");
        let elapsed = Duration::from_micros(100);
        outcome
            .passed
            .push(2 * index + 1, &name, elapsed, ["response_schema"], false);
    }
    outcome.passed.seal();
    let mut xml = Vec::new();
    specgate::report::junit::write(&outcome, &secrets, &mut xml).expect("the report is written");
    let text = String::from_utf8(xml).expect("UTF-8");
    assert!(!secrets.leaks_in(&text), "the JUnit report leaks a secret");
    let suites = junit_parser::from_reader(std::io::Cursor::new(text.as_bytes()))
        .expect("the JUnit report parses");
    let suite = |name: &str| {
        suites
            .suites
            .iter()
            .find(|suite| suite.name == name)
            .unwrap_or_else(|| panic!("no suite {name}"))
    };
    for (name, tests, failures) in [
        ("specgate.response_schema", 4000, 1000),
        ("specgate.timeout", 1000, 1000),
        // Warnings pass, saying why they were flagged.
        ("specgate.error_semantics", 1000, 0),
    ] {
        let found = suite(name);
        assert_eq!(found.cases.len(), tests, "{name}");
        assert_eq!(found.tests, tests as u64, "{name}");
        assert_eq!(found.failures, failures, "{name}");
        let failed = found.cases.iter().filter(|c| c.status.is_failure()).count();
        assert_eq!(failed as u64, failures, "{name}");
        let ids: Vec<&str> = found
            .cases
            .iter()
            .map(|c| c.name.split(' ').next().unwrap_or_default())
            .collect();
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "{name}: out of order"
        );
    }
    let unexercised = suite("specgate.scope_enforced");
    assert_eq!((unexercised.tests, unexercised.skipped), (1, 1));
    let cases: usize = suites.suites.iter().map(|suite| suite.cases.len()).sum();
    assert_eq!(suites.tests, cases as u64);
    assert_eq!(
        suites.failures,
        2000 + suites
            .suites
            .iter()
            .filter(|s| s.name.starts_with("specgate.scope."))
            .map(|s| s.failures)
            .sum::<u64>()
    );
}

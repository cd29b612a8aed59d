//! The HTML report: one self-contained page to open from a CI artifact.
//!
//! The page has a header (spec, target, seed, verdict), the setup warnings, a table of checks,
//! the scope matrix coloured by whether what came back agrees with the spec, and the failures
//! grouped by check, each with its request and response side by side and a curl reproduction.
//! Passing exchanges are counted, not shown (the JUnit report lists them).
//!
//! The page loads nothing: the CSS is inline, there is no script, and a Content-Security-Policy
//! forbids any fetch, so that it renders the same offline and a hostile response body cannot
//! make it call out even if it got past the escaping. Every string from the run is scrubbed of
//! secrets first and HTML-escaped after.

use std::fmt::Write as _;
use std::io::Write;

use super::json::{self, BodyView, ExchangeView, HeaderView};
use super::{Outcome, Restore};
use crate::checks::{self, Severity};
use crate::redact::Secrets;

/// Failures shown in full per check; the rest are counted (the JUnit and JSON reports have
/// them all). Keeps the page small enough to open when a check fails on every exchange.
const MAX_PER_CHECK: usize = 100;

const STYLE: &str = "
:root { color-scheme: light; --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #cf222e; --bad-bg: #ffebe9;
  --warn: #9a6700; --warn-bg: #fff8c5; --muted: #57606a; --line: #d0d7de; --code: #f6f8fa; }
body { font: 14px/1.5 system-ui, sans-serif; margin: 0 auto; padding: 1em 2em; max-width: 90em;
  color: #1f2328; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 0.2em; margin-top: 1.6em; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 0.1em 1em; }
dl.run dt { color: var(--muted); }
dl.run dd { margin: 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.verdict { font-size: 1.3em; font-weight: 600; padding: 0.4em 0.8em; border-radius: 6px;
  display: inline-block; }
.verdict.ok { color: var(--ok); background: var(--ok-bg); }
.verdict.bad { color: var(--bad); background: var(--bad-bg); }
.notice { padding: 0.5em 0.8em; border-left: 4px solid var(--warn); background: var(--warn-bg);
  margin: 0.5em 0; }
.notice.bad { border-color: var(--bad); background: var(--bad-bg); }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid var(--line); padding: 0.25em 0.7em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.passed td.result, tr.agree td { background: var(--ok-bg); }
tr.failed td.result, tr.disagree td { background: var(--bad-bg); }
tr.warned td.result { background: var(--warn-bg); }
tr.idle td, tr.neutral td { color: var(--muted); }
details { border: 1px solid var(--line); border-radius: 6px; margin: 0.5em 0; padding: 0.3em 0.8em; }
summary { cursor: pointer; overflow-wrap: anywhere; }
.tag { font-weight: 600; font-size: 0.85em; padding: 0 0.4em; border-radius: 4px; }
.tag.error { color: var(--bad); background: var(--bad-bg); }
.tag.warning { color: var(--warn); background: var(--warn-bg); }
.exchange { display: grid; grid-template-columns: repeat(auto-fit, minmax(28em, 1fr)); gap: 1em; }
.exchange h4, .repro h4 { margin: 0.6em 0 0.2em; }
pre { background: var(--code); padding: 0.5em; border-radius: 4px; margin: 0.2em 0;
  white-space: pre-wrap; overflow-wrap: anywhere; font: 12px/1.4 ui-monospace, monospace; }
.muted { color: var(--muted); }
code { font: 12px ui-monospace, monospace; }
";

/// Writes the page for `outcome`, every string from the run scrubbed with `secrets`.
pub fn write(outcome: &Outcome, secrets: &Secrets, mut out: impl Write) -> std::io::Result<()> {
    out.write_all(render(outcome, secrets).as_bytes())
}

fn render(outcome: &Outcome, secrets: &Secrets) -> String {
    // Every run string goes through `text`: scrubbed, then escaped.
    let text = |raw: &str| escape(&secrets.scrub(raw));
    let mut page = String::new();
    let verdict = if outcome.conformant() {
        "conformant".to_string()
    } else {
        let failed_checks = outcome
            .tally()
            .iter()
            .filter(|(_, tally)| tally.failed > 0)
            .count();
        format!(
            "NOT CONFORMANT: {} failures in {failed_checks} checks",
            outcome.failure_count()
        )
    };

    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        page,
        "<title>specgate: {} ({})</title>",
        escape(&verdict),
        text(&outcome.spec_source)
    );
    let _ = writeln!(page, "<style>{STYLE}</style>\n</head>\n<body>");

    // Header: what was tested, and the verdict.
    let _ = writeln!(page, "<header>\n<h1>specgate report</h1>");
    let class = if outcome.conformant() { "ok" } else { "bad" };
    let _ = writeln!(
        page,
        "<p class=\"verdict {class}\">{}</p>",
        escape(&verdict)
    );
    page.push_str("<dl class=\"run\">\n");
    let mut field = |name: &str, value: String| {
        let _ = writeln!(page, "<dt>{name}</dt><dd>{value}</dd>");
    };
    field("spec", text(&outcome.spec_source));
    field(
        "target",
        text(&outcome.target)
            + if outcome.embedded {
                " <span class=\"muted\">(embedded reference server)</span>"
            } else {
                ""
            },
    );
    field("test account", text(&outcome.account));
    field(
        "seed",
        format!(
            "{} <span class=\"muted\">(rerun with --seed {})</span>",
            outcome.seed, outcome.seed
        ),
    );
    field(
        "requests",
        format!(
            "{} cases, {} requests, {} failures, {} warnings, {} valid requests refused by the server's policy",
            outcome.cases,
            outcome.exchanges(),
            outcome.failure_count(),
            outcome.failures().count() - outcome.failure_count(),
            outcome.policy_refusals()
        ),
    );
    field(
        "duration",
        format!("{:.2} s", outcome.elapsed.as_secs_f64()),
    );
    field("specgate", escape(env!("CARGO_PKG_VERSION")));
    page.push_str("</dl>\n");
    if let Some(reason) = &outcome.aborted {
        let _ = writeln!(
            page,
            "<p class=\"notice bad\"><strong>Run stopped early:</strong> {}</p>",
            text(reason)
        );
    }
    match &outcome.restore {
        Restore::NotNeeded => {}
        Restore::Restored => {
            page.push_str("<p class=\"muted\">Test account: original password restored.</p>\n")
        }
        Restore::Failed(reason) => {
            let _ = writeln!(
                page,
                "<p class=\"notice bad\"><strong>TEST ACCOUNT NOT RESTORED:</strong> its original password could not be put back ({}).</p>",
                text(reason)
            );
        }
        Restore::Skipped(password) => {
            let _ = writeln!(
                page,
                "<p class=\"notice\">Test account: {}.</p>",
                escape(json::skipped_restore(password.is_some()))
            );
        }
    }
    for note in &outcome.notes {
        let _ = writeln!(page, "<p class=\"muted\">Note: {}</p>", text(note));
    }
    if outcome.throttled > 0 {
        let _ = writeln!(
            page,
            "<p class=\"muted\">{}</p>",
            escape(&json::throttled(outcome.throttled))
        );
    }
    page.push_str("</header>\n");

    if !outcome.warnings.is_empty() {
        page.push_str("<section id=\"warnings\">\n<h2>Setup warnings</h2>\n");
        for warning in &outcome.warnings {
            let _ = writeln!(
                page,
                "<p class=\"notice\"><strong>SETUP WARNING:</strong> {}</p>",
                text(warning)
            );
        }
        page.push_str("</section>\n");
    }

    let groups = json::by_check(outcome);
    checks_table(&mut page, outcome, &groups);
    matrix(&mut page, outcome, secrets);

    if !groups.is_empty() {
        page.push_str("<section id=\"failures\">\n<h2>Failures</h2>\n");
    }
    for (check, failures) in &groups {
        let description = checks::find(check).map_or("", |check| check.description);
        let _ = writeln!(
            page,
            "<section id=\"check-{}\">\n<h3>{} <span class=\"muted\">({} {})</span></h3>\n<p class=\"muted\">{}</p>",
            attribute(check),
            escape(check),
            failures.len(),
            if failures.len() == 1 { "failure" } else { "failures" },
            escape(description)
        );
        for (index, (record, _, finding)) in failures.iter().take(MAX_PER_CHECK).enumerate() {
            let (tag, class) = match finding.severity {
                Severity::Error => ("FAIL", "error"),
                Severity::Warning => ("WARN", "warning"),
            };
            // The first failure of a check is open: it is usually all one needs to read.
            let _ = writeln!(
                page,
                "<details{}>\n<summary><span class=\"tag {class}\">{tag}</span> {} <code>{}</code></summary>",
                if index == 0 { " open" } else { "" },
                text(&finding.message),
                escape(&json::case_name(record, secrets))
            );
            if let Some(pointer) = &finding.pointer {
                let _ = writeln!(
                    page,
                    "<p>at <code>{}</code> in the response body</p>",
                    text(pointer)
                );
            }
            exchange(&mut page, &ExchangeView::new(&record.exchange, secrets));
            page.push_str("</details>\n");
        }
        if failures.len() > MAX_PER_CHECK {
            let _ = writeln!(
                page,
                "<p class=\"muted\">… and {} more failures of {} (all of them are in the JUnit and JSON reports)</p>",
                failures.len() - MAX_PER_CHECK,
                escape(check)
            );
        }
        page.push_str("</section>\n");
    }
    if !groups.is_empty() {
        page.push_str("</section>\n");
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// The table of checks: passed, failed and warned counts, and the check's result.
fn checks_table(page: &mut String, outcome: &Outcome, groups: &[json::Group]) {
    page.push_str("<section id=\"checks\">\n<h2>Checks</h2>\n<table>\n");
    page.push_str("<tr><th>check</th><th>passed</th><th>failed</th><th>warned</th><th>result</th><th>what must hold</th></tr>\n");
    for (check, tally) in outcome.tally() {
        let description = checks::find(check).map_or("", |check| check.description);
        let (class, result) = if tally.failed > 0 {
            ("failed", "failed")
        } else if tally.warned > 0 {
            ("warned", "warned")
        } else if tally.passed > 0 {
            ("passed", "passed")
        } else {
            ("idle", "not exercised")
        };
        let name = if groups.iter().any(|(id, _)| *id == check) {
            format!(
                "<a href=\"#check-{}\">{}</a>",
                attribute(check),
                escape(check)
            )
        } else {
            escape(check)
        };
        let counts = if result == "not exercised" {
            "<td class=\"n\">–</td><td class=\"n\">–</td><td class=\"n\">–</td>".to_string()
        } else {
            format!(
                "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
                tally.passed, tally.failed, tally.warned
            )
        };
        let _ = writeln!(
            page,
            "<tr class=\"{class}\"><td><code>{name}</code></td>{counts}<td class=\"result\">{result}</td><td>{}</td></tr>",
            escape(description)
        );
    }
    page.push_str("</table>\n</section>\n");
}

/// The scope matrix, one table per operation: green where what came back agrees with the
/// spec, red where it does not, grey where nothing was sent.
fn matrix(page: &mut String, outcome: &Outcome, secrets: &Secrets) {
    if outcome.matrix.is_empty() {
        return;
    }
    page.push_str("<section id=\"matrix\">\n<h2>Scope matrix</h2>\n");
    let mut operation = None;
    for row in &outcome.matrix {
        if operation != Some(&row.operation) {
            if operation.is_some() {
                page.push_str("</table>\n");
            }
            operation = Some(&row.operation);
            let _ = writeln!(
                page,
                "<h3>{}</h3>\n<table>\n<tr><th>credential</th><th>expected</th><th>observed</th><th></th></tr>",
                escape(&secrets.scrub(&row.operation))
            );
        }
        let (class, verdict) = match row.agrees() {
            Some(true) => ("agree", "agrees"),
            Some(false) => ("disagree", "DISAGREES"),
            None => ("neutral", ""),
        };
        let observed = if row.observed.is_empty() {
            "–".to_string()
        } else {
            row.observed
                .iter()
                .map(|(status, count)| format!("{} ×{count}", escape(&secrets.scrub(status))))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            page,
            "<tr class=\"{class}\"><td><code>{}</code></td><td>{}</td><td>{observed}</td><td>{verdict}</td></tr>",
            escape(&secrets.scrub(&row.credential.to_string())),
            json::expected_name(row.expected).replace('-', " ")
        );
    }
    page.push_str("</table>\n</section>\n");
}

/// Request and response side by side, then the curl reproduction. The view is already
/// scrubbed: here it is only escaped.
fn exchange(page: &mut String, view: &ExchangeView) {
    page.push_str("<div class=\"exchange\">\n<div class=\"request\">\n<h4>Request</h4>\n");
    let request = &view.request;
    let _ = writeln!(
        page,
        "<pre>{} {}\n{}</pre>",
        escape(&request.method),
        escape(&request.url),
        headers(&request.headers)
    );
    body(page, &request.body);
    page.push_str("</div>\n<div class=\"response\">\n<h4>Response</h4>\n");
    match (&view.response, &view.transport_error) {
        (Some(response), _) => {
            let _ = writeln!(
                page,
                "<pre>HTTP {}\n{}</pre>",
                response.status,
                headers(&response.headers)
            );
            body(page, &response.body);
        }
        (None, error) => {
            let _ = writeln!(
                page,
                "<pre>no answer: {}</pre>",
                escape(error.as_deref().unwrap_or("unknown"))
            );
        }
    }
    let _ = writeln!(
        page,
        "<p class=\"muted\">after {} ms</p>\n</div>\n</div>",
        view.elapsed_ms
    );
    let _ = writeln!(
        page,
        "<div class=\"repro\">\n<h4>Reproduce</h4>\n<pre>{}</pre>\n</div>",
        escape(&view.curl)
    );
}

fn headers(headers: &[HeaderView]) -> String {
    headers
        .iter()
        .map(|header| format!("{}: {}", escape(&header.name), escape(&header.value)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn body(page: &mut String, body: &BodyView) {
    if body.bytes == 0 {
        page.push_str("<p class=\"muted\">no body</p>\n");
        return;
    }
    let _ = writeln!(page, "<pre>{}</pre>", escape(&body.excerpt));
    if body.cut {
        let _ = writeln!(
            page,
            "<p class=\"muted\">… cut ({} bytes in all)</p>",
            body.bytes
        );
    }
}

/// Text safe in element content. Quotes are left as they are (they are everywhere in JSON
/// bodies, and only an attribute value needs them escaped: see `attribute`). Control
/// characters other than newline and tab are not allowed in HTML text: they are shown as Rust
/// escapes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\n' | '\t' => escaped.push(c),
            c if c.is_control() => escaped.extend(c.escape_default()),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Text safe in a double-quoted attribute value.
fn attribute(text: &str) -> String {
    escape(text).replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_controls() {
        assert_eq!(
            escape("<a href='x'>\"&\"</a>\u{0}\r\n"),
            "&lt;a href='x'&gt;\"&amp;\"&lt;/a&gt;\\u{0}\\r\n"
        );
        assert_eq!(attribute("a\"b<"), "a&quot;b&lt;");
    }
}

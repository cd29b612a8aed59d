//! The Markdown summary, sized for GitHub's job summary (`$GITHUB_STEP_SUMMARY`).
//!
//! It holds the verdict, the setup warnings, the table of checks, the scope matrix and the
//! failures grouped by check, each as a one-line finding, its case name and a curl
//! reproduction. At most `MAX_FAILURES_SHOWN` failures are shown; the rest are counted (the
//! JUnit, JSON and HTML reports have them). Request and response bodies are left to those
//! reports: a job summary is read at a glance.
//!
//! Every string from the run is scrubbed of secrets, then escaped so that it renders as the
//! text it is (GitHub would otherwise read `*`, `|`, `<tag>` or `$…$` in a message as markup).

use std::fmt::Write as _;
use std::io::Write;

use super::json;
use super::{Outcome, Restore};
use crate::checks::{self, Severity};
use crate::redact::Secrets;

/// Failures shown, over all checks; enough to see a pattern, small enough for a summary.
const MAX_FAILURES_SHOWN: usize = 50;

/// Writes the summary for `outcome`, every string from the run scrubbed with `secrets`.
pub fn write(outcome: &Outcome, secrets: &Secrets, mut out: impl Write) -> std::io::Result<()> {
    out.write_all(render(outcome, secrets).as_bytes())
}

fn render(outcome: &Outcome, secrets: &Secrets) -> String {
    let text = |raw: &str| inline(&secrets.scrub(raw));
    let mut md = String::new();
    let all_failures = outcome.failures().count();

    if outcome.conformant() {
        md.push_str("## specgate: ✅ conformant\n\n");
    } else {
        let failed_checks = outcome
            .tally()
            .iter()
            .filter(|(_, tally)| tally.failed > 0)
            .count();
        let _ = writeln!(
            md,
            "## specgate: ❌ NOT CONFORMANT ({} failures in {failed_checks} checks)\n",
            outcome.failure_count()
        );
    }
    let _ = writeln!(
        md,
        "- spec: {}\n- target: {}{}\n- seed: `{}` (rerun with `--seed {}`)\n- {} cases, {} requests, {} failures, {} warnings, {} valid requests refused by the server's policy, {:.2} s",
        text(&outcome.spec_source),
        text(&outcome.target),
        if outcome.embedded {
            " (embedded reference server)"
        } else {
            ""
        },
        outcome.seed,
        outcome.seed,
        outcome.cases,
        outcome.exchanges(),
        outcome.failure_count(),
        all_failures - outcome.failure_count(),
        outcome.policy_refusals(),
        outcome.elapsed.as_secs_f64()
    );
    if let Some(reason) = &outcome.aborted {
        let _ = writeln!(md, "- **run stopped early:** {}", text(reason));
    }
    match &outcome.restore {
        Restore::NotNeeded => {}
        Restore::Restored => md.push_str("- test account: original password restored\n"),
        Restore::Failed(reason) => {
            let _ = writeln!(
                md,
                "- **TEST ACCOUNT NOT RESTORED:** its original password could not be put back ({})",
                text(reason)
            );
        }
        Restore::Skipped(password) => {
            let _ = writeln!(
                md,
                "- test account: {}",
                inline(json::skipped_restore(password.is_some()))
            );
        }
    }
    for note in &outcome.notes {
        let _ = writeln!(md, "- note: {}", text(note));
    }
    if outcome.throttled > 0 {
        let _ = writeln!(md, "- {}", inline(&json::throttled(outcome.throttled)));
    }
    md.push('\n');

    for warning in &outcome.warnings {
        let _ = writeln!(md, "> [!WARNING]\n> **Setup warning:** {}\n", text(warning));
    }

    md.push_str(
        "### Checks\n\n| check | passed | failed | warned | result |\n|---|--:|--:|--:|---|\n",
    );
    for (check, tally) in outcome.tally() {
        if tally.passed + tally.failed + tally.warned == 0 {
            let _ = writeln!(md, "| `{check}` | – | – | – | not exercised |");
        } else {
            let result = if tally.failed > 0 {
                "❌ failed"
            } else if tally.warned > 0 {
                "⚠️ warned"
            } else {
                "✅ passed"
            };
            let _ = writeln!(
                md,
                "| `{check}` | {} | {} | {} | {result} |",
                tally.passed, tally.failed, tally.warned
            );
        }
    }
    md.push('\n');

    let mut operation = None;
    for row in &outcome.matrix {
        if operation != Some(&row.operation) {
            if operation.is_some() {
                md.push('\n');
            }
            operation = Some(&row.operation);
            let _ = writeln!(
                md,
                "### Scope matrix: {}\n\n| credential | expected | observed | |\n|---|---|---|---|",
                text(&row.operation)
            );
        }
        let observed = if row.observed.is_empty() {
            "–".to_string()
        } else {
            row.observed
                .iter()
                .map(|(status, count)| format!("{} ×{count}", text(status)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let agreement = match row.agrees() {
            Some(true) => "✅",
            Some(false) => "❌",
            None => "",
        };
        let _ = writeln!(
            md,
            "| {} | {} | {observed} | {agreement} |",
            // In a table even a code span ends its cell at a `|`, unless it is escaped.
            code(&secrets.scrub(&row.credential.to_string())).replace('|', "\\|"),
            json::expected_name(row.expected).replace('-', " ")
        );
    }
    if !outcome.matrix.is_empty() {
        md.push('\n');
    }

    let groups = json::by_check(outcome);
    if !groups.is_empty() {
        md.push_str("### Failures\n\n");
    }
    let mut shown = 0;
    for (check, failures) in &groups {
        if shown >= MAX_FAILURES_SHOWN {
            break;
        }
        let description = checks::find(check).map_or("", |check| check.description);
        let _ = writeln!(
            md,
            "#### `{check}` ({} {})\n\n{}\n",
            failures.len(),
            if failures.len() == 1 {
                "failure"
            } else {
                "failures"
            },
            inline(description)
        );
        for (record, _, finding) in failures.iter().take(MAX_FAILURES_SHOWN - shown) {
            shown += 1;
            let tag = match finding.severity {
                Severity::Error => "FAIL",
                Severity::Warning => "WARN",
            };
            let _ = writeln!(
                md,
                "- **{tag}** {}{}  \n  {}\n",
                text(&finding.message),
                finding
                    .pointer
                    .as_deref()
                    .map(|pointer| format!(" (at {})", code(&secrets.scrub(pointer))))
                    .unwrap_or_default(),
                code(&json::case_name(record, secrets))
            );
            let curl = super::curl::command(&record.exchange.request, secrets);
            let fence = fence(&curl);
            let _ = writeln!(md, "  {fence}sh\n  {curl}\n  {fence}\n");
        }
    }
    if all_failures > shown {
        let _ = writeln!(
            md,
            "… and {} more failures (all of them are in the JUnit, JSON and HTML reports)",
            all_failures - shown
        );
    }
    md
}

/// Text that renders as itself inside a line (a paragraph, a list item or a table cell):
/// line breaks become spaces and the characters GitHub's Markdown reads as markup are
/// backslash-escaped (`$` too: GitHub renders `$…$` as math).
fn inline(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$' | '#' => {
                escaped.push('\\');
                escaped.push(c);
            }
            '\r' | '\n' => escaped.push(' '),
            c if c.is_control() => escaped.extend(c.escape_default()),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A code span holding `text` whatever backticks it contains.
fn code(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let ticks = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// A code fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    "`".repeat((longest_run(text, '`') + 1).max(3))
}

fn longest_run(text: &str, wanted: char) -> usize {
    let (mut longest, mut current) = (0, 0);
    for c in text.chars() {
        current = if c == wanted { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_escapes_markup_and_joins_lines() {
        assert_eq!(inline("a *b* | <i>\n${X}"), r"a \*b\* \| \<i\> \${X}");
    }

    #[test]
    fn code_spans_outgrow_their_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(fence("x ```` y"), "`````");
        assert_eq!(fence("x"), "```");
    }
}

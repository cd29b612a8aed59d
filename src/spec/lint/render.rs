//! The findings as a person, a program or a CI server reads them.
//!
//! Human: one `path:line:column: severity[rule]: message` line per finding, then a source
//! snippet drawn by miette (no colour) from a small excerpt around the node, so a long
//! minified line or a huge file costs no more than a short one; a summary line ends it.
//! JSON: one object with every finding and the totals. JUnit: one `<testsuite>` per file and
//! one `<testcase>` per rule; a rule with errors fails, a rule with only warnings passes with
//! the warnings in its `<system-out>` (they must not fail a CI gate), and a file that cannot
//! be parsed has a single `<error>` case, as the harness's own trouble is in `run` reports.

use std::fmt;
use std::io::Write;

use junit_report::{Duration, ReportBuilder, TestCaseBuilder, TestSuiteBuilder};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, SourceCode, SourceSpan,
    SpanContents,
};
use serde_json::json;

use super::{Diagnostic, Linted, ParseError, Severity, RULES};

/// Long lines are cut to this many bytes around the node.
const WINDOW: usize = 120;

pub fn human(documents: &[Linted], mut out: impl Write) -> std::io::Result<()> {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .without_primary_span_start()
        .with_context_lines(1)
        .with_width(200);
    let mut totals = Totals::default();
    for document in documents {
        let lines = LineIndex::new(&document.text);
        match &document.result {
            Err(error) => {
                totals.unparseable += 1;
                let place = match (error.line, error.column) {
                    (Some(line), Some(column)) => format!("{line}:{column}:"),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "{}:{place} error[parse]: {}",
                    document.source, error.message
                )?;
                if let (Some(line), Some(column)) = (error.line, error.column) {
                    let offset = lines.offset(&document.text, line, column);
                    let snippet = Snippet::new(
                        &document.text,
                        &lines,
                        offset,
                        1,
                        "cannot parse the document here".into(),
                        miette::Severity::Error,
                    );
                    write_snippet(&handler, &snippet, &mut out)?;
                }
            }
            Ok(found) => {
                if found.is_empty() {
                    writeln!(out, "{}: ok", document.source)?;
                }
                for diagnostic in found {
                    totals.count(diagnostic);
                    writeln!(
                        out,
                        "{}:{}:{}: {}[{}]: {}",
                        document.source,
                        diagnostic.line,
                        diagnostic.column,
                        diagnostic.severity.as_str(),
                        diagnostic.rule,
                        diagnostic.message
                    )?;
                    let pointer = if diagnostic.pointer.is_empty() {
                        "(the document)".to_string()
                    } else {
                        diagnostic.pointer.clone()
                    };
                    let snippet = Snippet::new(
                        &document.text,
                        &lines,
                        diagnostic.offset,
                        diagnostic.len,
                        pointer,
                        match diagnostic.severity {
                            Severity::Error => miette::Severity::Error,
                            Severity::Warning => miette::Severity::Warning,
                        },
                    );
                    write_snippet(&handler, &snippet, &mut out)?;
                }
            }
        }
    }
    writeln!(out, "{}", totals.summary(documents.len()))
}

fn write_snippet(
    handler: &GraphicalReportHandler,
    snippet: &Snippet,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut text = String::new();
    if handler.render_report(&mut text, snippet).is_err() {
        // A snippet is a courtesy: the line above already says everything.
        return Ok(());
    }
    out.write_all(text.as_bytes())
}

pub fn json(documents: &[Linted], mut out: impl Write) -> std::io::Result<()> {
    let mut totals = Totals::default();
    let mut files = Vec::new();
    let mut all = Vec::new();
    for document in documents {
        let file = &document.source;
        match &document.result {
            Err(error) => {
                totals.unparseable += 1;
                all.push(json!({
                    "file": file,
                    "severity": "error",
                    "rule": "parse",
                    "message": error.message,
                    "pointer": null,
                    "line": error.line,
                    "column": error.column,
                }));
                files.push(json!({
                    "file": file,
                    "status": "unparseable",
                    "errors": 1,
                    "warnings": 0,
                }));
            }
            Ok(found) => {
                let mut own = Totals::default();
                for diagnostic in found {
                    own.count(diagnostic);
                    totals.count(diagnostic);
                    all.push(json!({
                        "file": file,
                        "severity": diagnostic.severity.as_str(),
                        "rule": diagnostic.rule,
                        "message": diagnostic.message,
                        "pointer": diagnostic.pointer,
                        "line": diagnostic.line,
                        "column": diagnostic.column,
                    }));
                }
                files.push(json!({
                    "file": file,
                    "status": if own.errors > 0 { "invalid" } else { "valid" },
                    "errors": own.errors,
                    "warnings": own.warnings,
                }));
            }
        }
    }
    let report = json!({
        "files": files,
        "diagnostics": all,
        "errors": totals.errors,
        "warnings": totals.warnings,
        "unparseable": totals.unparseable,
    });
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)
}

pub fn junit(documents: &[Linted], mut out: impl Write) -> std::io::Result<()> {
    let mut report = ReportBuilder::new();
    for document in documents {
        let mut suite = TestSuiteBuilder::new(&document.source);
        let classname = format!("specgate.validate.{}", document.source);
        match &document.result {
            Err(error) => {
                let mut case = TestCaseBuilder::error(
                    "parse",
                    Duration::ZERO,
                    "parse",
                    &parse_message(&document.source, error),
                );
                case.set_classname(&classname);
                suite.add_testcase(case.build());
            }
            Ok(found) => {
                for rule in RULES {
                    let mine: Vec<&Diagnostic> =
                        found.iter().filter(|d| d.rule == rule.id).collect();
                    let listing: String = mine
                        .iter()
                        .map(|d| {
                            format!(
                                "{}:{}:{}: {}[{}]: {} ({})\n",
                                document.source,
                                d.line,
                                d.column,
                                d.severity.as_str(),
                                d.rule,
                                d.message,
                                d.pointer
                            )
                        })
                        .collect();
                    let errors = mine
                        .iter()
                        .filter(|d| d.severity == Severity::Error)
                        .count();
                    let mut case = if errors > 0 {
                        let first = mine
                            .iter()
                            .find(|d| d.severity == Severity::Error)
                            .map_or(String::new(), |d| format!("line {}: {}", d.line, d.message));
                        let message = if errors == 1 {
                            first
                        } else {
                            format!("{errors} errors; first: {first}")
                        };
                        let mut case =
                            TestCaseBuilder::failure(rule.id, Duration::ZERO, rule.id, &message);
                        case.set_trace(&listing);
                        case
                    } else {
                        let mut case = TestCaseBuilder::success(rule.id, Duration::ZERO);
                        if !listing.is_empty() {
                            case.set_system_out(&listing);
                        }
                        case
                    };
                    case.set_classname(&classname);
                    suite.add_testcase(case.build());
                }
            }
        }
        report.add_testsuite(suite.build());
    }
    report
        .build()
        .write_xml(&mut out)
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    writeln!(out)
}

fn parse_message(source: &str, error: &ParseError) -> String {
    match (error.line, error.column) {
        (Some(line), Some(column)) => format!("{source}:{line}:{column}: {}", error.message),
        _ => format!("{source}: {}", error.message),
    }
}

#[derive(Default)]
struct Totals {
    errors: usize,
    warnings: usize,
    unparseable: usize,
}

impl Totals {
    fn count(&mut self, diagnostic: &Diagnostic) {
        match diagnostic.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
    }

    fn summary(&self, files: usize) -> String {
        let plural = |count: usize, word: &str| {
            format!("{count} {word}{}", if count == 1 { "" } else { "s" })
        };
        let mut line = format!(
            "{} checked: {}, {}",
            plural(files, "file"),
            plural(self.errors, "error"),
            plural(self.warnings, "warning")
        );
        if self.unparseable > 0 {
            line.push_str(&format!(", {} could not be parsed", self.unparseable));
        }
        line
    }
}

/// Where each line starts, to find a node's line without rescanning the text.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(index, _)| index + 1));
        LineIndex { starts }
    }

    /// The 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1)
    }

    /// Byte range of 0-based `line`, without its line break.
    fn range(&self, text: &str, line: usize) -> (usize, usize) {
        let start = self.starts.get(line).copied().unwrap_or(text.len());
        let mut end = self
            .starts
            .get(line + 1)
            .map_or(text.len(), |next| next - 1);
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        (start, end.max(start))
    }

    /// The byte offset of a 1-based line and character column.
    fn offset(&self, text: &str, line: usize, column: usize) -> usize {
        let (start, end) = self.range(text, line.saturating_sub(1));
        let slice = text.get(start..end).unwrap_or_default();
        start
            + slice
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(slice.len(), |(index, _)| index)
    }
}

/// A few lines of the source around one node, long lines cut around it, that miette
/// renders with the real line numbers.
#[derive(Debug)]
struct Snippet {
    title: String,
    severity: miette::Severity,
    excerpt: Excerpt,
    label: LabeledSpan,
}

#[derive(Debug)]
struct Excerpt {
    text: String,
    /// 0-based line of the source where the excerpt starts.
    first_line: usize,
}

impl Snippet {
    fn new(
        text: &str,
        lines: &LineIndex,
        offset: usize,
        len: usize,
        title: String,
        severity: miette::Severity,
    ) -> Snippet {
        let offset = floor_boundary(text, offset.min(text.len()));
        let line = lines.line_of(offset);
        let first_line = line.saturating_sub(1);
        let last_line = (line + 1).min(lines.starts.len().saturating_sub(1));
        let mut excerpt = String::new();
        let mut span = (0, 0);
        for current in first_line..=last_line {
            let (start, end) = lines.range(text, current);
            if current > first_line {
                excerpt.push('\n');
            }
            // Cut the line to a window that holds the node's start.
            let focus = if current == line { offset } else { start };
            let from = floor_boundary(text, focus.saturating_sub(WINDOW / 2).max(start));
            let to = floor_boundary(text, (from + WINDOW).min(end)).max(from);
            if from > start {
                excerpt.push('…');
            }
            if current == line {
                let node_start = excerpt.len() + (offset - from);
                let visible = len.max(1).min(to.saturating_sub(offset)).max(1);
                span = (node_start, visible);
            }
            excerpt.push_str(text.get(from..to).unwrap_or_default());
            if to < end {
                excerpt.push('…');
            }
        }
        // A node at the very end of the text still needs a character to point at.
        if span.0 >= excerpt.len() {
            excerpt.push(' ');
        }
        let span_len = span.1.min(excerpt.len() - span.0).max(1);
        Snippet {
            title,
            severity,
            excerpt: Excerpt {
                text: excerpt,
                first_line,
            },
            label: LabeledSpan::new(None, span.0, span_len),
        }
    }
}

fn floor_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title)
    }
}

impl std::error::Error for Snippet {}

impl miette::Diagnostic for Snippet {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.excerpt)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.label.clone())))
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(Shifted {
            inner,
            first_line: self.first_line,
        }))
    }
}

/// Span contents of the excerpt, with its line numbers moved to where it is in the source.
struct Shifted<'a> {
    inner: Box<dyn SpanContents<'a> + 'a>,
    first_line: usize,
}

impl<'a> SpanContents<'a> for Shifted<'a> {
    fn data(&self) -> &'a [u8] {
        self.inner.data()
    }

    fn span(&self) -> &SourceSpan {
        self.inner.span()
    }

    fn line(&self) -> usize {
        self.inner.line() + self.first_line
    }

    fn column(&self) -> usize {
        self.inner.column()
    }

    fn line_count(&self) -> usize {
        self.inner.line_count()
    }
}

/// One `::error`/`::warning` workflow command per diagnostic (and per unparseable file), with
/// the file, line and column GitHub places it at.
pub fn github(documents: &[Linted], mut out: impl Write) -> std::io::Result<()> {
    for document in documents {
        let file = escape_property(&document.source);
        match &document.result {
            Err(error) => writeln!(
                out,
                "::error file={file},line={},col={},title=specgate validate::{}",
                error.line.unwrap_or(1),
                error.column.unwrap_or(1),
                escape_data(&error.message)
            )?,
            Ok(diagnostics) => {
                for diagnostic in diagnostics {
                    let level = match diagnostic.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    };
                    writeln!(
                        out,
                        "::{level} file={file},line={},col={},title={}::{} ({})",
                        diagnostic.line,
                        diagnostic.column,
                        escape_property(&format!("specgate {}", diagnostic.rule)),
                        escape_data(&diagnostic.message),
                        escape_data(&diagnostic.pointer)
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// GitHub's escaping of a workflow command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a workflow command's property values.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_finds_lines_and_offsets() {
        let text = "ab\r\ncd\né x\n";
        let lines = LineIndex::new(text);
        assert_eq!(lines.line_of(0), 0);
        assert_eq!(lines.line_of(4), 1);
        assert_eq!(lines.range(text, 0), (0, 2));
        assert_eq!(lines.offset(text, 3, 3), "ab\r\ncd\né ".len());
        assert_eq!(lines.offset(text, 9, 1), text.len());
    }

    #[test]
    fn snippets_of_long_lines_are_cut_around_the_node() {
        let text = format!("{{\"a\": \"{}\", \"b\": 1}}", "x".repeat(10_000));
        let lines = LineIndex::new(&text);
        let offset = text.find("\"b\"").expect("b");
        let snippet = Snippet::new(
            &text,
            &lines,
            offset,
            3,
            "t".into(),
            miette::Severity::Error,
        );
        assert!(
            snippet.excerpt.text.len() < 2 * WINDOW,
            "{}",
            snippet.excerpt.text.len()
        );
        let start = snippet.label.offset();
        assert_eq!(&snippet.excerpt.text[start..start + 3], "\"b\"");
    }

    #[test]
    fn snippets_never_fail_on_odd_offsets() {
        for text in ["", "é", "a\n", "\n\n\n"] {
            let lines = LineIndex::new(text);
            for offset in 0..5 {
                let snippet =
                    Snippet::new(text, &lines, offset, 9, "t".into(), miette::Severity::Error);
                let mut out = String::new();
                let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
                let _ = handler.render_report(&mut out, &snippet);
            }
        }
    }
}

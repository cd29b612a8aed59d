//! `specgate validate`: lints an OpenAPI 3.0 document and reports every problem at its place.
//!
//! `lint` parses the bytes once into a tree that keeps each node's line and column
//! (`yaml.rs`, `json.rs`, `tree.rs`), walks it against the OpenAPI 3.0 object model
//! (`model.rs`, `walk.rs`, with the per-object hooks in `objects.rs` and `schemas.rs`), then
//! runs the rules that need the whole document (`refs.rs`, `paths.rs`, `security.rs`,
//! `examples.rs`). `render` writes the findings as text, JSON or JUnit (`render.rs`). Nothing
//! here prints, and no input, however broken, makes it panic.

mod examples;
mod json;
mod model;
mod objects;
mod paths;
mod refs;
mod render;
mod schemas;
mod security;
mod tree;
mod walk;
mod yaml;

use std::io::Write;
use std::path::Path;

use tree::{Node, Value};

/// How bad a finding is: errors fail `validate` (exit 1) and refuse a `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem in a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable rule id, for example `ref-unresolved`.
    pub rule: &'static str,
    pub message: String,
    /// JSON pointer to the offending node.
    pub pointer: String,
    /// 1-based line and column (in characters) of the node in the source.
    pub line: usize,
    pub column: usize,
    /// Byte offset and length of the node in the source, for the snippet.
    pub offset: usize,
    pub len: usize,
}

/// Why a document could not be read as YAML or JSON at all (exit 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// Output formats of `specgate validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
    /// GitHub Actions workflow annotations, each at its file and line.
    Github,
}

/// One linted document: where it came from, its text, and the result.
pub struct Linted {
    pub source: String,
    pub text: String,
    pub result: Result<Vec<Diagnostic>, ParseError>,
}

impl Linted {
    /// Whether the document has an error (or could not be parsed): `run` refuses it.
    pub fn has_errors(&self) -> bool {
        match &self.result {
            Ok(found) => found.iter().any(|d| d.severity == Severity::Error),
            Err(_) => true,
        }
    }
}

/// A rule: its stable id, its severity, and what it checks in one line.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

const fn error(id: &'static str, summary: &'static str) -> Rule {
    Rule {
        id,
        severity: Severity::Error,
        summary,
    }
}

const fn warning(id: &'static str, summary: &'static str) -> Rule {
    Rule {
        id,
        severity: Severity::Warning,
        summary,
    }
}

/// Every rule `lint` applies.
pub const RULES: &[Rule] = &[
    error("version-unsupported", "`openapi` is a 3.0.x version"),
    error("required-field", "required fields are present"),
    error("field-type", "fields have the type OpenAPI 3.0 gives them"),
    error(
        "field-value",
        "enumerated fields (`in`, `type`, `style`…) have an allowed value",
    ),
    error(
        "unknown-field",
        "no unknown fields (extensions start with `x-`)",
    ),
    error("ref-unresolved", "every `$ref` resolves"),
    error(
        "ref-type-mismatch",
        "a `$ref` into `components` lands on the kind expected",
    ),
    error(
        "ref-cycle",
        "no reference cycle without structure in between",
    ),
    warning("ref-remote", "remote references are not fetched"),
    error(
        "path-invalid",
        "path templates start with `/` and have well-formed variables",
    ),
    error(
        "path-equivalent",
        "no two paths differ only in variable names",
    ),
    error(
        "path-param-missing",
        "every path variable has a path parameter",
    ),
    error(
        "path-param-undeclared",
        "every path parameter is a variable of its path",
    ),
    error("path-param-not-required", "path parameters are required"),
    error(
        "parameter-duplicate",
        "no parameter is declared twice (same name and `in`)",
    ),
    error(
        "parameter-schema-content",
        "parameters and headers have `schema` xor one `content`",
    ),
    error("operation-id-duplicate", "operationIds are unique"),
    error(
        "response-code-invalid",
        "response keys are codes, `1XX`–`5XX` or `default`",
    ),
    error(
        "responses-empty",
        "operations document at least one response",
    ),
    error("request-body-empty", "request bodies have content"),
    error("array-items-missing", "array schemas have `items`"),
    error(
        "read-write-only",
        "no property is both `readOnly` and `writeOnly`",
    ),
    error(
        "example-and-examples",
        "`example` and `examples` are not both given",
    ),
    error(
        "example-value-and-external",
        "an Example has `value` xor `externalValue`",
    ),
    error(
        "security-scheme-undefined",
        "security requirements name defined schemes",
    ),
    error(
        "security-scope-not-allowed",
        "apiKey and http requirements list no scopes",
    ),
    error(
        "oauth-scope-undefined",
        "oauth2 scopes required exist in every flow of the scheme",
    ),
    error(
        "oauth-flow-url-missing",
        "OAuth flows have the URLs their type needs",
    ),
    error(
        "server-variable-undefined",
        "server URL variables are defined",
    ),
    warning(
        "server-variable-default",
        "a server variable's default is in its enum",
    ),
    error(
        "component-name-invalid",
        "component names use letters, digits, `.`, `-`, `_`",
    ),
    error("tag-duplicate", "tag names are unique"),
    error(
        "link-operation",
        "a link has `operationRef` xor `operationId`",
    ),
    error("link-operation-unknown", "a link's operationId exists"),
    warning("enum-type-mismatch", "enum values have the schema's type"),
    warning("example-invalid", "examples validate against their schemas"),
    warning("default-invalid", "defaults validate against their schemas"),
];

/// Lints one document given as bytes. `source` names it in messages and locates relative
/// file references.
pub fn lint(bytes: &[u8], source: &str) -> Linted {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let result = parse(bytes, source).map(|root| check(&root, source));
    Linted {
        source: source.to_string(),
        text,
        result,
    }
}

/// Writes the findings of every document in `format`.
pub fn render(documents: &[Linted], format: Format, out: impl Write) -> std::io::Result<()> {
    match format {
        Format::Human => render::human(documents, out),
        Format::Json => render::json(documents, out),
        Format::Junit => render::junit(documents, out),
        Format::Github => render::github(documents, out),
    }
}

/// Bytes → tree: UTF-8, not empty, JSON (by extension, or a leading `{` or `[`) or YAML.
fn parse(bytes: &[u8], source: &str) -> Result<Node, ParseError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError {
            message: "the file is empty".into(),
            line: None,
            column: None,
        });
    }
    if bytes.starts_with(&[0xFE, 0xFF]) || bytes.starts_with(&[0xFF, 0xFE]) {
        return Err(ParseError {
            message: "the file is UTF-16; save it as UTF-8".into(),
            line: Some(1),
            column: Some(1),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        // The valid prefix is UTF-8, so its lines and characters can be counted.
        let prefix = std::str::from_utf8(valid).unwrap_or_default();
        let line = prefix.matches('\n').count() + 1;
        let column = prefix
            .rsplit('\n')
            .next()
            .map_or(0, |last| last.chars().count())
            + 1;
        let byte = bytes.get(error.valid_up_to()).copied().unwrap_or_default();
        ParseError {
            message: format!("the file is not UTF-8 (byte 0x{byte:02X})"),
            line: Some(line),
            column: Some(column),
        }
    })?;
    let extension = Path::new(source)
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    let first = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .next();
    let is_json = match extension.as_deref() {
        Some("json") => true,
        Some("yaml" | "yml") => false,
        _ => matches!(first, Some('{' | '[')),
    };
    if is_json {
        json::parse(text)
    } else {
        yaml::parse(text)
    }
}

/// Every rule over a parsed document, findings in source order.
fn check(root: &Node, source: &str) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    if !matches!(root.value, Value::Map(_)) {
        found.push(walk::diagnostic(
            Severity::Error,
            "field-type",
            String::new(),
            root.at,
            format!(
                "an OpenAPI document is a mapping of fields, not {}",
                walk::describe(root)
            ),
        ));
        return found;
    }
    match objects::version(root) {
        Err(fatal) => return vec![fatal],
        Ok(more) => found.extend(more),
    }
    let mut walker = walk::Walker::new(root);
    walker.object(root, &model::OPENAPI, root.at);
    refs::check(&mut walker, source);
    paths::check(root, &walker.links, &mut walker.found);
    security::check(root, &walker.requirements, &mut walker.found);
    examples::check(root, &walker.examples, &mut walker.found);
    found.append(&mut walker.found);
    found.sort_by(|a, b| {
        (a.line, a.column, a.rule, &a.pointer).cmp(&(b.line, b.column, b.rule, &b.pointer))
    });
    found.dedup();
    found
}

//! Declarative cases: one YAML file per behaviour, so that a case can be added without Rust.
//!
//! The format is documented in README.md ("Declarative cases"). Cases shipped in `cases/` are
//! built into the binary; `--cases-dir` adds more. A file that does not parse, names an unknown
//! operation, credential or variable, or expects something malformed is rejected at load with
//! its path, line and reason, before any request is sent.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::auth::Credential;
use crate::error::{Error, Result};
use crate::spec::Spec;

include!(concat!(env!("OUT_DIR"), "/shipped_cases.rs"));

/// The variables a case may use as a whole string value.
pub const VARIABLES: [&str; 5] = [
    "$user_id",
    "$other_user_id",
    "$password",
    "$wrong_password",
    "$fresh_password",
];

/// A loaded case, checked against the spec.
#[derive(Clone, Debug)]
pub struct Declared {
    /// Its path, under cases/ for shipped ones.
    pub file: String,
    pub name: String,
    pub operation: usize,
    pub credential: Credential,
    /// The account the path names: `$user_id`, `$other_user_id`, or a literal id.
    pub path_user: String,
    /// The JSON body, variables still in; `None` sends no body.
    pub body: Option<Value>,
    pub expect: Expectation,
}

impl Declared {
    /// Whether the case needs `--other-user-id`.
    pub fn needs_other_user(&self) -> bool {
        self.path_user == "$other_user_id" || mentions(self.body.as_ref(), "$other_user_id")
    }
}

/// What a case expects of the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// Any of these statuses.
    pub status: Vec<StatusPattern>,
    /// The body's top-level `error_code`.
    pub error_code: Option<String>,
    /// An Error in the body (at any depth of `details`) names this `property`.
    pub property: Option<String>,
    pub password: Option<PasswordState>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusPattern {
    Exact(u16),
    /// `4xx`: the hundreds digit.
    Class(u16),
}

impl StatusPattern {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(code) => code == status,
            StatusPattern::Class(hundreds) => status / 100 == hundreds,
        }
    }
}

impl std::fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusPattern::Exact(code) => write!(f, "{code}"),
            StatusPattern::Class(hundreds) => write!(f, "{hundreds}xx"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordState {
    Changed,
    Unchanged,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    operation: String,
    credential: String,
    #[serde(default)]
    path: BTreeMap<String, String>,
    body: Option<Value>,
    expect: ExpectFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    status: OneOrMany,
    error_code: Option<String>,
    property: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Status),
    Many(Vec<Status>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Status {
    Code(u16),
    Text(String),
}

/// The shipped cases whose operation the spec has (others belong to another spec), then every
/// case under `dir`.
pub fn load(spec: &Spec, dir: Option<&Path>) -> Result<Vec<Declared>> {
    let mut cases = Vec::new();
    for (file, text) in SHIPPED {
        let file = format!("cases/{file}");
        if let Some(case) = parse(&file, text, spec, false)? {
            cases.push(case);
        }
    }
    if let Some(dir) = dir {
        let mut files = Vec::new();
        collect(dir, &mut files)?;
        files.sort();
        for path in files {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|error| Error::Case {
                file: shown.clone(),
                line: None,
                reason: error.to_string().to_lowercase(),
            })?;
            if let Some(case) = parse(&shown, &text, spec, true)? {
                cases.push(case);
            }
        }
    }
    Ok(cases)
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|error| Error::Case {
        file: dir.display().to_string(),
        line: None,
        reason: error.to_string().to_lowercase(),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Parses one case file. `strict`: an operation the spec lacks is an error (for the user's own
/// cases) rather than a reason to skip the file (for shipped cases run with another spec).
pub fn parse(file: &str, text: &str, spec: &Spec, strict: bool) -> Result<Option<Declared>> {
    let invalid = |line: Option<u64>, reason: String| Error::Case {
        file: file.to_string(),
        line,
        reason,
    };
    let raw: File = serde_saphyr::from_str(text).map_err(|error| {
        let reason = error.without_snippet().to_string();
        let reason = reason.lines().next().unwrap_or_default().trim().to_string();
        invalid(error.location().map(|location| location.line()), reason)
    })?;
    let line_of = |key: &str| {
        text.lines()
            .position(|line| line.trim_start().starts_with(&format!("{key}:")))
            .map(|index| index as u64 + 1)
    };
    let Some(operation) = spec.operations.iter().position(|op| op.id == raw.operation) else {
        if !strict {
            return Ok(None);
        }
        let known: Vec<&str> = spec.operations.iter().map(|op| op.id.as_str()).collect();
        return Err(invalid(
            line_of("operation"),
            format!(
                "the spec has no operation `{}` (operations: {})",
                raw.operation,
                known.join(", ")
            ),
        ));
    };
    let scopes: Vec<&str> = spec
        .security_schemes
        .iter()
        .flat_map(|scheme| scheme.scopes.iter().map(String::as_str))
        .collect();
    let credential = match raw.credential.as_str() {
        "none" => Credential::Anonymous,
        "invalid" => Credential::Unknown,
        scope if scopes.contains(&scope) => Credential::Scope(scope.to_string()),
        other => {
            return Err(invalid(
                line_of("credential"),
                format!(
                    "credential `{other}` is not `none`, `invalid` or a scope of the spec ({})",
                    scopes.join(", ")
                ),
            ))
        }
    };
    let params = &spec.operations[operation].path_params;
    let mut path_user = "$user_id".to_string();
    for (name, value) in &raw.path {
        if !params.contains(name) {
            return Err(invalid(
                line_of(name),
                format!("the operation has no path parameter `{name}`"),
            ));
        }
        check_variable(value).map_err(|reason| invalid(line_of(name), reason))?;
        path_user = value.clone();
    }
    if let Some(body) = &raw.body {
        check_variables(body).map_err(|reason| invalid(line_of("body"), reason))?;
    }
    let expect = expectation(raw.expect).map_err(|reason| invalid(line_of("expect"), reason))?;
    Ok(Some(Declared {
        file: file.to_string(),
        name: raw.name.unwrap_or_else(|| file.to_string()),
        operation,
        credential,
        path_user,
        body: raw.body,
        expect,
    }))
}

fn expectation(raw: ExpectFile) -> Result<Expectation, String> {
    let statuses = match raw.status {
        OneOrMany::One(status) => vec![status],
        OneOrMany::Many(statuses) => statuses,
    };
    let mut status = Vec::new();
    for item in statuses {
        status.push(match item {
            Status::Code(code) if (100..600).contains(&code) => StatusPattern::Exact(code),
            Status::Text(text)
                if text.len() == 3
                    && text[1..].eq_ignore_ascii_case("xx")
                    && text.as_bytes()[0].is_ascii_digit()
                    && (b'1'..=b'5').contains(&text.as_bytes()[0]) =>
            {
                StatusPattern::Class(u16::from(text.as_bytes()[0] - b'0'))
            }
            Status::Code(code) => return Err(format!("status {code} is not an HTTP status")),
            Status::Text(text) => {
                return Err(format!(
                    "status `{text}` is neither a code (400) nor a class (4xx)"
                ))
            }
        });
    }
    if status.is_empty() {
        return Err("expect.status lists no status".into());
    }
    let password = match raw.password.as_deref() {
        None => None,
        Some("changed") => Some(PasswordState::Changed),
        Some("unchanged") => Some(PasswordState::Unchanged),
        Some(other) => {
            return Err(format!(
                "expect.password is `{other}`, not `changed` or `unchanged`"
            ))
        }
    };
    Ok(Expectation {
        status,
        error_code: raw.error_code,
        property: raw.property,
        password,
    })
}

/// A string starting with `$` must be a known variable; `$$` starts a literal `$`.
fn check_variable(value: &str) -> Result<(), String> {
    if value.starts_with('$') && !value.starts_with("$$") && !VARIABLES.contains(&value) {
        return Err(format!(
            "unknown variable `{value}` (variables: {}; write $$ for a literal $)",
            VARIABLES.join(", ")
        ));
    }
    Ok(())
}

fn check_variables(value: &Value) -> Result<(), String> {
    match value {
        Value::String(text) => check_variable(text),
        Value::Array(items) => items.iter().try_for_each(check_variables),
        Value::Object(object) => object.values().try_for_each(check_variables),
        _ => Ok(()),
    }
}

fn mentions(value: Option<&Value>, variable: &str) -> bool {
    match value {
        Some(Value::String(text)) => text == variable,
        Some(Value::Array(items)) => items.iter().any(|item| mentions(Some(item), variable)),
        Some(Value::Object(object)) => object.values().any(|item| mentions(Some(item), variable)),
        _ => false,
    }
}

/// `value` with every variable replaced by `lookup(variable)` and `$$` unescaped.
pub fn substitute(value: &Value, lookup: &impl Fn(&str) -> String) -> Value {
    match value {
        Value::String(text) if VARIABLES.contains(&text.as_str()) => Value::String(lookup(text)),
        Value::String(text) if text.starts_with("$$") => Value::String(text[1..].to_string()),
        Value::Array(items) => Value::Array(items.iter().map(|i| substitute(i, lookup)).collect()),
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, item)| (key.clone(), substitute(item, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        crate::spec::load(None).unwrap()
    }

    #[test]
    fn every_shipped_case_loads() {
        let cases = load(&spec(), None).unwrap();
        assert_eq!(cases.len(), SHIPPED.len());
        assert!(SHIPPED.len() >= 10);
    }

    #[test]
    fn malformed_cases_name_file_line_and_reason() {
        let table = [
            ("operation: X\ncredential: user\nexpect:\n  status: 200\n", "no operation `X`", Some(1)),
            (
                "operation: UpdateLocalUserPassword\ncredential: root\nexpect:\n  status: 200\n",
                "credential `root`",
                Some(2),
            ),
            (
                "operation: UpdateLocalUserPassword\ncredential: user\nexpect:\n  status: 2yy\n",
                "neither a code",
                Some(3),
            ),
            (
                "operation: UpdateLocalUserPassword\ncredential: user\nbody:\n  a: $passwrod\nexpect:\n  status: 200\n",
                "unknown variable `$passwrod`",
                Some(3),
            ),
            (
                "operation: UpdateLocalUserPassword\ncredential: user\nexpect:\n  status: 200\n  colour: red\n",
                "colour",
                Some(5),
            ),
            ("operation: [unclosed\n", "", Some(1)),
        ];
        for (text, reason, line) in table {
            let Err(Error::Case {
                file,
                line: got,
                reason: message,
            }) = parse("x.yaml", text, &spec(), true)
            else {
                panic!("{text:?} loaded");
            };
            assert_eq!(file, "x.yaml");
            assert!(message.contains(reason), "{message}");
            assert_eq!(got, line, "{text:?}: {message}");
        }
    }

    #[test]
    fn substitution_replaces_whole_strings_and_unescapes() {
        let value = serde_json::json!({"a": "$password", "b": ["$$literal", "x$password"]});
        let out = substitute(&value, &|name| format!("<{name}>"));
        assert_eq!(
            out,
            serde_json::json!({"a": "<$password>", "b": ["$literal", "x$password"]})
        );
    }
}

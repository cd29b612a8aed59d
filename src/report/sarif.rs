//! The SARIF 2.1.0 report, for code-scanning dashboards (GitHub code scanning and others).
//!
//! One run whose tool is `specgate`, with a rule per check the run applied and a result per
//! failure: the rule, a level (`error`, or `warning` for a warning-severity finding), the
//! finding with its case name, and a location in the spec file with a logical location naming
//! the operation. Passing exchanges and the scope matrix are not here (the JSON report has
//! them); setup warnings and a failed restore are tool notifications of the invocation.
//!
//! The spec carries no line numbers in the `Outcome`, so every result points at line 1 of the
//! spec file: GitHub code scanning places an alert only where a result has a region.

use std::io::Write;

use serde_json::{json, Value};

use super::json::{by_check, case_name};
use super::{Outcome, Restore};
use crate::checks::{self, Severity};
use crate::redact::Secrets;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Writes the SARIF log for `outcome`, every string from the run scrubbed with `secrets`.
pub fn write(outcome: &Outcome, secrets: &Secrets, mut out: impl Write) -> std::io::Result<()> {
    let log = render(outcome, secrets);
    serde_json::to_writer_pretty(&mut out, &log).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

fn render(outcome: &Outcome, secrets: &Secrets) -> Value {
    let scrub = |text: &str| secrets.scrub(text);
    let rules: Vec<&checks::Check> = checks::CATALOGUE
        .iter()
        .filter(|check| outcome.checks.contains(&check.id))
        .collect();
    let uri = artifact_uri(&scrub(&outcome.spec_source));

    let mut results = Vec::new();
    for (check, failures) in by_check(outcome) {
        let rule_index = rules.iter().position(|rule| rule.id == check);
        for (record, _, finding) in failures {
            let operation = scrub(&record.operation);
            let credential = scrub(&record.credential.to_string());
            let label = scrub(&record.label);
            let mut result = json!({
                "ruleId": check,
                "level": level(finding.severity),
                "message": {
                    "text": format!(
                        "{} ({})",
                        scrub(&finding.message),
                        case_name(record, secrets)
                    ),
                },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": { "startLine": 1 },
                    },
                    "logicalLocations": [{
                        "name": operation,
                        "kind": "function",
                    }],
                }],
                // One alert per check, operation, credential and kind of request: the case id
                // and the generated values change with the seed, the fault does not.
                "partialFingerprints": {
                    "specgateFailure/v1": fingerprint(&[check, &operation, &credential, &without_digits(&label)]),
                },
                "properties": {
                    "case": scrub(&record.id),
                    "credential": credential,
                    "label": label,
                    "pointer": finding.pointer.as_deref().map(scrub),
                },
            });
            if let (Some(index), Value::Object(object)) = (rule_index, &mut result) {
                object.insert("ruleIndex".into(), json!(index));
            }
            results.push(result);
        }
    }

    let mut notifications: Vec<Value> = outcome
        .warnings
        .iter()
        .map(|warning| {
            json!({
                "level": "warning",
                "message": { "text": format!("setup warning: {}", scrub(warning)) },
            })
        })
        .collect();
    if let Some(reason) = &outcome.aborted {
        notifications.push(json!({
            "level": "error",
            "message": { "text": format!("run stopped early: {}", scrub(reason)) },
        }));
    }
    notifications.extend(outcome.notes.iter().map(|note| {
        json!({
            "level": "note",
            "message": { "text": scrub(note) },
        })
    }));
    if let Restore::Failed(reason) = &outcome.restore {
        notifications.push(json!({
            "level": "error",
            "message": {
                "text": format!(
                    "test account not restored: its original password could not be put back ({})",
                    scrub(reason)
                ),
            },
        }));
    }

    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "specgate",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules.iter().map(|check| json!({
                        "id": check.id,
                        "shortDescription": { "text": check.description },
                        "defaultConfiguration": { "level": level(check.severity) },
                    })).collect::<Vec<_>>(),
                },
            },
            "invocations": [{
                "executionSuccessful": outcome.aborted.is_none(),
                "toolExecutionNotifications": notifications,
            }],
            "artifacts": [{ "location": { "uri": uri } }],
            "results": results,
            "properties": {
                "target": scrub(&outcome.target),
                // A string: a u64 seed above 2^53 would be rounded by a reader using doubles.
                "seed": outcome.seed.to_string(),
                "conformant": outcome.conformant(),
            },
        }],
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The spec's source as a URI reference: a relative path stays relative (code scanning
/// resolves it against the repository), an absolute one becomes a `file://` URI. The
/// embedded spec is named after the file it was built from.
fn artifact_uri(source: &str) -> String {
    let path = source.strip_suffix(" (embedded)").unwrap_or(source);
    let path = path.replace('\\', "/");
    let bytes = path.as_bytes();
    let windows_drive =
        bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/';
    if path.starts_with('/') {
        format!("file://{}", percent_encode(&path))
    } else if windows_drive {
        format!("file:///{}", percent_encode(&path))
    } else {
        percent_encode(&path)
    }
}

/// Every byte but unreserved characters, `/` and a drive's `:` percent-encoded.
fn percent_encode(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for (index, byte) in path.bytes().enumerate() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                encoded.push(byte as char)
            }
            b':' if index == 1 => encoded.push(':'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

fn without_digits(text: &str) -> String {
    text.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// FNV-1a over the parts: a fingerprint that stays the same across Rust versions (the std
/// hasher does not promise that).
fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_are_uri_references() {
        assert_eq!(
            artifact_uri("specs/privx-local-user-store.yaml (embedded)"),
            "specs/privx-local-user-store.yaml"
        );
        assert_eq!(
            artifact_uri("/tmp/my spec.yaml"),
            "file:///tmp/my%20spec.yaml"
        );
        assert_eq!(artifact_uri(r"C:\specs\a.yaml"), "file:///C:/specs/a.yaml");
        assert_eq!(artifact_uri("api#1.yaml"), "api%231.yaml");
    }

    #[test]
    fn fingerprints_separate_their_parts() {
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
    }
}

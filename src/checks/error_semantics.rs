//! `error_semantics`: the Error says what was wrong. A missing property is answered with
//! `REQUIRED_VALUE_MISSING` naming it in `property`, a property of the wrong type with
//! `VALUE_INCORRECT_TYPE`; several problems with one Error listing each, at any depth of
//! `details`. It applies only where the documented Error schema has these codes in its
//! `error_code` enum. A warning unless `--strict`: the schema allows any documented code.

use serde_json::Value;

use super::{is_client_error, Check, Observation, Severity, Verdict};
use crate::plan::Intent;

pub const CHECK: Check = Check {
    id: "error_semantics",
    description:
        "the Error of a refused body names each problem with the fitting code and property",
    severity: Severity::Warning,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let Intent::InvalidBody { rule, properties } = observation.intent else {
        return Verdict::Skip;
    };
    let expected = match *rule {
        "required" => "REQUIRED_VALUE_MISSING",
        "type" => "VALUE_INCORRECT_TYPE",
        _ => return Verdict::Skip,
    };
    let Some(response) = observation.response() else {
        return Verdict::Skip;
    };
    // A refusal for the credential says nothing about the body.
    if properties.is_empty()
        || !observation.allowed
        || !is_client_error(response.status)
        || matches!(response.status, 401 | 403)
        || !documents_code(observation, response.status, expected)
    {
        return Verdict::Skip;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&response.body) else {
        return Verdict::Skip;
    };
    let mut errors = Vec::new();
    collect_errors(&body, &mut errors);
    for property in properties {
        let named = errors.iter().any(|error| {
            error.get("error_code").and_then(Value::as_str) == Some(expected)
                && error.get("property").and_then(Value::as_str) == Some(property.as_str())
        });
        if !named {
            return Verdict::fail(format!(
                "no Error with error_code {expected} and property `{property}` (status {})",
                response.status
            ));
        }
    }
    Verdict::Pass
}

/// Whether the schema documented for `status` has `code` in its `error_code` enum.
fn documents_code(observation: &Observation, status: u16, code: &str) -> bool {
    let Some(documented) = observation.operation.response_for(status) else {
        return false;
    };
    documented.content.iter().any(|media| {
        media.schema.as_ref().is_some_and(|schema| {
            let root = schema.resolve(&schema.json);
            root.get("properties")
                .and_then(|properties| properties.get("error_code"))
                .map(|node| schema.resolve(node))
                .and_then(|node| node.get("enum"))
                .and_then(Value::as_array)
                .is_some_and(|codes| codes.iter().any(|c| c.as_str() == Some(code)))
        })
    })
}

/// The Error and every Error nested in its `details`, depth first.
fn collect_errors<'a>(error: &'a Value, into: &mut Vec<&'a Value>) {
    if into.len() > 1000 {
        return;
    }
    into.push(error);
    if let Some(details) = error.get("details").and_then(Value::as_array) {
        for detail in details {
            collect_errors(detail, into);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, verdict};
    use super::*;

    fn invalid(rule: &'static str, properties: &[&str]) -> Intent {
        Intent::InvalidBody {
            rule,
            properties: properties.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn table() {
        let missing = r#"{"error_code":"REQUIRED_VALUE_MISSING","property":"new_password"}"#;
        let wrong_type = r#"{"error_code":"VALUE_INCORRECT_TYPE","property":"new_password"}"#;
        let both = r#"{"error_code":"INVALID_REQUEST_DATA","details":[
            {"error_code":"REQUIRED_VALUE_MISSING","property":"current_password"},
            {"error_code":"INVALID_REQUEST_DATA","details":[{"error_code":"REQUIRED_VALUE_MISSING","property":"new_password"}]}]}"#;
        let cases = [
            (
                "user",
                invalid("required", &["new_password"]),
                json(400, missing),
                "pass",
            ),
            (
                "user",
                invalid("required", &["new_password"]),
                json(400, wrong_type),
                "fail",
            ),
            (
                "user",
                invalid("type", &["new_password"]),
                json(400, wrong_type),
                "pass",
            ),
            (
                "user",
                invalid("type", &["current_password"]),
                json(400, wrong_type),
                "fail",
            ),
            (
                "user",
                invalid("required", &["current_password", "new_password"]),
                json(400, both),
                "pass",
            ),
            (
                "user",
                invalid("required", &["current_password", "new_password"]),
                json(400, missing),
                "fail",
            ),
            (
                "user",
                invalid("json-syntax", &[]),
                json(400, missing),
                "skip",
            ),
            (
                "admin",
                invalid("required", &["new_password"]),
                json(403, wrong_type),
                "skip",
            ),
            (
                "user",
                invalid("required", &["new_password"]),
                json(200, ""),
                "skip",
            ),
        ];
        for (credential, intent, exchange, expected) in cases {
            let got = verdict(CHECK, intent.clone(), credential, &exchange);
            assert_eq!(kind(&got), expected, "{intent:?} {got:?}");
        }
    }
}

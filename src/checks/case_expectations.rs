//! `case_expectations`: a declarative case gets the answer it declares: one of its statuses,
//! its `error_code`, an Error naming its `property`, and a status that fits the password state
//! it expects. Whether the password really changed is then proved by the runner's probes, under
//! `state_changed` and `state_unchanged`.

use serde_json::Value;

use super::{is_success, Check, Observation, Severity, Verdict};
use crate::case::PasswordState;
use crate::plan::{Intent, PasswordContract};

pub const CHECK: Check = Check {
    id: "case_expectations",
    description:
        "each declarative case in cases/ gets the status, error and password outcome it declares",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let (Intent::Declared(expect), Some(response)) = (observation.intent, observation.response())
    else {
        return Verdict::Skip;
    };
    let status = response.status;
    if !expect.status.iter().any(|pattern| pattern.matches(status)) {
        let expected: Vec<String> = expect.status.iter().map(ToString::to_string).collect();
        return Verdict::fail(format!(
            "answered {status}; the case expects {}",
            expected.join(" or ")
        ));
    }
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    if let Some(code) = &expect.error_code {
        let got = body
            .as_ref()
            .and_then(|b| b.get("error_code"))
            .and_then(Value::as_str);
        if got != Some(code.as_str()) {
            return Verdict::fail(format!(
                "error_code is {}; the case expects {code}",
                got.unwrap_or("missing")
            ));
        }
    }
    if let Some(property) = &expect.property {
        if !body.as_ref().is_some_and(|body| names(body, property, 0)) {
            return Verdict::fail(format!("no Error names property `{property}`"));
        }
    }
    match expect.password {
        Some(PasswordState::Changed) if !is_success(status) => Verdict::fail(format!(
            "answered {status}; the case expects the password to change"
        )),
        Some(PasswordState::Unchanged) if is_success(status) && !same_password(observation) => {
            Verdict::fail(format!(
                "answered {status}, accepting a change the case expects to be refused"
            ))
        }
        _ => Verdict::Pass,
    }
}

/// Whether `error` or an Error in its `details` has `property`.
fn names(error: &Value, property: &str, depth: usize) -> bool {
    error.get("property").and_then(Value::as_str) == Some(property)
        || (depth < 64
            && error
                .get("details")
                .and_then(Value::as_array)
                .is_some_and(|details| details.iter().any(|d| names(d, property, depth + 1))))
}

/// Whether the request set the password it already had: accepting that changes nothing.
fn same_password(observation: &Observation) -> bool {
    let Some(contract) = PasswordContract::detect(observation.operation) else {
        return false;
    };
    let body: Option<Value> = serde_json::from_slice(&observation.exchange.request.body).ok();
    let field = |name: &str| body.as_ref().and_then(|b| b.get(name)).cloned();
    field(&contract.current).is_some() && field(&contract.current) == field(&contract.new)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, verdict};
    use super::*;
    use crate::case::{Expectation, StatusPattern};

    fn declared(
        status: &[StatusPattern],
        code: Option<&str>,
        property: Option<&str>,
        password: Option<PasswordState>,
    ) -> Intent {
        Intent::Declared(Box::new(Expectation {
            status: status.to_vec(),
            error_code: code.map(str::to_string),
            property: property.map(str::to_string),
            password,
        }))
    }

    #[test]
    fn table() {
        use StatusPattern::{Class, Exact};
        let missing = r#"{"error_code":"REQUIRED_VALUE_MISSING","property":"new_password"}"#;
        let nested = r#"{"error_code":"INVALID_REQUEST_DATA","details":[{"error_code":"REQUIRED_VALUE_MISSING","property":"new_password"}]}"#;
        let cases = [
            (
                declared(&[Exact(400)], None, None, None),
                json(400, missing),
                "pass",
            ),
            (
                declared(&[Exact(400)], None, None, None),
                json(403, missing),
                "fail",
            ),
            (
                declared(&[Class(4)], None, None, None),
                json(403, missing),
                "pass",
            ),
            (
                declared(&[Exact(400)], Some("REQUIRED_VALUE_MISSING"), None, None),
                json(400, missing),
                "pass",
            ),
            (
                declared(&[Exact(400)], Some("VALUE_INCORRECT_TYPE"), None, None),
                json(400, missing),
                "fail",
            ),
            (
                declared(&[Exact(400)], None, Some("new_password"), None),
                json(400, nested),
                "pass",
            ),
            (
                declared(&[Exact(400)], None, Some("current_password"), None),
                json(400, nested),
                "fail",
            ),
            (
                declared(
                    &[Class(2), Exact(400)],
                    None,
                    None,
                    Some(PasswordState::Unchanged),
                ),
                json(200, ""),
                "fail",
            ),
            (
                declared(&[Exact(200)], None, None, Some(PasswordState::Changed)),
                json(200, ""),
                "pass",
            ),
            (
                declared(&[Class(4)], None, None, Some(PasswordState::Changed)),
                json(400, missing),
                "fail",
            ),
            (Intent::Valid, json(200, ""), "skip"),
        ];
        for (intent, exchange, expected) in cases {
            let got = verdict(CHECK, intent.clone(), "user", &exchange);
            assert_eq!(kind(&got), expected, "{intent:?} {got:?}");
        }
    }

    #[test]
    fn setting_the_same_password_is_not_a_change() {
        let mut exchange = json(200, "");
        exchange.request.body =
            br#"{"current_password":"same-Pass1","new_password":"same-Pass1"}"#.to_vec();
        let intent = declared(
            &[StatusPattern::Class(2)],
            None,
            None,
            Some(PasswordState::Unchanged),
        );
        assert_eq!(kind(&verdict(CHECK, intent, "user", &exchange)), "pass");
    }
}

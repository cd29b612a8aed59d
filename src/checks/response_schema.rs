//! `response_schema`: the body validates against the schema documented for its status and
//! media type, at any depth; a violation is reported with its JSON pointer.

use super::{essence, Check, Finding, Observation, Severity, Verdict};

pub const CHECK: Check = Check {
    id: "response_schema",
    description:
        "the body validates against the documented schema (violations named by JSON pointer)",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let Some(response) = observation.response() else {
        return Verdict::Skip;
    };
    let Some(documented) = observation.operation.response_for(response.status) else {
        return Verdict::Skip;
    };
    // The schema of the media type that was sent, or of the only one documented: a wrong
    // Content-Type is `content_type`'s finding, and the body is still held to the schema.
    let sent = response.header("content-type").map(essence);
    let media = documented
        .content
        .iter()
        .find(|media| Some(essence(&media.name)) == sent)
        .or(match documented.content.as_slice() {
            [only] => Some(only),
            _ => None,
        });
    let Some(schema) = media.and_then(|media| media.schema.as_ref()) else {
        return Verdict::Skip;
    };
    if response.truncated {
        return Verdict::fail(format!(
            "body longer than --max-body ({} bytes kept); not validated",
            response.body.len()
        ));
    }
    let body = match serde_json::from_slice::<serde_json::Value>(&response.body) {
        Ok(body) => body,
        Err(_) if response.body.is_empty() => {
            return Verdict::fail(format!(
                "status {}: empty body, a JSON document was documented",
                response.status
            ))
        }
        Err(error) => {
            return Verdict::fail(format!(
                "status {}: body is not JSON ({error})",
                response.status
            ))
        }
    };
    match schema.violations(&body).into_iter().next() {
        None => Verdict::Pass,
        Some(violation) => Verdict::Fail(Box::new(Finding {
            message: format!("status {}: {violation}", response.status),
            pointer: Some(violation.pointer),
            severity: Severity::Error,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{exchange, json, kind, verdict};
    use super::*;
    use crate::plan::Intent;

    #[test]
    fn table() {
        let deep_missing = r#"{"error_code":"BAD_REQUEST","details":[{"error_code":"BAD_REQUEST","details":[{"property":"x"}]}]}"#;
        let cases = [
            (json(400, r#"{"error_code":"BAD_REQUEST"}"#), "pass"),
            (
                json(
                    400,
                    r#"{"error_code":"BAD_REQUEST","details":[{"error_code":"VALUE_OUT_OF_BOUNDS"}]}"#,
                ),
                "pass",
            ),
            (json(400, deep_missing), "fail"),
            (json(401, r#"{"error_code":"NOT_A_CODE"}"#), "fail"),
            (
                json(400, r#"{"error_code":"BAD_REQUEST","details":{}}"#),
                "fail",
            ),
            (json(400, "not json"), "fail"),
            (json(400, ""), "fail"),
            (
                exchange(400, Some("text/plain"), r#"{"error_code":"BAD_REQUEST"}"#),
                "pass",
            ),
            (exchange(200, None, ""), "skip"),
            (json(418, "{}"), "skip"),
        ];
        for (exchange, expected) in cases {
            let got = verdict(CHECK, Intent::Valid, "user", &exchange);
            assert_eq!(kind(&got), expected, "{exchange:?}");
        }
    }

    #[test]
    fn deep_violation_names_its_pointer() {
        let body = r#"{"error_code":"BAD_REQUEST","details":[{"error_code":"BAD_REQUEST","details":[{"property":"x"}]}]}"#;
        let Verdict::Fail(finding) = verdict(CHECK, Intent::Valid, "user", &json(400, body)) else {
            panic!("expected a failure");
        };
        assert_eq!(finding.pointer.as_deref(), Some("/details/0/details/0"));
    }
}

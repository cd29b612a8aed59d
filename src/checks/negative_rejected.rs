//! `negative_rejected`: a request whose body breaks the schema is refused with a 4xx. A 5xx is
//! `server_error`'s finding alone.

use super::{is_client_error, Check, Observation, Severity, Verdict};
use crate::plan::Intent;

pub const CHECK: Check = Check {
    id: "negative_rejected",
    description: "a request that breaks the spec (its body or its path) is answered 4xx, never 2xx",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let (Intent::InvalidBody { rule, .. }, Some(status)) =
        (observation.intent, observation.status())
    else {
        return Verdict::Skip;
    };
    if status >= 500 {
        return Verdict::Skip;
    }
    Verdict::expect(is_client_error(status), || {
        format!("a body that breaks rule `{rule}` was answered {status}, not 4xx")
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, verdict};
    use super::*;

    #[test]
    fn table() {
        let invalid = Intent::InvalidBody {
            rule: "required",
            properties: vec!["new_password".into()],
        };
        let error = r#"{"error_code":"REQUIRED_VALUE_MISSING"}"#;
        let cases = [
            (invalid.clone(), json(400, error), "pass"),
            (invalid.clone(), json(403, error), "pass"),
            (invalid.clone(), json(200, ""), "fail"),
            (invalid.clone(), json(500, error), "skip"),
            (Intent::Valid, json(200, ""), "skip"),
        ];
        for (intent, exchange, expected) in cases {
            assert_eq!(kind(&verdict(CHECK, intent, "user", &exchange)), expected);
        }
    }
}

//! `server_error`: no input makes the server fail with a 5xx, documented or not.

use super::{Check, Observation, Severity, Verdict};

pub const CHECK: Check = Check {
    id: "server_error",
    description: "no request is answered with a 5xx server error",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    match observation.status() {
        None => Verdict::Skip,
        Some(status) => Verdict::expect(status < 500, || format!("answered {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, timed_out, verdict};
    use super::*;
    use crate::plan::Intent;

    #[test]
    fn table() {
        let error = r#"{"error_code":"GENERAL_ERROR"}"#;
        let cases = [
            (json(200, ""), "pass"),
            (json(400, error), "pass"),
            (json(500, error), "fail"),
            (json(503, error), "fail"),
            (timed_out(), "skip"),
        ];
        for (exchange, expected) in cases {
            assert_eq!(
                kind(&verdict(CHECK, Intent::Valid, "user", &exchange)),
                expected
            );
        }
    }
}

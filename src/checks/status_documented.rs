//! `status_documented`: the status is one the operation documents (exactly, as a range such
//! as `4XX`, or through `default`).

use super::{Check, Observation, Severity, Verdict};

pub const CHECK: Check = Check {
    id: "status_documented",
    description: "the status is documented for the operation (a `default` response covers all)",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let Some(status) = observation.status() else {
        return Verdict::Skip;
    };
    let documented = observation.operation.response_for(status).is_some()
        || observation.extra_statuses.contains(&status);
    Verdict::expect(documented, || {
        let documented: Vec<String> = observation
            .operation
            .responses
            .iter()
            .map(|response| match response.key {
                crate::spec::StatusKey::Exact(code) => code.to_string(),
                crate::spec::StatusKey::Range(hundreds) => format!("{hundreds}XX"),
                crate::spec::StatusKey::Default => "default".into(),
            })
            .collect();
        format!(
            "status {status} is not documented (documented: {})",
            documented.join(", ")
        )
    })
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
            (json(404, error), "pass"),
            (json(422, error), "fail"),
            (json(201, ""), "fail"),
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

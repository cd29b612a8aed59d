//! `positive_accepted`: a schema-valid request under a credential the operation accepts is
//! accepted (2xx), or refused by the server's own policy with a documented 4xx whose body
//! validates. A 401 or 403 is not a policy: the credential was refused.

use super::{is_client_error, is_success, Check, Observation, Severity, Verdict};
use crate::plan::Intent;

pub const CHECK: Check = Check {
    id: "positive_accepted",
    description: "a valid request with the right scope is accepted, or refused with a documented 4xx and a valid body",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let (Intent::Valid, true, Some(response)) = (
        observation.intent,
        observation.allowed,
        observation.response(),
    ) else {
        return Verdict::Skip;
    };
    let status = response.status;
    if is_success(status) {
        return Verdict::Pass;
    }
    if status >= 500 {
        return Verdict::Skip;
    }
    if matches!(status, 401 | 403) {
        return Verdict::fail(format!(
            "a valid request with scope `{}` was refused with {status}: the token may be invalid or expired, or the scope is wrongly enforced",
            observation.credential
        ));
    }
    let documented = observation.operation.response_for(status);
    let body_valid = documented.is_some_and(|documented| {
        documented.content.iter().all(|media| {
            media.schema.as_ref().is_none_or(|schema| {
                serde_json::from_slice(&response.body).is_ok_and(|body| schema.is_valid(&body))
            })
        })
    });
    Verdict::expect(is_client_error(status) && body_valid, || {
        format!("a valid request was answered {status}, neither accepted nor a documented 4xx with a valid body")
    })
}

/// Whether a passing verdict on this observation was a refusal (the server's password policy,
/// say) rather than an acceptance: reports count these apart.
pub fn is_policy_refusal(observation: &Observation) -> bool {
    observation.intent == &Intent::Valid
        && observation.allowed
        && observation.status().is_some_and(is_client_error)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, verdict};
    use super::*;

    #[test]
    fn table() {
        let policy = r#"{"error_code":"VALUE_OUT_OF_BOUNDS","property":"new_password"}"#;
        let cases = [
            ("user", Intent::Valid, json(200, ""), "pass"),
            ("user", Intent::Valid, json(400, policy), "pass"),
            ("user", Intent::Valid, json(400, r#"{"oops":1}"#), "fail"),
            (
                "user",
                Intent::Valid,
                json(403, r#"{"error_code":"PERMISSION_DENIED"}"#),
                "fail",
            ),
            ("user", Intent::Valid, json(422, policy), "fail"),
            ("user", Intent::Valid, json(500, policy), "skip"),
            ("admin", Intent::Valid, json(200, ""), "skip"),
            ("user", Intent::WrongPassword, json(400, policy), "skip"),
        ];
        for (credential, intent, exchange, expected) in cases {
            let got = verdict(CHECK, intent, credential, &exchange);
            assert_eq!(kind(&got), expected, "{credential} {exchange:?}");
        }
    }
}

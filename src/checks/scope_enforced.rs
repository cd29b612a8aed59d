//! `scope_enforced`: a token holding only a scope that does not meet the operation's security
//! requirement is refused with 401 or 403.

use super::{Check, Observation, Severity, Verdict};
use crate::auth::Credential;
use crate::plan::Intent;

pub const CHECK: Check = Check {
    id: "scope_enforced",
    description:
        "a token whose scope does not meet the operation's requirement is answered 401 or 403",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let (Credential::Scope(scope), false, Intent::Valid, Some(status)) = (
        observation.credential,
        observation.allowed,
        observation.intent,
        observation.status(),
    ) else {
        return Verdict::Skip;
    };
    Verdict::expect(matches!(status, 401 | 403), || {
        format!("a token with only scope `{scope}` was answered {status}, not 401 or 403")
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, verdict};
    use super::*;

    #[test]
    fn table() {
        let denied = r#"{"error_code":"PERMISSION_DENIED"}"#;
        let cases = [
            ("admin", Intent::Valid, json(403, denied), "pass"),
            ("usersView", Intent::Valid, json(401, denied), "pass"),
            ("admin", Intent::Valid, json(200, ""), "fail"),
            ("service", Intent::Valid, json(400, denied), "fail"),
            (
                "admin",
                Intent::InvalidBody {
                    rule: "type",
                    properties: vec![],
                },
                json(400, denied),
                "skip",
            ),
            ("user", Intent::Valid, json(200, ""), "skip"),
            ("none", Intent::Valid, json(200, ""), "skip"),
        ];
        for (credential, intent, exchange, expected) in cases {
            assert_eq!(
                kind(&verdict(CHECK, intent, credential, &exchange)),
                expected
            );
        }
    }
}

//! `auth_required`: without a token, or with a token no server issued, a valid request to a
//! secured operation is refused with 401 or 403.

use super::{Check, Observation, Severity, Verdict};
use crate::auth::Credential;
use crate::plan::Intent;

pub const CHECK: Check = Check {
    id: "auth_required",
    description: "no token and an unknown token are answered 401 or 403",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let anonymous = matches!(
        observation.credential,
        Credential::Anonymous | Credential::Unknown
    );
    // Only valid bodies: with a broken body the server may refuse the body first.
    let (true, false, Intent::Valid, Some(status)) = (
        anonymous,
        observation.allowed,
        observation.intent,
        observation.status(),
    ) else {
        return Verdict::Skip;
    };
    Verdict::expect(matches!(status, 401 | 403), || {
        format!(
            "a request with {} was answered {status}, not 401 or 403",
            match observation.credential {
                Credential::Anonymous => "no token",
                _ => "an unknown token",
            }
        )
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
            ("none", Intent::Valid, json(401, denied), "pass"),
            ("unknown", Intent::Valid, json(403, denied), "pass"),
            ("none", Intent::Valid, json(200, ""), "fail"),
            ("unknown", Intent::Valid, json(400, denied), "fail"),
            (
                "none",
                Intent::InvalidBody {
                    rule: "type",
                    properties: vec![],
                },
                json(400, denied),
                "skip",
            ),
            ("user", Intent::Valid, json(200, ""), "skip"),
        ];
        for (credential, intent, exchange, expected) in cases {
            assert_eq!(
                kind(&verdict(CHECK, intent, credential, &exchange)),
                expected
            );
        }
    }
}

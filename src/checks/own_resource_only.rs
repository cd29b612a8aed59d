//! `own_resource_only`: a token of one user cannot change another user's password, nor probe
//! for accounts: the answer is 403 or 404 before any password is compared.

use super::{is_inconclusive, is_success, Check, Observation, Severity, Verdict};
use crate::plan::{Intent, Probe};

pub const CHECK: Check = Check {
    id: "own_resource_only",
    description: "a user token on another user's (or an unknown) account is answered 403 or 404",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    if let Intent::Probe(Probe::OtherUnchanged) = observation.intent {
        let Some(status) = observation.status().filter(|s| !is_inconclusive(*s)) else {
            return Verdict::Skip;
        };
        return Verdict::expect(is_success(status), || {
            format!("the other account's password no longer works after a change aimed at it (answered {status})")
        });
    }
    let whose = match observation.intent {
        Intent::OtherUser => "another user's account",
        Intent::UnknownUser => "an unknown account",
        _ => return Verdict::Skip,
    };
    let Some(status) = observation.status() else {
        return Verdict::Skip;
    };
    if status >= 500 {
        return Verdict::Skip;
    }
    Verdict::expect(matches!(status, 403 | 404), || {
        format!("a change to {whose} was answered {status}, not 403 or 404")
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
            (Intent::OtherUser, json(403, denied), "pass"),
            (Intent::UnknownUser, json(404, denied), "pass"),
            (Intent::OtherUser, json(200, ""), "fail"),
            (Intent::OtherUser, json(400, denied), "fail"),
            (Intent::OtherUser, json(500, denied), "skip"),
            (Intent::Valid, json(200, ""), "skip"),
        ];
        for (intent, exchange, expected) in cases {
            assert_eq!(kind(&verdict(CHECK, intent, "user", &exchange)), expected);
        }
    }
}

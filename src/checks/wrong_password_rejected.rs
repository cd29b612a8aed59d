//! `wrong_password_rejected`: a change that gives a wrong current password is refused with a
//! 4xx (and, as `state_unchanged` then shows, changes nothing).

use super::{is_client_error, Check, Observation, Severity, Verdict};
use crate::plan::Intent;

pub const CHECK: Check = Check {
    id: "wrong_password_rejected",
    description: "a change with a wrong current password is answered 4xx",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let (Intent::WrongPassword, Some(status)) = (observation.intent, observation.status()) else {
        return Verdict::Skip;
    };
    if status >= 500 {
        return Verdict::Skip;
    }
    Verdict::expect(is_client_error(status), || {
        format!("a wrong current password was answered {status}, not 4xx")
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, verdict};
    use super::*;

    #[test]
    fn table() {
        let error = r#"{"error_code":"INVALID_REQUEST_DATA","property":"current_password"}"#;
        let cases = [
            (Intent::WrongPassword, json(400, error), "pass"),
            (Intent::WrongPassword, json(200, ""), "fail"),
            (Intent::WrongPassword, json(500, error), "skip"),
            (Intent::Valid, json(200, ""), "skip"),
        ];
        for (intent, exchange, expected) in cases {
            assert_eq!(kind(&verdict(CHECK, intent, "user", &exchange)), expected);
        }
    }
}

//! `state_unchanged`: after a request that must change nothing (refused, wrong password, wrong
//! scope, broken body), the password still works as before. Judged on the runner's probe.

use super::{is_inconclusive, is_success, Check, Observation, Severity, Verdict};
use crate::plan::{Intent, Probe};

pub const CHECK: Check = Check {
    id: "state_unchanged",
    description: "after a refused request, the password still works as before",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let Intent::Probe(Probe::StillWorks) = observation.intent else {
        return Verdict::Skip;
    };
    let Some(status) = observation
        .status()
        .filter(|status| !is_inconclusive(*status))
    else {
        return Verdict::Skip;
    };
    Verdict::expect(is_success(status), || {
        format!("the password no longer works after a request that should have changed nothing, or the change before it was not kept (answered {status})")
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, verdict};
    use super::*;

    #[test]
    fn table() {
        let wrong = r#"{"error_code":"INVALID_REQUEST_DATA","property":"current_password"}"#;
        let cases = [
            (Probe::StillWorks, json(200, ""), "pass"),
            (Probe::StillWorks, json(400, wrong), "fail"),
            (Probe::StillWorks, json(429, wrong), "skip"),
            (Probe::NewWorks, json(400, wrong), "skip"),
        ];
        for (probe, exchange, expected) in cases {
            let got = verdict(CHECK, Intent::Probe(probe.clone()), "user", &exchange);
            assert_eq!(kind(&got), expected, "{probe:?}");
        }
    }
}

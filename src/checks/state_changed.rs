//! `state_changed`: after a change was accepted, the old password no longer works and the new
//! one does. Judged on the runner's probes; a probe refused for its credential, throttled or
//! failed by the server tells nothing and is skipped.

use super::{is_inconclusive, is_success, Check, Observation, Severity, Verdict};
use crate::plan::{Intent, Probe};

pub const CHECK: Check = Check {
    id: "state_changed",
    description: "after a 2xx, the old password no longer works and the new one does",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let Intent::Probe(probe) = observation.intent else {
        return Verdict::Skip;
    };
    let Some(status) = observation
        .status()
        .filter(|status| !is_inconclusive(*status))
    else {
        return Verdict::Skip;
    };
    match probe {
        Probe::OldRejected => {
            Verdict::expect(!is_success(status), || {
                format!("the old password still works after the change was accepted (answered {status})")
            })
        }
        Probe::NewWorks => {
            Verdict::expect(is_success(status), || {
                format!("the new password does not work after the change was accepted (answered {status})")
            })
        }
        Probe::StillWorks | Probe::Recover | Probe::OtherUnchanged => Verdict::Skip,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, verdict};
    use super::*;

    #[test]
    fn table() {
        let wrong = r#"{"error_code":"INVALID_REQUEST_DATA","property":"current_password"}"#;
        let cases = [
            (Probe::OldRejected, json(400, wrong), "pass"),
            (Probe::OldRejected, json(200, ""), "fail"),
            (Probe::NewWorks, json(200, ""), "pass"),
            (Probe::NewWorks, json(400, wrong), "fail"),
            (Probe::NewWorks, json(401, wrong), "skip"),
            (Probe::StillWorks, json(400, wrong), "skip"),
        ];
        for (probe, exchange, expected) in cases {
            let got = verdict(CHECK, Intent::Probe(probe.clone()), "user", &exchange);
            assert_eq!(kind(&got), expected, "{probe:?}");
        }
    }
}

//! `timeout`: every request gets a complete HTTP answer within `--timeout`.

use super::{Check, Observation, Severity, Verdict};

pub const CHECK: Check = Check {
    id: "timeout",
    description: "every request is answered with HTTP within --timeout",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    match &observation.exchange.response {
        Ok(_) => Verdict::Pass,
        Err(error) => Verdict::fail(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, timed_out, verdict};
    use super::*;
    use crate::plan::Intent;

    #[test]
    fn table() {
        let cases = [(json(200, ""), "pass"), (timed_out(), "fail")];
        for (exchange, expected) in cases {
            assert_eq!(
                kind(&verdict(CHECK, Intent::Valid, "user", &exchange)),
                expected
            );
        }
    }
}

//! `timeout`: every request gets a complete HTTP answer within `--timeout`.

use super::{Check, Observation, Severity, Verdict};
use crate::client::TransportError;
use crate::plan::Intent;

pub const CHECK: Check = Check {
    id: "timeout",
    description: "every request is answered with HTTP within --timeout",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    match &observation.exchange.response {
        Ok(_) => Verdict::Pass,
        // A server may refuse an oversized body by closing the connection while it is still
        // being sent: that is a refusal, not a server that failed to answer.
        Err(TransportError::Protocol(_) | TransportError::Connect(_))
            if matches!(
                observation.intent,
                Intent::InvalidBody {
                    rule: "body-size",
                    ..
                }
            ) =>
        {
            Verdict::Pass
        }
        Err(error) => Verdict::fail(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, timed_out, verdict};
    use super::*;

    #[test]
    fn table() {
        let oversized = Intent::InvalidBody {
            rule: "body-size",
            properties: vec![],
        };
        let mut closed = json(200, "");
        closed.response = Err(TransportError::Protocol("broken pipe".into()));
        let cases = [
            (Intent::Valid, json(200, ""), "pass"),
            (Intent::Valid, timed_out(), "fail"),
            (Intent::Valid, closed.clone(), "fail"),
            // A connection closed while an oversized body is sent is a refusal, a silence is not.
            (oversized.clone(), closed, "pass"),
            (oversized, timed_out(), "fail"),
        ];
        for (intent, exchange, expected) in cases {
            assert_eq!(kind(&verdict(CHECK, intent, "user", &exchange)), expected);
        }
    }
}

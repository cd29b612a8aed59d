//! `no_secret_echo`: no response, body or headers, repeats a password the request carried or
//! the bearer token it was sent with.

use super::{Check, Observation, Severity, Verdict};

pub const CHECK: Check = Check {
    id: "no_secret_echo",
    description: "no response repeats a submitted password or token",
    severity: Severity::Error,
    evaluate,
};

/// Shorter values are left out: they turn up in ordinary text by chance.
const MIN_SECRET_LENGTH: usize = 6;

fn evaluate(observation: &Observation) -> Verdict {
    let Some(response) = observation.response() else {
        return Verdict::Skip;
    };
    let request = &observation.exchange.request;
    let mut sent: Vec<(String, String)> = Vec::new();
    for (name, value) in &request.headers {
        if name.eq_ignore_ascii_case("authorization") {
            if let Some((_, token)) = value.split_once(' ') {
                sent.push(("the bearer token".into(), token.trim().to_string()));
            }
        }
    }
    if let Ok(serde_json::Value::Object(body)) = serde_json::from_slice(&request.body) {
        for (name, value) in body {
            if let (true, Some(value)) = (name.to_lowercase().contains("password"), value.as_str())
            {
                sent.push((format!("`{name}`"), value.to_string()));
            }
        }
    }
    sent.retain(|(_, value)| value.chars().count() >= MIN_SECRET_LENGTH);
    if sent.is_empty() {
        return Verdict::Skip;
    }
    let body = String::from_utf8_lossy(&response.body);
    let headers: Vec<&str> = response.headers.iter().map(|(_, v)| v.as_str()).collect();
    for (what, value) in &sent {
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        let in_body = body.contains(value.as_str()) || body.contains(escaped);
        let in_headers = headers.iter().any(|header| header.contains(value.as_str()));
        if in_body || in_headers {
            return Verdict::fail(format!(
                "the response {} repeats {what} of the request",
                if in_body { "body" } else { "headers" }
            ));
        }
    }
    Verdict::Pass
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{json, kind, verdict};
    use super::*;
    use crate::plan::Intent;

    #[test]
    fn table() {
        let with_request = |status, response: &str| {
            let mut exchange = json(status, response);
            exchange.request.headers = vec![("authorization".into(), "Bearer tok-123456".into())];
            exchange.request.body =
                br#"{"current_password":"old-Secret1","new_password":"ab"}"#.to_vec();
            exchange
        };
        let cases = [
            (with_request(400, r#"{"error_code":"BAD_REQUEST"}"#), "pass"),
            (
                with_request(
                    400,
                    r#"{"error_code":"BAD_REQUEST","error_message":"old-Secret1 is wrong"}"#,
                ),
                "fail",
            ),
            (
                with_request(
                    400,
                    r#"{"error_code":"BAD_REQUEST","error_message":"token tok-123456"}"#,
                ),
                "fail",
            ),
            // Too short to tell from chance.
            (
                with_request(400, r#"{"error_code":"BAD_REQUEST","error_message":"ab"}"#),
                "pass",
            ),
            (json(400, r#"{"error_code":"BAD_REQUEST"}"#), "skip"),
        ];
        for (exchange, expected) in cases {
            let got = verdict(CHECK, Intent::Valid, "user", &exchange);
            assert_eq!(kind(&got), expected, "{got:?}");
        }
    }
}

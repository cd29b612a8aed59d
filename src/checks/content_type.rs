//! `content_type`: a body comes with a documented media type, and no body comes where the
//! response documents none. Parameters such as `charset` are ignored.

use super::{essence, Check, Observation, Severity, Verdict};

pub const CHECK: Check = Check {
    id: "content_type",
    description: "the Content-Type is a documented media type; no body where none is documented",
    severity: Severity::Error,
    evaluate,
};

fn evaluate(observation: &Observation) -> Verdict {
    let Some(response) = observation.response() else {
        return Verdict::Skip;
    };
    let Some(documented) = observation.operation.response_for(response.status) else {
        return Verdict::Skip;
    };
    let sent = response.header("content-type").map(essence);
    if documented.content.is_empty() {
        return Verdict::expect(response.body.is_empty(), || {
            format!(
                "status {} documents no body, but {} bytes came ({})",
                response.status,
                response.body.len(),
                sent.as_deref().unwrap_or("no Content-Type")
            )
        });
    }
    let names: Vec<&str> = documented.content.iter().map(|m| m.name.as_str()).collect();
    let Some(sent) = sent else {
        return Verdict::fail(format!(
            "status {} has no Content-Type (documented: {})",
            response.status,
            names.join(", ")
        ));
    };
    let matches = names
        .iter()
        .any(|name| media_range_matches(&essence(name), &sent));
    Verdict::expect(matches, || {
        format!(
            "status {} came as {sent} (documented: {})",
            response.status,
            names.join(", ")
        )
    })
}

/// `application/*` and `*/*` match as OpenAPI allows.
fn media_range_matches(range: &str, sent: &str) -> bool {
    match range.split_once('/') {
        Some(("*", "*")) => true,
        Some((kind, "*")) => sent
            .split_once('/')
            .is_some_and(|(sent_kind, _)| sent_kind == kind),
        _ => range == sent,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{exchange, json, kind, verdict};
    use super::*;
    use crate::plan::Intent;

    #[test]
    fn table() {
        let error = r#"{"error_code":"GENERAL_ERROR"}"#;
        let cases = [
            (exchange(200, None, ""), "pass"),
            (exchange(200, Some("text/plain"), ""), "pass"),
            (json(200, r#"{"ok":true}"#), "fail"),
            (json(400, error), "pass"),
            (
                exchange(400, Some("application/json; charset=utf-8"), error),
                "pass",
            ),
            (exchange(400, Some("Application/JSON"), error), "pass"),
            (exchange(400, Some("text/plain"), error), "fail"),
            (exchange(400, None, error), "fail"),
            (json(418, error), "skip"),
        ];
        for (exchange, expected) in cases {
            let got = verdict(CHECK, Intent::Valid, "user", &exchange);
            assert_eq!(kind(&got), expected, "{exchange:?}");
        }
    }

    #[test]
    fn media_ranges() {
        assert!(media_range_matches("*/*", "text/plain"));
        assert!(media_range_matches("application/*", "application/json"));
        assert!(!media_range_matches("application/*", "text/json"));
    }
}

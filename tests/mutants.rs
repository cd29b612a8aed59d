//! The fault → check matrix: each fault of the reference server makes a run fail the check
//! that should see it, and only checks that make sense for it; the clean server passes.

mod support;

use specgate::server::Fault;
use support::{failures_by_check, run_remote, scratch, TestServer};

/// Each fault, the check that must fail, and every check allowed to fail with it.
const MATRIX: &[(Fault, &str, &[&str])] = &[
    (
        Fault::UndocumentedStatus,
        "status_documented",
        // The 64 KiB boundary body is refused for its size, with the undocumented status.
        &["status_documented", "positive_accepted"],
    ),
    (
        Fault::DeepErrorMissingCode,
        "response_schema",
        &["response_schema", "error_semantics"],
    ),
    (
        Fault::ScopeNotEnforced,
        "scope_enforced",
        &["scope_enforced", "state_unchanged"],
    ),
    (
        Fault::NoAuth,
        "auth_required",
        &["auth_required", "state_unchanged"],
    ),
    (
        Fault::OtherUserChangeable,
        "own_resource_only",
        &["own_resource_only"],
    ),
    (
        Fault::WrongPasswordAccepted,
        "wrong_password_rejected",
        &[
            "wrong_password_rejected",
            "state_changed",
            "state_unchanged",
        ],
    ),
    (
        Fault::ChangeNotPersisted,
        "state_unchanged",
        &["state_changed", "state_unchanged"],
    ),
    (
        Fault::InvalidBodyAccepted,
        "negative_rejected",
        &["negative_rejected"],
    ),
    (
        Fault::ServerErrorOnUnicode,
        "server_error",
        &["server_error"],
    ),
    (Fault::ServerErrorOnLong, "server_error", &["server_error"]),
    (
        Fault::WrongErrorCode,
        "response_schema",
        &["response_schema"],
    ),
    (
        Fault::DetailsNotArray,
        "response_schema",
        &["response_schema", "error_semantics"],
    ),
    (Fault::TextPlainErrors, "content_type", &["content_type"]),
    (Fault::BodyOn200, "content_type", &["content_type"]),
    (Fault::SecretEcho, "no_secret_echo", &["no_secret_echo"]),
    (Fault::Hang, "timeout", &["timeout"]),
    (
        Fault::OldPasswordStillWorks,
        "state_changed",
        &["state_changed", "state_unchanged"],
    ),
    (
        Fault::ChangeDespiteRefusal,
        "state_unchanged",
        &["state_unchanged"],
    ),
    (
        Fault::WrongErrorSemantics,
        "error_semantics",
        &["error_semantics"],
    ),
    (
        Fault::ValidRefused,
        "positive_accepted",
        &["positive_accepted", "case_expectations"],
    ),
    (
        Fault::WrongPasswordForbidden,
        "case_expectations",
        &["case_expectations"],
    ),
];

#[test]
fn matrix_covers_every_fault_and_every_check() {
    // Throttling is not a conformance fault: tests/staging.rs shows a run waits it out.
    for fault in Fault::all().iter().filter(|f| **f != Fault::Throttle) {
        assert!(
            MATRIX.iter().any(|(f, _, _)| f == fault),
            "{fault:?} has no row"
        );
    }
    for check in specgate::checks::CATALOGUE {
        assert!(
            MATRIX.iter().any(|(_, expected, _)| *expected == check.id),
            "no fault proves {}",
            check.id
        );
    }
}

#[test]
fn clean_reference_server_is_conformant() {
    let server = TestServer::start(&[]);
    let run = run_remote(&server, &["--cases", "8"], &scratch("clean"));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let junit = run.junit.expect("a JUnit report");
    assert!(failures_by_check(&junit).is_empty());
    assert!(run.stdout.contains("result: conformant"), "{}", run.stdout);
    assert_eq!(
        server.running.password_of("alice").as_deref(),
        Some(support::PASSWORD),
        "the test account's password is put back"
    );
}

#[test]
fn every_fault_fails_its_check_and_only_related_ones() {
    let mut problems = Vec::new();
    for (fault, expected, allowed) in MATRIX {
        let server = TestServer::start(&[*fault]);
        let dir = scratch(&format!("{fault:?}"));
        // --strict: a fault of a warning-severity check must still fail the run.
        let run = run_remote(
            &server,
            &["--cases", "8", "--timeout", "0.5", "--strict"],
            &dir,
        );
        let failed = run
            .junit
            .as_deref()
            .map(failures_by_check)
            .unwrap_or_default();
        if run.code != 1 {
            problems.push(format!(
                "{fault:?}: exit {} ({})",
                run.code,
                run.stderr.trim()
            ));
        }
        if !failed.contains_key(*expected) {
            problems.push(format!(
                "{fault:?}: {expected} did not fail (failed: {failed:?})"
            ));
        }
        for check in failed.keys() {
            // The shipped declarative cases restate the contract, so they may catch any fault.
            if !allowed.contains(&check.as_str()) && check != "case_expectations" {
                problems.push(format!("{fault:?}: unexpected failure of {check}"));
            }
        }
        if server.running.password_of("alice").as_deref() != Some(support::PASSWORD) {
            problems.push(format!("{fault:?}: the password was not restored"));
        }
        if server.running.password_of("bob").as_deref() != Some(support::OTHER_PASSWORD) {
            problems.push(format!(
                "{fault:?}: the other account's password was not restored"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

//! Staging safety: the account is left as found (also when interrupted), secrets stay out of
//! everything written, a busy server is waited out, and `--dry-run` sends nothing.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use specgate::server::Fault;
use support::{failures_by_check, run_remote, scratch, token, TestServer, PASSWORD, SCOPES};

#[test]
fn throttling_server_is_waited_out_without_false_failures() {
    let server = TestServer::start(&[Fault::Throttle]);
    let run = run_remote(&server, &["--cases", "6"], &scratch("throttle"));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("throttling: the target said it was busy"),
        "{}",
        run.stdout
    );
    assert!(failures_by_check(&run.junit.expect("junit")).is_empty());
    assert_eq!(
        server.running.password_of("alice").as_deref(),
        Some(PASSWORD)
    );
}

#[test]
fn sigint_mid_run_restores_the_password() {
    let server = TestServer::start(&[]);
    let dir = scratch("sigint");
    let url = server.url();
    let mut command = Command::new(env!("CARGO_BIN_EXE_specgate"));
    command
        .args([
            "run",
            "--target",
            &url,
            "--user-id",
            "alice",
            "--cases",
            "100000",
            "--seed",
            "3",
        ])
        .arg("--junit")
        .arg(dir.join("junit.xml"))
        .env("SPECGATE_PASSWORD", PASSWORD)
        .env("SPECGATE_TOKEN_USER", token("user"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("specgate starts");
    // Wait until the run has changed the password: it is mid-run then.
    let started = Instant::now();
    while server.running.password_of("alice").as_deref() == Some(PASSWORD) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never changed the password"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let output = child.wait_with_output().expect("specgate ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        server.running.password_of("alice").as_deref(),
        Some(PASSWORD),
        "the original password is back"
    );
}

#[test]
fn no_restore_leaves_and_prints_the_last_password() {
    let server = TestServer::start(&[]);
    let run = run_remote(
        &server,
        &["--cases", "2", "--no-restore"],
        &scratch("no-restore"),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let now = server.running.password_of("alice").expect("alice exists");
    assert_ne!(now, PASSWORD);
    assert!(
        run.stdout.contains(&format!("its password is now {now}")),
        "{}",
        run.stdout
    );
}

#[test]
fn dry_run_sends_nothing_and_shows_no_secret() {
    let server = TestServer::start(&[]);
    let dir = scratch("dry-run");
    let run = run_remote(
        &server,
        &["--dry-run", "--header", "X-Api-Key: gateway-s3cret"],
        &dir,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("nothing was sent"), "{}", run.stdout);
    assert!(
        run.stdout.contains("${SPECGATE_HEADER_X_API_KEY}"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("${SPECGATE_PASSWORD}"),
        "{}",
        run.stdout
    );
    for secret in SCOPES
        .iter()
        .map(|s| token(s))
        .chain([PASSWORD.into(), "gateway-s3cret".into()])
    {
        assert!(!run.stdout.contains(&secret), "{secret} printed");
    }
    assert_eq!(
        server.running.password_of("alice").as_deref(),
        Some(PASSWORD)
    );
}

#[test]
fn transport_flags_are_checked_before_anything_is_sent() {
    let dir = scratch("transport");
    std::fs::write(dir.join("not-a-cert.pem"), "hello").unwrap();
    let server = TestServer::start(&[]);
    let bad_ca = run_remote(&server, &["--cacert", "not-a-cert.pem"], &dir);
    assert_eq!(bad_ca.code, 2);
    assert!(
        bad_ca.stderr.contains("no PEM certificate"),
        "{}",
        bad_ca.stderr
    );
    let bad_header = run_remote(&server, &["--header", "no colon"], &dir);
    assert_eq!(bad_header.code, 2);
    let insecure = run_remote(
        &server,
        &["--insecure", "--cases", "1", "--checks", "timeout"],
        &dir,
    );
    assert_eq!(insecure.code, 0, "{}", insecure.stderr);
    assert!(
        insecure.stderr.contains("--insecure"),
        "{}",
        insecure.stderr
    );
}

/// Tokens come from the reference server's token endpoint, with no static token configured;
/// one that expires mid-run is refreshed and the run goes on.
#[test]
fn oauth_tokens_are_acquired_and_refreshed() {
    use specgate::server::{TEST_CLIENT_ID, TEST_CLIENT_SECRET};
    let server = TestServer::start(&[]);
    server.running.set_token_lifetime(Duration::from_secs(1));
    let dir = scratch("oauth");
    let token_url = format!("{}/oauth/token", server.url());
    for flow in ["client-credentials", "password"] {
        let run = support::specgate(
            &[
                "run",
                "--target",
                &server.url(),
                "--user-id",
                "alice",
                "--seed",
                "9",
                "--oauth-flow",
                flow,
                "--oauth-token-url",
                &token_url,
                "--oauth-client-id",
                TEST_CLIENT_ID,
                // Long enough to see the one-second tokens expire.
                "--cases",
                "12",
                "--rate-limit",
                "60/s",
            ],
            &[
                ("SPECGATE_PASSWORD", PASSWORD),
                ("SPECGATE_OAUTH_CLIENT_SECRET", TEST_CLIENT_SECRET),
            ],
            &dir,
        );
        assert_eq!(run.code, 0, "{flow}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("user            accepted   200"),
            "{flow}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("was refreshed"),
            "{flow}: {}",
            run.stdout
        );
        let junit = run.junit.expect("junit");
        for text in [&run.stdout, &run.stderr, &junit] {
            assert!(
                !text.contains(TEST_CLIENT_SECRET),
                "{flow}: the client secret leaked"
            );
            assert!(!text.contains(PASSWORD), "{flow}: the password leaked");
        }
        assert_eq!(
            server.running.password_of("alice").as_deref(),
            Some(PASSWORD)
        );
    }
}

/// Requests sent together share a token: when it runs out mid-batch, every request refused
/// with it is sent again with the one refresh brings, not only the first, so that no valid
/// request is left looking refused.
#[test]
fn a_token_running_out_in_a_concurrent_batch_is_refreshed_for_all_of_it() {
    use specgate::server::{TEST_CLIENT_ID, TEST_CLIENT_SECRET};
    let server = TestServer::start(&[]);
    // A prime number of uses, so that tokens run out inside batches of 8, not between them.
    server.running.set_token_uses(Some(13));
    let dir = scratch("oauth-concurrent");
    // The shipped operation without its password contract: its cases go out 8 at a time.
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/specs/privx-local-user-store.yaml"
    ))
    .expect("the shipped spec");
    let spec = dir.join("no-contract.yaml");
    std::fs::write(
        &spec,
        shipped.replace("new_password", "replacement_password"),
    )
    .unwrap();
    let token_url = format!("{}/oauth/token", server.url());
    let run = support::specgate(
        &[
            "run",
            "--spec",
            &spec.display().to_string(),
            "--target",
            &server.url(),
            "--seed",
            "5",
            "--cases",
            "60",
            "--concurrency",
            "8",
            "--oauth-flow",
            "client-credentials",
            "--oauth-token-url",
            &token_url,
            "--oauth-client-id",
            TEST_CLIENT_ID,
        ],
        &[("SPECGATE_OAUTH_CLIENT_SECRET", TEST_CLIENT_SECRET)],
        &dir,
    );
    assert!(
        run.stdout
            .contains("`user` token was refused with 401 during the run and was refreshed"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let user = run
        .stdout
        .lines()
        .find(|line| line.starts_with("user ") && line.contains("accepted"))
        .unwrap_or_else(|| panic!("a matrix row for `user`:\n{}", run.stdout));
    assert!(!user.contains("401"), "{user}\n{}", run.stdout);
}

//! The command line as a user meets it: exit codes, one-line errors for bad input, the
//! embedded default run, the JUnit report read back, and no secret in anything written.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;

use support::{failures_by_check, run_remote, scratch, specgate, token, TestServer, PASSWORD};

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT");
    settings.add_filter(r"\d+\.\d\d s", "N.NN s");
    settings.add_filter(r"junit    .*", "junit    PATH");
    settings
}

#[test]
fn embedded_run_is_conformant_and_prints_its_summary() {
    let dir = scratch("embedded");
    let run = specgate(&["run", "--seed", "42"], &[], &dir);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    snapshot_settings().bind(|| insta::assert_snapshot!("embedded_run_seed_42", run.stdout));
}

#[test]
fn junit_totals_match_the_terminal_summary() {
    let dir = scratch("totals");
    let run = specgate(&["run", "--seed", "3", "--cases", "5"], &[], &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let junit = run.junit.expect("a JUnit report");
    let suites = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes()))
        .expect("the JUnit report parses");
    let (mut tests, mut failures) = (0, 0);
    for suite in &suites.suites {
        tests += suite.tests;
        failures += suite.failures;
        let properties = &suite.properties.hashmap;
        assert_eq!(properties.get("seed").map(String::as_str), Some("3"));
        assert_eq!(properties.get("spec.sha256").map(String::len), Some(64));
        assert!(properties.contains_key("specgate.version"));
    }
    assert_eq!(
        (suites.tests, suites.failures),
        (tests, failures),
        "testsuites totals"
    );
    assert_eq!(suites.name, "specgate");
    // Each table row of the summary: check, passed, failed (or "-", "-" when not exercised).
    for line in run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("check"))
        .skip(1)
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [check, passed, failed, rest @ ..] = fields.as_slice() else {
            break;
        };
        let suite = suites
            .suites
            .iter()
            .find(|suite| suite.name == format!("specgate.{check}"))
            .unwrap_or_else(|| panic!("a suite for {check}"));
        if *passed == "-" {
            assert_eq!(rest, &["not", "exercised"]);
            assert_eq!((suite.tests, suite.skipped), (1, 1), "{check}");
        } else {
            let passed: u64 = passed.parse().expect("a count");
            let failed: u64 = failed.parse().expect("a count");
            assert_eq!(suite.tests, passed + failed, "{check}");
            assert_eq!(suite.failures, failed, "{check}");
            assert_eq!(
                suite.skipped, 0,
                "executed tests are never skipped: {check}"
            );
        }
    }
}

#[test]
fn checks_lists_the_catalogue() {
    let run = specgate(&["checks"], &[], &scratch("checks"));
    assert_eq!(run.code, 0);
    for check in specgate::checks::CATALOGUE {
        assert!(run.stdout.contains(check.id), "{} missing", check.id);
    }
    snapshot_settings().bind(|| insta::assert_snapshot!("checks", run.stdout));
}

/// A status agreed beyond the spec, in specgate.toml, is not a failure; without the file it is.
#[test]
fn configuration_file_tolerates_agreed_statuses() {
    use specgate::server::Fault;
    let server = TestServer::start(&[Fault::UndocumentedStatus]);
    let dir = scratch("config-file");
    let only = ["--checks", "status_documented", "--cases", "3"];
    let without = run_remote(&server, &only, &dir);
    assert_eq!(without.code, 1, "{}{}", without.stdout, without.stderr);
    std::fs::write(
        dir.join("specgate.toml"),
        "[operations.UpdateLocalUserPassword]\nextra_statuses = [422]\n",
    )
    .unwrap();
    let with = run_remote(&server, &only, &dir);
    assert_eq!(with.code, 0, "{}{}", with.stdout, with.stderr);
    std::fs::write(dir.join("broken.toml"), "cases = 3\ntarget = [\n").unwrap();
    let broken = specgate(&["run", "--config", "broken.toml"], &[], &dir);
    assert_eq!(broken.code, 2);
    assert!(broken.stderr.contains("broken.toml:2"), "{}", broken.stderr);
}

/// A QA engineer's own case, added without Rust, runs and is judged.
#[test]
fn cases_dir_adds_declarative_cases() {
    let dir = scratch("cases-dir");
    std::fs::create_dir_all(dir.join("mine")).unwrap();
    std::fs::write(
        dir.join("mine/admin-cannot.yaml"),
        "name: my admin case\noperation: UpdateLocalUserPassword\ncredential: admin\nbody:\n  current_password: $password\n  new_password: $fresh_password\nexpect:\n  status: 200\n",
    )
    .unwrap();
    let run = specgate(&["run", "--seed", "2", "--cases-dir", "mine"], &[], &dir);
    // The reference server refuses the admin scope, so this (wrong) expectation fails.
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let junit = run.junit.expect("a JUnit report");
    assert_eq!(failures_by_check(&junit).get("case_expectations"), Some(&1));
    assert!(
        run.stdout.contains("[admin] my admin case"),
        "{}",
        run.stdout
    );
}

#[test]
fn checks_flag_runs_only_the_named_checks() {
    let dir = scratch("only-checks");
    let run = specgate(
        &[
            "run",
            "--seed",
            "1",
            "--checks",
            "status_documented,response_schema",
        ],
        &[],
        &dir,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let junit = run.junit.expect("a JUnit report");
    let suites = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes())).unwrap();
    let names: Vec<&str> = suites.suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["specgate.status_documented", "specgate.response_schema"]
    );
}

#[test]
fn run_help_documents_exit_codes() {
    let run = specgate(&["run", "--help"], &[], &scratch("help"));
    assert_eq!(run.code, 0);
    snapshot_settings().bind(|| insta::assert_snapshot!("run_help", run.stdout));
}

/// A command line, its environment, and what stderr must mention.
type BadInput<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

/// Bad command lines and bad input: exit 2, one line on stderr naming the problem.
#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = scratch("bad-input");
    std::fs::write(
        dir.join("broken.yaml"),
        "openapi: 3.0.3\npaths: [unclosed\n",
    )
    .unwrap();
    std::fs::write(dir.join("empty.yaml"), "").unwrap();
    std::fs::write(dir.join("swagger.yaml"), "swagger: '2.0'\n").unwrap();
    std::fs::write(dir.join("binary.yaml"), [0xff, 0xfe, 0x00]).unwrap();
    std::fs::create_dir_all(dir.join("bad-cases/auth")).unwrap();
    std::fs::write(
        dir.join("bad-cases/auth/root.yaml"),
        "operation: UpdateLocalUserPassword\ncredential: root\nexpect:\n  status: 403\n",
    )
    .unwrap();
    let password = [("SPECGATE_PASSWORD", PASSWORD)];
    let table: &[BadInput] = &[
        (&["run", "--bogus"], &[], "--bogus"),
        (&["run", "--timeout", "never"], &[], "--timeout"),
        (&["run", "--cases", "-1"], &[], "'-1'"),
        (
            &["run", "--spec", "missing.yaml"],
            &[],
            "cannot read spec missing.yaml",
        ),
        (
            &["run", "--spec", "broken.yaml"],
            &[],
            "cannot parse spec broken.yaml",
        ),
        (&["run", "--spec", "empty.yaml"], &[], "empty"),
        (
            &["run", "--spec", "binary.yaml"],
            &[],
            "cannot parse spec binary.yaml",
        ),
        // A spec the linter finds errors in: its diagnostics, then the one-line error.
        (
            &["run", "--spec", "swagger.yaml"],
            &[],
            "error[version-unsupported]",
        ),
        (
            &["run", "--target", "ftp://x", "--user-id", "a"],
            &password,
            "not an http",
        ),
        (
            &["run", "--target", "http://127.0.0.1:9"],
            &password,
            "--user-id",
        ),
        (
            &["run", "--target", "http://127.0.0.1:9", "--user-id", "a"],
            &[],
            "SPECGATE_PASSWORD",
        ),
        (
            &["run", "--target", "http://127.0.0.1:9", "--user-id", "a"],
            &password,
            "no token for scope user",
        ),
        (&["run", "--token", "user=x"], &[], "need --target"),
        (&["serve", "--fault", "nonsense"], &[], "nonsense"),
        (
            &["run", "--checks", "status_documented,bogus"],
            &[],
            "no check `bogus` (checks: timeout, server_error",
        ),
        (&["run", "--exclude-checks", "nope"], &[], "no check `nope`"),
        (
            &["run", "--cases-dir", "bad-cases"],
            &[],
            "case bad-cases/auth/root.yaml:2: credential `root`",
        ),
        (
            &["run", "--cases-dir", "no-such-dir"],
            &[],
            "case no-such-dir",
        ),
        (&["serve", "--user", "nocolon"], &[], "ID:PASSWORD"),
    ];
    for (args, env, expected) in table {
        let run = specgate(args, env, &dir);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        let multi_line = ["--bogus", "nonsense", "-1", "swagger.yaml"];
        if !args.iter().any(|arg| multi_line.contains(arg)) {
            assert_eq!(
                run.stderr.trim().lines().count(),
                1,
                "{args:?}: {}",
                run.stderr
            );
        }
    }
}

fn remote(url: &str, timeout: &str, dir: &std::path::Path) -> support::Run {
    let user_token = token("user");
    specgate(
        &[
            "run",
            "--target",
            url,
            "--user-id",
            "alice",
            "--timeout",
            timeout,
        ],
        &[
            ("SPECGATE_PASSWORD", PASSWORD),
            ("SPECGATE_TOKEN_USER", &user_token),
        ],
        dir,
    )
}

#[test]
fn unreachable_target_exits_2() {
    // Bind then drop: nothing listens on the port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = remote(
        &format!("http://127.0.0.1:{port}"),
        "2",
        &scratch("unreachable"),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);
}

/// A listener that answers every connection with `reply` (or nothing, if `None`).
fn fake_target(reply: Option<&'static [u8]>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            match reply {
                Some(reply) => {
                    let _ = stream.write_all(reply);
                }
                // Keep the connection open and silent.
                None => held.push(stream),
            }
        }
    });
    url
}

#[test]
fn target_speaking_garbage_exits_2() {
    let url = fake_target(Some(b"SSH-2.0-OpenSSH_9.6\r\n\r\nnot http at all"));
    let run = remote(&url, "2", &scratch("garbage"));
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("not a valid HTTP answer"),
        "{}",
        run.stderr
    );
}

#[test]
fn hanging_target_exits_2_after_the_timeout() {
    let url = fake_target(None);
    let started = std::time::Instant::now();
    let run = remote(&url, "0.5", &scratch("hang"));
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("no answer within 0.5 s"),
        "{}",
        run.stderr
    );
    // Generous: the point is that it ends, not how fast.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// A failing run with real secrets: no token and no password appear in anything written.
#[test]
fn secrets_never_appear_in_output() {
    use specgate::server::Fault;
    let server = TestServer::start(&[Fault::SecretEcho, Fault::DeepErrorMissingCode]);
    let dir = scratch("secrets");
    let run = run_remote(&server, &["--cases", "6"], &dir);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let junit = run.junit.expect("a JUnit report");
    assert!(failures_by_check(&junit).contains_key("no_secret_echo"));
    let mut secrets: Vec<String> = support::SCOPES.iter().map(|s| token(s)).collect();
    secrets.push(PASSWORD.to_string());
    secrets.push(support::OTHER_PASSWORD.to_string());
    secrets.push("test-token-bob-user".to_string());
    for (name, text) in [
        ("stdout", &run.stdout),
        ("stderr", &run.stderr),
        ("junit", &junit),
    ] {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} appears in {name}"
            );
        }
    }
    assert!(
        junit.contains("${SPECGATE_TOKEN_USER}"),
        "placeholders name the variable"
    );
}

/// The JUnit format is guarded by a snapshot of a small fixed-seed run against a faulty server.
#[test]
fn junit_format_snapshot() {
    use specgate::server::Fault;
    let server = TestServer::start(&[Fault::DeepErrorMissingCode]);
    let dir = scratch("junit-snapshot");
    let run = run_remote(
        &server,
        &[
            "--phases",
            "examples",
            "--checks",
            "status_documented,response_schema,case_expectations",
        ],
        &dir,
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let junit = run.junit.expect("a JUnit report");
    let mut settings = snapshot_settings();
    settings.add_filter(r#"timestamp="[^"]*""#, r#"timestamp="T""#);
    settings.add_filter(r#"time="[0-9.e-]*""#, r#"time="S""#);
    settings.add_filter(r"elapsed: [0-9.]+ s", "elapsed: S s");
    settings.add_filter(r"date: [^\n<]*", "date: D");
    settings.add_filter(r"Sg-[a-z]{5}-[A-Z]{5}7!", "Sg-FRESH7!");
    settings.add_filter(r#"hostname="[^"]*""#, r#"hostname="H""#);
    settings.bind(|| insta::assert_snapshot!("junit_faulty_examples", junit.replace("><", ">\n<")));
}

/// The JUnit report as a CI consumer reads it: Python's junitparser, which GitHub's popular
/// test-result actions use, finds the same totals as the run.
#[test]
fn junit_reads_in_python_junitparser() {
    use specgate::server::Fault;
    let server = TestServer::start(&[Fault::ScopeNotEnforced]);
    let dir = scratch("junitparser");
    let run = run_remote(&server, &["--cases", "4"], &dir);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let junit = run.junit.expect("a JUnit report");
    let ours = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes())).unwrap();
    let script = "import sys, junitparser\n\
        xml = junitparser.JUnitXml.fromfile(sys.argv[1])\n\
        tests = failures = skipped = 0\n\
        for suite in xml:\n\
        \x20   for case in suite:\n\
        \x20       tests += 1\n\
        \x20       failures += any(isinstance(r, junitparser.Failure) for r in case.result)\n\
        \x20       skipped += any(isinstance(r, junitparser.Skipped) for r in case.result)\n\
        print(tests, failures, skipped)\n";
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(dir.join("junit.xml"))
        .output()
        .expect("python3 runs (the README's test command installs junitparser)");
    assert!(
        output.status.success(),
        "junitparser could not read the report (is it installed? pip install junitparser): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let counts: Vec<u64> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(|n| n.parse().expect("a count"))
        .collect();
    let skipped: u64 = ours.suites.iter().map(|suite| suite.skipped).sum();
    assert_eq!(counts, [ours.tests, ours.failures, skipped]);
    assert!(ours.failures > 0);
}

/// `validate --format github` annotates each finding at its file and line.
#[test]
fn validate_github_format_annotates_file_and_line() {
    let dir = scratch("validate-github");
    std::fs::write(
        dir.join("bad.yaml"),
        "openapi: 3.0.3\ninfo: {title: t, version: \"1\"}\npaths:\n  /a/{x}:\n    get:\n      responses: {\"200\": {description: ok}}\n",
    )
    .unwrap();
    let run = specgate(&["validate", "--format", "github", "bad.yaml"], &[], &dir);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout.lines().next(),
        Some("::error file=bad.yaml,line=5,col=5,title=specgate path-param-missing::`GET /a/{x}`: path variable `{x}` has no `in: path` parameter (/paths/~1a~1{x}/get)")
    );
}

/// Warnings pass the gate unless `--fail-on warning` (or `--strict`) says otherwise.
#[test]
fn fail_on_warning_turns_warnings_into_a_failed_gate() {
    use specgate::server::Fault;
    let server = TestServer::start(&[Fault::WrongErrorSemantics]);
    let dir = scratch("fail-on");
    let only = ["--checks", "error_semantics", "--phases", "coverage"];
    let lenient = run_remote(&server, &only, &dir);
    assert_eq!(lenient.code, 0, "{}{}", lenient.stdout, lenient.stderr);
    assert!(
        lenient.stdout.contains("WARN error_semantics"),
        "{}",
        lenient.stdout
    );
    let mut strict = only.to_vec();
    strict.extend(["--fail-on", "warning"]);
    let gated = run_remote(&server, &strict, &dir);
    assert_eq!(gated.code, 1, "{}{}", gated.stdout, gated.stderr);
}

/// The JUnit report has a suite per credential of the scope matrix.
#[test]
fn junit_has_a_suite_per_scope() {
    use specgate::server::Fault;
    let server = TestServer::start(&[Fault::ScopeNotEnforced]);
    let dir = scratch("scope-suites");
    let run = run_remote(&server, &["--cases", "3", "--phases", "fuzz"], &dir);
    assert_eq!(run.code, 1);
    let junit = run.junit.expect("a JUnit report");
    let suites = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes())).unwrap();
    let failures = |name: &str| {
        suites
            .suites
            .iter()
            .find(|suite| suite.name == name)
            .map(|suite| (suite.tests, suite.failures))
    };
    assert_eq!(failures("specgate.scope.admin"), Some((1, 1)));
    assert_eq!(failures("specgate.scope.user"), Some((1, 0)));
    assert_eq!(failures("specgate.scope.no-token"), Some((1, 0)));
}

/// Passing exchanges are spooled to a temporary file; where none can be made they are kept in
/// memory, the run says so, and the JUnit report is the same.
#[test]
fn no_temporary_directory_keeps_the_spool_in_memory() {
    let cases = |dir: &std::path::Path, env: &[(&str, &str)]| {
        let run = specgate(&["run", "--seed", "3", "--cases", "5"], env, dir);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let junit = run.junit.expect("a JUnit report");
        let suites = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes()))
            .expect("the JUnit report parses");
        let names: Vec<(String, String)> = suites
            .suites
            .iter()
            .flat_map(|suite| {
                assert_eq!(suite.tests, suite.cases.len() as u64, "{}", suite.name);
                suite
                    .cases
                    .iter()
                    .map(|case| (suite.name.clone(), case.name.clone()))
            })
            .collect();
        (run.stdout, names)
    };
    let (stdout, spooled) = cases(&scratch("spool-file"), &[]);
    assert!(!stdout.contains("kept in memory"), "{stdout}");
    let missing = "/nonexistent/specgate-no-such-temp-dir";
    let (stdout, in_memory) = cases(&scratch("spool-memory"), &[("TMPDIR", missing)]);
    assert!(stdout.contains("kept in memory"), "{stdout}");
    assert!(spooled.len() > 100, "{} test cases", spooled.len());
    assert_eq!(spooled, in_memory);
}

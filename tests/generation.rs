//! Generation as a user meets it: a narrow fault is found at default settings and reported
//! shrunk to its smallest form; the same seed sends the same requests; a failure replays.

mod support;

use specgate::server::Fault;
use support::{run_remote, scratch, specgate, TestServer};

/// The `new_password` of the first shrunk failure (`cNNNN.min`) of `check` on stdout.
fn shrunk_new_password(stdout: &str, check: &str) -> Option<String> {
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        if line.starts_with(&format!("FAIL {check}")) && line.contains(".min ") {
            let curl = lines.nth(1)?;
            let body = curl.split("--data-binary '").nth(1)?.strip_suffix('\'')?;
            // The body may hold the account's password as a shell expansion: take the new one.
            let json: serde_json::Value =
                serde_json::from_str(&body.replace("'\"${SPECGATE_PASSWORD}\"'", "x")).ok()?;
            return json["new_password"].as_str().map(str::to_string);
        }
    }
    None
}

#[test]
fn unicode_fault_is_found_and_shrunk_to_one_character() {
    let server = TestServer::start(&[Fault::ServerErrorOnUnicode]);
    let run = run_remote(&server, &[], &scratch("shrink-unicode"));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let password = shrunk_new_password(&run.stdout, "server_error")
        .unwrap_or_else(|| panic!("no shrunk failure in:\n{}", run.stdout));
    assert_eq!(password.chars().count(), 1, "{password:?}");
    assert!(!password.is_ascii(), "{password:?}");
}

#[test]
fn length_fault_is_found_and_shrunk_to_the_first_failing_length() {
    let server = TestServer::start(&[Fault::ServerErrorOnLong]);
    let run = run_remote(&server, &[], &scratch("shrink-long"));
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let password = shrunk_new_password(&run.stdout, "server_error")
        .unwrap_or_else(|| panic!("no shrunk failure in:\n{}", run.stdout));
    assert_eq!(password.chars().count(), 65, "{password:?}");
}

#[test]
fn a_failure_replays_exactly() {
    let server = TestServer::start(&[Fault::ServerErrorOnLong]);
    let dir = scratch("replay");
    let run = run_remote(&server, &["--max-shrink-steps", "0"], &dir);
    assert_eq!(run.code, 1);
    let line = run
        .stdout
        .lines()
        .find(|line| line.starts_with("FAIL server_error"))
        .expect("a failure");
    let case = line.split_whitespace().nth(2).expect("a case id");
    let curl = |stdout: &str| {
        stdout
            .lines()
            .skip_while(|l| !l.starts_with(&format!("FAIL server_error  {case} ")))
            .nth(2)
            .map(str::to_string)
    };
    // The same seed and flags, this one case only: what `specgate replay` runs.
    let replayed = run_remote(&server, &["--only", case, "--max-shrink-steps", "0"], &dir);
    assert_eq!(replayed.code, 1, "{}{}", replayed.stdout, replayed.stderr);
    assert!(
        replayed
            .stdout
            .contains(&format!("FAIL server_error  {case} ")),
        "{}",
        replayed.stdout
    );
    // Same request bytes, bar the account's password at that moment.
    let strip = |line: Option<String>| {
        line.map(|l| {
            l.split("\"new_password\"")
                .nth(1)
                .unwrap_or_default()
                .to_string()
        })
    };
    assert_eq!(strip(curl(&run.stdout)), strip(curl(&replayed.stdout)));
}

#[test]
fn replay_command_runs_the_named_case_only() {
    let dir = scratch("replay-command");
    let run = specgate(&["replay", "c0003.1", "--seed", "4"], &[], &dir);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("\n1 cases,"), "{}", run.stdout);
    let unknown = specgate(&["replay", "c9999", "--seed", "4"], &[], &dir);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no case c9999"),
        "{}",
        unknown.stderr
    );
}

/// The N parts of `--partition` are exactly the whole plan, each case in one part.
#[test]
fn partitions_together_are_the_whole_run() {
    let dir = scratch("partition");
    let ids = |extra: &[&str]| {
        let mut args = vec!["run", "--dry-run", "--seed", "11"];
        args.extend_from_slice(extra);
        let run = specgate(&args, &[], &dir);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
            .lines()
            .filter(|line| line.starts_with('c'))
            .filter_map(|line| line.split_whitespace().next().map(str::to_string))
            .collect::<Vec<_>>()
    };
    let whole = ids(&[]);
    let mut parts: Vec<String> = ["1/3", "2/3", "3/3"]
        .iter()
        .flat_map(|part| ids(&["--partition", part]))
        .collect();
    parts.sort();
    let mut sorted = whole.clone();
    sorted.sort();
    assert!(whole.len() > 100);
    assert_eq!(parts, sorted);
}

#[test]
fn same_seed_same_requests() {
    let dir = scratch("same-seed");
    let plan = |seed: &str| {
        let run = specgate(&["run", "--dry-run", "--seed", seed], &[], &dir);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
            .lines()
            .map(|line| {
                let port = regex_port(line);
                line.replace(&port, "PORT")
            })
            .collect::<Vec<_>>()
    };
    let first = plan("7");
    assert_eq!(first, plan("7"));
    assert_ne!(first, plan("8"));
    let head = first
        .iter()
        .take(60)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("plan_seed_7", head));
}

/// The `127.0.0.1:PORT` of a line, or an empty string.
fn regex_port(line: &str) -> String {
    line.split("127.0.0.1:")
        .nth(1)
        .map(|rest| {
            let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
            format!("127.0.0.1:{port}")
        })
        .unwrap_or_else(|| "\u{0}".into())
}

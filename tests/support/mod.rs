//! Shared test support: the reference server started in-process on 127.0.0.1:0, the
//! `specgate` binary run against it, and its JUnit report read back with junit-parser.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

pub mod inventory;

use specgate::server::{self, Fault, RunningServer, ServerConfig};

/// A reference server on its own runtime, alive as long as this value.
pub struct TestServer {
    pub running: RunningServer,
    // Declared after `running` so that the server is dropped before its runtime.
    _runtime: tokio::runtime::Runtime,
}

impl TestServer {
    pub fn start(faults: &[Fault]) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let config = ServerConfig::standard().with_faults(faults.iter().copied());
        let running = runtime
            .block_on(server::spawn(([127, 0, 0, 1], 0).into(), config))
            .expect("the reference server binds 127.0.0.1:0");
        TestServer {
            running,
            _runtime: runtime,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }
}

/// The secrets of the standard fixture that a remote run is given.
pub const PASSWORD: &str = "alice-Passw0rd!";
pub const OTHER_PASSWORD: &str = "bob-Passw0rd!";
pub const SCOPES: [&str; 5] = ["admin", "service", "user", "usersManage", "usersView"];

pub fn token(scope: &str) -> String {
    format!("test-token-alice-{scope}")
}

/// What a run printed and wrote.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub junit: Option<String>,
}

/// A fresh directory for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("specgate-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

pub fn specgate(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> Run {
    let junit = dir.join("junit.xml");
    let mut command = Command::new(env!("CARGO_BIN_EXE_specgate"));
    command.args(args).current_dir(dir);
    if args.first() == Some(&"run") && !args.contains(&"--junit") {
        command.arg("--junit").arg(&junit);
    }
    command.env_remove("SPECGATE_PASSWORD");
    command.env_remove("SPECGATE_OTHER_PASSWORD");
    command.env_remove("SPECGATE_OTHER_TOKEN");
    for scope in SCOPES {
        command.env_remove(format!("SPECGATE_TOKEN_{}", scope.to_uppercase()));
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("the specgate binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        junit: std::fs::read_to_string(&junit).ok(),
    }
}

/// A run against `server` with every token of the fixture given the way a QA engineer would.
pub fn run_remote(server: &TestServer, extra: &[&str], dir: &std::path::Path) -> Run {
    let url = server.url();
    let mut args = vec![
        "run",
        "--target",
        &url,
        "--user-id",
        "alice",
        "--other-user-id",
        "bob",
        "--seed",
        "7",
    ];
    args.extend_from_slice(extra);
    let tokens: Vec<(String, String)> = SCOPES
        .iter()
        .map(|scope| {
            (
                format!("SPECGATE_TOKEN_{}", scope.to_uppercase()),
                token(scope),
            )
        })
        .collect();
    let mut env: Vec<(&str, &str)> = tokens
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    env.push(("SPECGATE_PASSWORD", PASSWORD));
    env.push(("SPECGATE_OTHER_PASSWORD", OTHER_PASSWORD));
    env.push(("SPECGATE_OTHER_TOKEN", "test-token-bob-user"));
    specgate(&args, &env, dir)
}

/// Failures per check (suite `specgate.<check>`), read with a JUnit parser.
pub fn failures_by_check(junit: &str) -> BTreeMap<String, u64> {
    let suites = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes()))
        .expect("the JUnit report parses");
    suites
        .suites
        .iter()
        .filter(|suite| suite.failures > 0)
        // The scope matrix's suites restate what scope_enforced, auth_required and
        // positive_accepted found; count each failure once, under its check.
        .filter(|suite| !suite.name.starts_with("specgate.scope."))
        .map(|suite| {
            let check = suite.name.trim_start_matches("specgate.").to_string();
            let failed = suite
                .cases
                .iter()
                .filter(|case| case.status.is_failure())
                .count();
            assert_eq!(failed as u64, suite.failures, "suite {} counts", suite.name);
            (check, suite.failures)
        })
        .collect()
}

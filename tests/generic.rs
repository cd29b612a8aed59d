//! specgate on a spec that is not PrivX's: several operations with query, header and path
//! parameters, nested and recursive bodies, against a small server written for these tests.

mod support;

use support::inventory::{self, READ_TOKEN, WRITE_TOKEN};
use support::{failures_by_check, scratch, specgate};

fn run(server: &inventory::Inventory, dir: &std::path::Path, extra: &[&str]) -> support::Run {
    let read = format!("inventory.read={READ_TOKEN}");
    let write = format!("inventory.write={WRITE_TOKEN}");
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/inventory.yaml");
    let mut args = vec!["run", "--spec", spec, "--target", &server.url];
    args.extend([
        "--token", &read, "--token", &write, "--seed", "3", "--cases", "12",
    ]);
    args.extend_from_slice(extra);
    specgate(&args, &[], dir)
}

#[test]
fn conformant_inventory_server_passes() {
    let server = inventory::start(false);
    let dir = scratch("inventory-clean");
    let checked = run(&server, &dir, &[]);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(
        !checked.stdout.contains("SETUP WARNING"),
        "{}",
        checked.stdout
    );
    for operation in ["ListItems", "CreateItem", "GetItem"] {
        let heading = format!("scope matrix: {operation}");
        assert!(checked.stdout.contains(&heading), "{}", checked.stdout);
    }
    // Query, header and path parameters are drawn from their schemas and sent.
    let plan = run(&server, &dir, &["--dry-run"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("/items?limit="),
        "no query parameter in:\n{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("'x-request-id: "),
        "no header parameter in:\n{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("/items/"),
        "no path parameter in:\n{}",
        plan.stdout
    );
}

#[test]
fn negative_price_accepted_is_found() {
    let server = inventory::start(true);
    let found = run(&server, &scratch("inventory-fault"), &[]);
    assert_eq!(found.code, 1, "{}{}", found.stdout, found.stderr);
    let failed = failures_by_check(&found.junit.expect("a JUnit report"));
    assert!(failed.contains_key("negative_rejected"), "{failed:?}");
    assert!(
        found.stdout.contains("`price` below minimum 0"),
        "{}",
        found.stdout
    );
}

/// Cases of operations that change no password go out `--concurrency` at a time, and the
/// verdicts are those of a run that sends them one by one.
#[test]
fn concurrent_run_gives_the_sequential_verdicts() {
    let verdicts = |concurrency: &str, name: &str| {
        let server = inventory::start(true);
        let found = run(&server, &scratch(name), &["--concurrency", concurrency]);
        assert_eq!(found.code, 1, "{}{}", found.stdout, found.stderr);
        let junit = found.junit.expect("a JUnit report");
        let suites = junit_parser::from_reader(std::io::Cursor::new(junit.as_bytes()))
            .expect("the JUnit report parses");
        let cases: Vec<(String, String, bool)> = suites
            .suites
            .iter()
            .flat_map(|suite| {
                suite.cases.iter().map(|case| {
                    let failed = case.status.is_failure();
                    (suite.name.clone(), case.name.clone(), failed)
                })
            })
            .collect();
        (cases, server.peak_in_flight())
    };
    let (sequential, sequential_peak) = verdicts("1", "inventory-sequential");
    let (concurrent, concurrent_peak) = verdicts("4", "inventory-concurrent");
    assert_eq!(sequential_peak, 1);
    assert!(
        (2..=4).contains(&concurrent_peak),
        "at most 4 requests were to be in flight together, and more than one: {concurrent_peak}"
    );
    assert!(sequential.iter().any(|(_, _, failed)| *failed));
    assert_eq!(sequential, concurrent);
}

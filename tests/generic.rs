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

//! Micro-benchmarks (criterion): response validation, body generation, spec loading and
//! linting. Run with `cargo bench --bench micro`; results and targets are in
//! benches/RESULTS.md.
//!
//! - `validate/*`: the 400 response's `Error` schema (recursive through `details`) against
//!   bodies nested 1, 5 and 20 levels deep: valid bodies (`is_valid`) and bodies whose innermost
//!   `error_code` is unknown (`violations`, what `response_schema` reports).
//! - `generate/*`: valid password bodies (`Generator::body` with the password contract) and the
//!   invalid bodies derived from one (`mutations`), counted per body.
//! - `spec/*`: loading and compiling the shipped spec, and a generated 2 MB spec with 500
//!   operations; `lint/*`: what `specgate validate` does with them, in-process.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use serde_json::{json, Value};
use specgate::generate::{mutations, Generator};
use specgate::plan::PasswordContract;
use specgate::spec::{self, Schema};

mod support;

/// The generated spec: 500 operations in about 2 MB.
const BIG_OPERATIONS: usize = 500;
const BIG_BYTES: usize = 2 * 1024 * 1024;

fn error_schema() -> Schema {
    let spec = spec::load(None).expect("the shipped spec loads");
    let operation = &spec.operations[0];
    operation
        .response_for(400)
        .expect("400 is documented")
        .content[0]
        .schema
        .clone()
        .expect("400 has a schema")
}

/// An Error body nested `depth` levels deep (depth 1: no `details`); the innermost
/// `error_code` is `innermost`.
fn nested_error(depth: usize, innermost: &str) -> Value {
    let mut body = json!({"error_code": innermost, "error_message": "innermost cause"});
    for level in 1..depth {
        body = json!({
            "error_code": "INVALID_REQUEST_DATA",
            "error_message": format!("level {level}"),
            "property": "new_password",
            "details": [body],
        });
    }
    body
}

fn validation(c: &mut Criterion) {
    let schema = error_schema();
    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(1));
    for depth in [1, 5, 20] {
        let valid = nested_error(depth, "GENERAL_ERROR");
        assert!(schema.is_valid(&valid), "depth {depth} body is valid");
        group.bench_with_input(BenchmarkId::new("error_valid", depth), &valid, |b, body| {
            b.iter(|| schema.is_valid(black_box(body)))
        });
        let invalid = nested_error(depth, "NOT_A_CODE");
        assert!(!schema.violations(&invalid).is_empty());
        group.bench_with_input(
            BenchmarkId::new("error_invalid_violations", depth),
            &invalid,
            |b, body| b.iter(|| schema.violations(black_box(body))),
        );
    }
    group.finish();
}

fn generation(c: &mut Criterion) {
    let spec = spec::load(None).expect("the shipped spec loads");
    let operation = &spec.operations[0];
    let schema = operation
        .request_body
        .as_ref()
        .and_then(|body| body.schema.as_ref())
        .expect("the password operation has a body schema");
    let contract = PasswordContract::detect(operation);
    assert!(contract.is_some(), "the password contract is detected");
    let mut group = c.benchmark_group("generate");

    group.throughput(Throughput::Elements(1));
    let mut generator = Generator::new(1);
    group.bench_function("password_valid_body", |b| {
        b.iter(|| generator.body(black_box(schema), contract.as_ref()))
    });

    let sample = Generator::new(1)
        .body(schema, contract.as_ref())
        .expect("a valid body is drawn");
    let per_call = mutations(schema, &sample, "application/json").len();
    group.throughput(Throughput::Elements(per_call as u64));
    group.bench_function(
        BenchmarkId::new("password_invalid_bodies", format!("{per_call}_per_call")),
        |b| b.iter(|| mutations(black_box(schema), black_box(&sample), "application/json")),
    );
    group.finish();
}

fn loading(c: &mut Criterion) {
    let big = support::big_spec(BIG_OPERATIONS, BIG_BYTES);
    let loaded = spec::load_str(&big, "big").expect("the generated spec loads");
    assert_eq!(loaded.operations.len(), BIG_OPERATIONS);
    let linted = spec::lint::lint(big.as_bytes(), "big");
    assert!(!linted.has_errors(), "the generated spec lints clean");

    let mut group = c.benchmark_group("spec");
    // Dropping a `Spec` is not loading it: `iter_with_large_drop` leaves the drop untimed.
    group.bench_function("load_shipped", |b| {
        b.iter_with_large_drop(|| spec::load(None))
    });
    // Seconds an iteration: ten flat samples (criterion warns that they take longer than 20 s).
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.bench_function("load_str_2mb_500ops", |b| {
        b.iter_with_large_drop(|| spec::load_str(black_box(&big), "big"))
    });
    group.finish();

    let mut group = c.benchmark_group("lint");
    group.bench_function("shipped", |b| {
        b.iter(|| spec::lint::lint(black_box(spec::EMBEDDED_SPEC.as_bytes()), "shipped"))
    });
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.bench_function("2mb_500ops", |b| {
        b.iter(|| spec::lint::lint(black_box(big.as_bytes()), "big"))
    });
    group.finish();
}

criterion_group!(benches, validation, generation, loading);
criterion_main!(benches);

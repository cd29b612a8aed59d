//! Generation against the validator, over every schema an operation of specs/ reaches and the
//! tricky schemas of tests/schemas/: every value `Generator::valid` returns validates, most
//! draws succeed, the strategies alone mostly draw valid values, and every labelled JSON
//! mutation is invalid for the very rule its label names.
//!
//! A file in tests/schemas/ is either a plain OpenAPI schema or
//! `{"schema": …, "components": {NAME: schema, …}}`. `Schema::compile` converts the schema
//! itself (`nullable` becomes a `"null"` type) but takes the components as they are, so
//! component schemas there are written in draft 4 form (`"type": ["number", "null"]`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use specgate::generate::{self, Encoding, Generator};
use specgate::spec::Schema;

/// Draws per schema through `Generator::valid`.
const DRAWS: usize = 300;
/// Raw draws per schema straight from `strategy_for`.
const RAW_DRAWS: usize = 200;

/// Schemas whose raw strategy draws the validator is expected to refuse often, so that only
/// `Generator::valid`'s retries keep them satisfiable, with why.
const OFTEN_REFUSED: &[(&str, &str)] = &[
    (
        "one-of-overlapping",
        "strings of 3 to 5 characters match both branches of its oneOf",
    ),
    (
        "one-of-siblings",
        "a value with both optional properties matches both branches of its oneOf",
    ),
    (
        "pattern-lookahead",
        "proptest cannot generate a look-ahead: the optional `pin` is a plain string",
    ),
];

struct Case {
    name: String,
    schema: Schema,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            path.extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| extensions.contains(&extension))
        })
        .collect();
    found.sort();
    found
}

/// The request and response schemas of every operation of every spec in specs/.
fn spec_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for path in files(&root().join("specs"), &["yaml", "yml", "json"]) {
        let spec = specgate::spec::load(Some(&path))
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        for operation in &spec.operations {
            if let Some(schema) = operation
                .request_body
                .as_ref()
                .and_then(|body| body.schema.clone())
            {
                cases.push(Case {
                    name: format!("{stem} {} request", operation.id),
                    schema,
                });
            }
            for response in &operation.responses {
                for media in &response.content {
                    if let Some(schema) = media.schema.clone() {
                        cases.push(Case {
                            name: format!(
                                "{stem} {} {:?} {}",
                                operation.id, response.key, media.name
                            ),
                            schema,
                        });
                    }
                }
            }
        }
    }
    assert!(!cases.is_empty(), "specs/ has schemas");
    cases
}

/// The schemas of tests/schemas/.
fn corpus_cases() -> Vec<Case> {
    files(&root().join("tests/schemas"), &["json"])
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let file: Value = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            let (schema, components) = match file.get("schema") {
                Some(schema) => (
                    schema.clone(),
                    file.get("components").cloned().unwrap_or_else(|| json!({})),
                ),
                None => (file, json!({})),
            };
            let schema = Schema::compile(&schema, &Arc::new(components))
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            Case {
                name: path.file_stem().unwrap().to_string_lossy().to_string(),
                schema,
            }
        })
        .collect()
}

/// Every schema once: the responses of an operation often share one (an Error).
fn all_cases() -> Vec<Case> {
    let mut cases = spec_cases();
    cases.extend(corpus_cases());
    let mut seen = BTreeSet::new();
    cases.retain(|case| seen.insert(case.schema.json.to_string()));
    cases
}

/// A seed per schema, stable across runs.
fn seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The validator built as `Schema::compile` builds it, to ask which keyword an error is of.
fn validator(schema: &Schema) -> jsonschema::Validator {
    let root = json!({
        "allOf": [schema.json.clone()],
        "components": {"schemas": schema.definitions.as_ref()},
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&root)
        .expect("the schema compiles")
}

#[test]
fn every_generated_value_validates() {
    let started = Instant::now();
    for case in all_cases() {
        let check = validator(&case.schema);
        let mut generator = Generator::new(seed(&case.name));
        let mut produced = 0;
        for _ in 0..DRAWS {
            if let Some(value) = generator.valid(&case.schema) {
                produced += 1;
                assert!(check.is_valid(&value), "{}: {value}", case.name);
            }
        }
        // Every schema here is satisfiable, and the retries make even the often refused ones
        // come through nearly always.
        assert!(
            produced * 10 >= DRAWS * 9,
            "{}: only {produced} of {DRAWS} draws were valid",
            case.name
        );
    }
    assert!(
        started.elapsed().as_secs() < 60,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn strategies_alone_mostly_draw_valid_values() {
    for case in all_cases() {
        let strategy = generate::strategy_for(&case.schema, &case.schema.json, 0);
        let mut generator = Generator::new(seed(&case.name) ^ 1);
        let valid = (0..RAW_DRAWS)
            .filter_map(|_| generator.draw(&strategy))
            .filter(|value| case.schema.is_valid(value))
            .count();
        let often_refused = OFTEN_REFUSED.iter().any(|(name, _)| *name == case.name);
        let floor = if often_refused {
            RAW_DRAWS / 4
        } else {
            RAW_DRAWS * 9 / 10
        };
        assert!(
            valid >= floor,
            "{}: {valid} of {RAW_DRAWS} raw draws valid",
            case.name
        );
    }
}

#[test]
fn same_seed_same_values_for_every_schema() {
    for case in corpus_cases() {
        let draw = |seed| {
            let mut generator = Generator::new(seed);
            (0..5)
                .map(|_| generator.valid(&case.schema))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(11), draw(11), "{}", case.name);
    }
}

/// Whether the validator reports an error of `rule` for `value`, at `pointer` or below it
/// (`None`: anywhere). Under draft 4 an exclusive bound is a flag of `minimum` / `maximum`,
/// but the validator names the error after the flag.
fn breaks(check: &jsonschema::Validator, value: &Value, rule: &str, pointer: Option<&str>) -> bool {
    check.iter_errors(value).any(|error| {
        let at = error.instance_path().as_str().to_string();
        let keyword = match error.kind().keyword() {
            "exclusiveMinimum" => "minimum",
            "exclusiveMaximum" => "maximum",
            keyword => keyword,
        };
        keyword == rule
            && pointer.is_none_or(|pointer| at == pointer || at.starts_with(&format!("{pointer}/")))
    })
}

#[test]
fn every_labelled_json_mutation_breaks_its_rule() {
    let mut rules_seen = BTreeSet::new();
    for case in all_cases() {
        let check = validator(&case.schema);
        let mut generator = Generator::new(seed(&case.name) ^ 2);
        let samples: Vec<Value> = (0..4)
            .filter_map(|_| generator.valid(&case.schema))
            .collect();
        assert!(!samples.is_empty(), "{}: no valid sample", case.name);
        for sample in &samples {
            for mutation in generate::mutations(&case.schema, sample, "application/json") {
                rules_seen.insert(mutation.rule);
                let value = mutation
                    .value
                    .as_ref()
                    .expect("every mutation carries a value");
                let context = format!(
                    "{}: {} ({}) {value}",
                    case.name, mutation.label, mutation.rule
                );
                assert!(!mutation.label.is_empty(), "{context}");
                match (mutation.rule, mutation.encoding) {
                    ("content-type", Encoding::Json) => {
                        assert!(check.is_valid(value), "{context}");
                        assert_ne!(
                            mutation.content_type.as_deref(),
                            Some("application/json"),
                            "{context}"
                        );
                    }
                    (_, Encoding::Json) => {
                        assert!(!check.is_valid(value), "{context}");
                        let keyword = match mutation.rule {
                            "body-type" => "type",
                            rule => rule,
                        };
                        let pointer = match mutation.rule {
                            "required" | "body-type" | "additionalProperties" => None,
                            _ => Some(format!("/{}", mutation.properties[0])),
                        };
                        assert!(
                            breaks(&check, value, keyword, pointer.as_deref()),
                            "{context}: no `{keyword}` error"
                        );
                    }
                    (_, Encoding::Empty) => {
                        assert!(Encoding::Empty.encode(Some(value)).is_empty(), "{context}")
                    }
                    (_, encoding) => {
                        let bytes = encoding.encode(Some(value));
                        if value.is_object() || value.is_array() {
                            assert!(
                                serde_json::from_slice::<Value>(&bytes).is_err(),
                                "{context}"
                            );
                        }
                    }
                }
            }
        }
    }
    for rule in [
        "required",
        "type",
        "body-type",
        "json-syntax",
        "content-type",
        "additionalProperties",
        "minLength",
        "maxLength",
        "pattern",
        "enum",
        "minimum",
        "maximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "uniqueItems",
    ] {
        assert!(rules_seen.contains(rule), "no mutation broke `{rule}`");
    }
}

#[test]
fn property_mutations_are_labelled_with_the_broken_bound() {
    let case = corpus_cases()
        .into_iter()
        .find(|case| case.name == "numbers")
        .expect("tests/schemas/numbers.json");
    let sample = Generator::new(5)
        .valid(&case.schema)
        .expect("a valid sample");
    let labels: Vec<String> = generate::mutations(&case.schema, &sample, "application/json")
        .into_iter()
        .map(|mutation| mutation.label)
        .collect();
    for expected in [
        "`age` below minimum 18",
        "`age` above maximum 120",
        "`ratio` equal to exclusive minimum 0",
        "`ratio` equal to exclusive maximum 1",
        "`step` not a multiple of 5",
        "`price` not a multiple of 0.01",
        "`age` is null",
        "`age` is a number",
    ] {
        assert!(
            labels.iter().any(|label| label == expected),
            "{expected} not in {labels:?}"
        );
    }
}

#[test]
fn oversized_body_is_two_mib_of_valid_json() {
    let mutation = generate::oversized(&json!({"a": "b"}), "application/json");
    assert_eq!(mutation.rule, "body-size");
    assert!(mutation.properties.is_empty());
    let bytes = mutation.encoding.encode(mutation.value.as_ref());
    assert!(bytes.len() >= 2 * 1024 * 1024, "{} bytes", bytes.len());
    let parsed: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert_eq!(parsed["a"], "b");
    let scalar = generate::oversized(&json!(3), "application/json");
    assert!(scalar.value.as_ref().is_some_and(Value::is_array));
}

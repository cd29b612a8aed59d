//! `specgate validate` against its corpus (tests/validate/): valid documents stay silent, each
//! invalid document breaks exactly one rule on the lines it marks `# expect: RULE`, documents
//! that cannot be parsed exit 2 with a place, and the output formats are snapshots. Then the
//! exit codes through the binary, the JUnit report read back, and proptests that throw random
//! and mutated documents at `lint` to prove it never panics.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use specgate::spec::lint::{self, Format, Linted, RULES};
use support::{scratch, specgate};

const CORPUS: &str = "tests/validate";

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// The files of a corpus folder, sorted, as paths relative to the package (the tests run
/// there, so relative `$ref`s and the paths shown in output are stable).
fn corpus(folder: &str) -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(CORPUS)
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| {
            let name = entry.expect("a directory entry").file_name();
            Path::new(CORPUS).join(folder).join(name)
        })
        .collect();
    files.sort();
    files
}

fn lint_file(path: &Path) -> Linted {
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    lint::lint(&bytes, &path.display().to_string())
}

fn rendered(documents: &[Linted], format: Format) -> String {
    let mut out = Vec::new();
    lint::render(documents, format, &mut out).expect("rendering to memory");
    String::from_utf8(out).expect("UTF-8 output")
}

/// `tests/validate/invalid/ref-cycle--allof.yaml` tests rule `ref-cycle`.
fn rule_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("a file name");
    stem.split("--").next().unwrap_or(stem).to_string()
}

/// The lines a corpus file marks with `# expect: RULE`.
fn expected_lines(path: &Path, rule: &str) -> BTreeSet<usize> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("a text file");
    let marker = format!("# expect: {rule}");
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.contains(&marker))
        .map(|(index, _)| index + 1)
        .collect()
}

#[test]
fn every_rule_has_an_invalid_document() {
    let files: BTreeSet<String> = corpus("invalid").iter().map(|p| rule_of(p)).collect();
    for rule in RULES {
        assert!(files.contains(rule.id), "no invalid/{}.yaml", rule.id);
    }
    for name in &files {
        assert!(
            RULES.iter().any(|rule| rule.id == name),
            "invalid/{name}.*: no such rule"
        );
    }
}

#[test]
fn each_invalid_document_breaks_only_its_rule_on_the_marked_lines() {
    for path in corpus("invalid") {
        let rule = rule_of(&path);
        let linted = lint_file(&path);
        let found = linted
            .result
            .as_ref()
            .unwrap_or_else(|error| panic!("{}: {error:?}", path.display()));
        assert!(!found.is_empty(), "{}: nothing found", path.display());
        for diagnostic in found {
            assert_eq!(diagnostic.rule, rule, "{}: {diagnostic:?}", path.display());
            let declared = RULES
                .iter()
                .find(|known| known.id == rule)
                .map(|known| known.severity);
            assert_eq!(Some(diagnostic.severity), declared, "{}", path.display());
            assert!(diagnostic.column >= 1, "{}: {diagnostic:?}", path.display());
        }
        // JSON has no comments: its lines are pinned by the snapshots.
        if path.extension().is_some_and(|e| e == "yaml") {
            let lines: BTreeSet<usize> = found.iter().map(|d| d.line).collect();
            assert_eq!(lines, expected_lines(&path, &rule), "{}", path.display());
        }
    }
}

#[test]
fn valid_documents_have_no_findings() {
    for path in corpus("valid") {
        let linted = lint_file(&path);
        match &linted.result {
            Ok(found) => assert!(found.is_empty(), "{}: {found:#?}", path.display()),
            Err(error) => panic!("{}: {error:?}", path.display()),
        }
    }
}

#[test]
fn shipped_specs_validate_clean() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&directory).expect("specs/") {
        let path = entry.expect("an entry").path();
        if !path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            continue;
        }
        let bytes = std::fs::read(&path).expect("a readable spec");
        let linted = lint::lint(&bytes, &path.display().to_string());
        match &linted.result {
            Ok(found) => assert!(found.is_empty(), "{}: {found:#?}", path.display()),
            Err(error) => panic!("{}: {error:?}", path.display()),
        }
        checked += 1;
    }
    assert!(checked > 0, "no spec in specs/");
}

#[test]
fn unparseable_documents_are_parse_errors_with_a_place() {
    for path in corpus("unparseable") {
        let linted = lint_file(&path);
        let Err(error) = &linted.result else {
            panic!("{} parsed: {:?}", path.display(), linted.result);
        };
        let empty = linted.text.lines().all(|line| {
            let line = line.trim();
            line.is_empty() || line.starts_with('#')
        });
        if !empty {
            assert!(
                error.line.is_some() && error.column.is_some(),
                "{}: {error:?}",
                path.display()
            );
        }
    }
}

#[test]
fn invalid_documents_human_and_json_output() {
    for path in corpus("invalid").into_iter().chain(corpus("unparseable")) {
        let linted = [lint_file(&path)];
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("a name");
        let folder = if path.starts_with(Path::new(CORPUS).join("unparseable")) {
            "unparseable_"
        } else {
            ""
        };
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let name = format!("validate_{folder}{stem}_{extension}");
        let human = rendered(&linted, Format::Human);
        let json = rendered(&linted, Format::Json);
        snapshot_settings().bind(|| {
            insta::assert_snapshot!(format!("{name}_human"), human);
            insta::assert_snapshot!(format!("{name}_json"), json);
        });
    }
}

#[test]
fn json_output_names_file_severity_rule_message_pointer_line_column() {
    let path = Path::new(CORPUS).join("invalid/ref-unresolved.yaml");
    let output = rendered(&[lint_file(&path)], Format::Json);
    let report: serde_json::Value = serde_json::from_str(&output).expect("JSON");
    let first = &report["diagnostics"][0];
    assert_eq!(first["file"], path.display().to_string());
    assert_eq!(first["severity"], "error");
    assert_eq!(first["rule"], "ref-unresolved");
    assert_eq!(
        first["pointer"],
        "/paths/~1a/get/responses/200/content/application~1json/schema/$ref"
    );
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(14), Some(23))
    );
    assert!(first["message"]
        .as_str()
        .is_some_and(|m| m.contains("Missing")));
    assert_eq!(report["errors"], 1);
}

fn package() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn exit_codes_say_clean_errors_or_unreadable() {
    let dir = package();
    let valid = "tests/validate/valid/petstore.yaml";
    let warning = "tests/validate/invalid/example-invalid.yaml";
    let invalid = "tests/validate/invalid/ref-cycle.yaml";
    let broken = "tests/validate/unparseable/duplicate-key.yaml";
    let cases: [(&[&str], i32); 6] = [
        (&["validate", valid], 0),
        (&["validate", warning], 0),
        (&["validate", valid, invalid], 1),
        (&["validate", invalid, broken], 2),
        (&["validate", "tests/validate/unparseable/empty.yaml"], 2),
        (&["validate", "tests/validate/no-such-file.yaml"], 2),
    ];
    for (args, code) in cases {
        let run = specgate(args, &[], &dir);
        assert_eq!(run.code, code, "{args:?}\n{}\n{}", run.stdout, run.stderr);
    }
}

#[test]
fn bytes_that_are_not_utf8_exit_2_with_their_place() {
    let dir = scratch("validate-utf8");
    std::fs::write(
        dir.join("latin1.yaml"),
        b"openapi: 3.0.3\ninfo: {title: caf\xe9}\n",
    )
    .expect("a scratch file");
    let run = specgate(&["validate", "latin1.yaml"], &[], &dir);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("latin1.yaml:2:18: error[parse]: the file is not UTF-8"),
        "{}",
        run.stdout
    );
}

#[test]
fn junit_has_a_suite_per_file_and_fails_the_rules_with_errors() {
    let dir = package();
    let run = specgate(
        &[
            "validate",
            "--format",
            "junit",
            "tests/validate/valid/minimal.yaml",
            "tests/validate/invalid/operation-id-duplicate.yaml",
            "tests/validate/invalid/enum-type-mismatch.yaml",
            "tests/validate/unparseable/syntax.yaml",
        ],
        &[],
        &dir,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = junit_parser::from_reader(std::io::Cursor::new(run.stdout.as_bytes()))
        .expect("the JUnit report parses");
    let suites: Vec<(&str, u64, u64, u64)> = report
        .suites
        .iter()
        .map(|s| (s.name.as_str(), s.tests, s.failures, s.errors))
        .collect();
    let rules = RULES.len() as u64;
    assert_eq!(
        suites,
        vec![
            ("tests/validate/valid/minimal.yaml", rules, 0, 0),
            (
                "tests/validate/invalid/operation-id-duplicate.yaml",
                rules,
                1,
                0
            ),
            // A warning passes: it must not fail a CI gate.
            (
                "tests/validate/invalid/enum-type-mismatch.yaml",
                rules,
                0,
                0
            ),
            ("tests/validate/unparseable/syntax.yaml", 1, 0, 1),
        ]
    );
    let failed = report.suites[1]
        .cases
        .iter()
        .find(|case| case.status.is_failure())
        .expect("a failed case");
    // junit-parser names a case `classname::name`.
    assert!(
        failed.name.ends_with("::operation-id-duplicate"),
        "{}",
        failed.name
    );
    let warned = report.suites[2]
        .cases
        .iter()
        .find(|case| case.name.ends_with("::enum-type-mismatch"))
        .expect("the rule's case");
    assert!(warned
        .system_out
        .as_deref()
        .is_some_and(|out| out.contains("warning[enum-type-mismatch]")));
}

#[test]
fn human_output_ends_with_a_summary() {
    let documents = [
        lint_file(Path::new("tests/validate/valid/minimal.yaml")),
        lint_file(Path::new("tests/validate/invalid/example-invalid.yaml")),
        lint_file(Path::new("tests/validate/invalid/tag-duplicate.yaml")),
        lint_file(Path::new("tests/validate/unparseable/empty.yaml")),
    ];
    let output = rendered(&documents, Format::Human);
    assert!(
        output.starts_with("tests/validate/valid/minimal.yaml: ok\n"),
        "{output}"
    );
    assert!(
        output.ends_with("4 files checked: 1 error, 1 warning, 1 could not be parsed\n"),
        "{output}"
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    for text in [
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("a: {}{}", "{b: ".repeat(50_000), "}".repeat(50_000)),
        (0..2_000)
            .map(|depth| format!("{}k:\n", " ".repeat(depth)))
            .collect(),
    ] {
        for name in ["deep.yaml", "deep.json"] {
            let linted = lint::lint(text.as_bytes(), name);
            assert!(linted.result.is_err(), "{name} parsed");
        }
    }
}

#[test]
fn a_large_document_is_linted_whole() {
    let mut text = String::from("openapi: 3.0.3\ninfo: {title: Large, version: '1'}\npaths:\n");
    for index in 0..1_500 {
        text.push_str(&format!(
            "  /items{index}/{{id}}:\n    get:\n      operationId: get{index}\n      parameters:\n        - {{name: id, in: path, required: true, schema: {{$ref: '#/components/schemas/Id'}}}}\n      responses:\n        '200':\n          description: OK\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/Item'}}\n"
        ));
    }
    text.push_str("components:\n  schemas:\n    Id: {type: string}\n    Item:\n      type: object\n      properties:\n        id: {$ref: '#/components/schemas/Id'}\n        next: {$ref: '#/components/schemas/Item'}\n      example: {id: x, next: {id: 7}}\n");
    let linted = lint::lint(text.as_bytes(), "large.yaml");
    let found = linted.result.expect("a valid document");
    // The only finding: the example's nested id is not a string.
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, "example-invalid");
    assert_eq!(found[0].pointer, "/components/schemas/Item/example/next/id");
}

/// Every finding of `linted` is inside its text, and every format renders it.
fn well_formed(linted: Linted) {
    let lines = linted.text.lines().count().max(1);
    if let Ok(found) = &linted.result {
        for diagnostic in found {
            assert!(
                diagnostic.line >= 1 && diagnostic.line <= lines + 1,
                "{diagnostic:?}"
            );
            assert!(diagnostic.message.chars().count() <= 301, "{diagnostic:?}");
        }
    }
    let documents = [linted];
    for format in [Format::Human, Format::Json, Format::Junit] {
        let mut out = Vec::new();
        lint::render(&documents, format, &mut out).expect("rendering to memory");
    }
}

/// A valid document of the corpus, for mutation.
fn seed_documents() -> Vec<(String, Vec<u8>)> {
    corpus("valid")
        .into_iter()
        .chain(corpus("invalid").into_iter().take(8))
        .map(|path| {
            let bytes = std::fs::read(package().join(&path)).expect("a corpus file");
            (path.display().to_string(), bytes)
        })
        .collect()
}

/// One edit of a document's bytes.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    DuplicateLine(usize),
    Truncate(usize),
    Flip(usize, u8),
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            Edit::Delete(at, count) => {
                let start = at % len;
                let end = (start + count).min(bytes.len());
                if start < end {
                    bytes.drain(start..end);
                }
            }
            Edit::Insert(at, chunk) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, chunk.iter().copied());
            }
            Edit::DuplicateLine(at) => {
                let at = (at % len).min(bytes.len());
                let start = bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let end = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |i| at + i + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(start..start, line);
            }
            Edit::Truncate(at) => bytes.truncate(at % len),
            Edit::Flip(at, byte) => {
                let at = at % len;
                if let Some(slot) = bytes.get_mut(at) {
                    *slot = *byte;
                }
            }
        }
    }
    bytes
}

fn edit() -> impl Strategy<Value = Edit> {
    let fragment = prop::sample::select(vec![
        b": ".to_vec(),
        b"\n- ".to_vec(),
        b"{".to_vec(),
        b"]".to_vec(),
        b"$ref: '#/components/schemas/Pet'".to_vec(),
        b"&a ".to_vec(),
        b"*a".to_vec(),
        b"<<: *a\n".to_vec(),
        b"\t".to_vec(),
        b"\"".to_vec(),
        b"{x}".to_vec(),
        b"\xff".to_vec(),
        b"!!int ".to_vec(),
        b"  ".to_vec(),
        b"? ".to_vec(),
        b"---\n".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), fragment).prop_map(|(at, chunk)| Edit::Insert(at, chunk)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, chunk)| Edit::Insert(at, chunk)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Flip(at, byte)),
    ]
}

/// Random JSON-like values with OpenAPI words for keys, so that rules get exercised.
fn value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop::sample::select(vec![
        "openapi",
        "info",
        "title",
        "version",
        "paths",
        "/a/{id}",
        "/a/{x}",
        "get",
        "post",
        "parameters",
        "name",
        "in",
        "path",
        "required",
        "schema",
        "type",
        "array",
        "items",
        "properties",
        "$ref",
        "components",
        "schemas",
        "responses",
        "200",
        "default",
        "content",
        "application/json",
        "example",
        "examples",
        "enum",
        "allOf",
        "oneOf",
        "security",
        "securitySchemes",
        "flows",
        "scopes",
        "servers",
        "url",
        "variables",
        "readOnly",
        "writeOnly",
        "nullable",
        "x-any",
    ]);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "3.0.3",
            "#/components/schemas/A",
            "#/paths/~1a~1{id}",
            "string",
            "object",
            "array",
            "path",
            "query",
            "oauth2",
            "https://{x}.example.com",
            "#",
            "#/",
        ])
        .prop_map(|s| serde_json::Value::String(s.to_string())),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|map| {
                serde_json::Value::Object(
                    map.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), json in any::<bool>()) {
        let name = if json { "random.json" } else { "random.yaml" };
        well_formed(lint::lint(&bytes, name));
    }

    #[test]
    fn mutated_documents_never_panic(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let seeds = seed_documents();
        let (name, bytes) = &seeds[seed.index(seeds.len())];
        let mutated = apply(bytes.clone(), &edits);
        well_formed(lint::lint(&mutated, name));
    }

    #[test]
    fn random_documents_never_panic(document in value(), as_json in any::<bool>()) {
        let (text, name) = if as_json {
            (serde_json::to_string_pretty(&document).unwrap_or_default(), "random.json")
        } else {
            // JSON is YAML: the flow style goes through the YAML parser.
            (serde_json::to_string(&document).unwrap_or_default(), "random.yaml")
        };
        well_formed(lint::lint(text.as_bytes(), name));
    }
}

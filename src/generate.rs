//! Request bodies from schemas: valid ones drawn with proptest, and invalid ones that each
//! break exactly one named rule.
//!
//! Generation is pure and synchronous: a seeded `Generator` turns a `Schema` into values. Every
//! invalid body is checked against the schema before it is returned, so a label never claims a
//! break that is not one.

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};

use crate::plan::PasswordContract;
use crate::spec::Schema;

/// Deeper than this, optional parts of recursive schemas are left out.
const MAX_DEPTH: u32 = 4;
/// Upper bound on the length of most strings whose schema sets none.
const DEFAULT_MAX_LENGTH: usize = 24;
/// Upper bound on the length of the occasional long string.
const LONG_MAX_LENGTH: usize = 200;

/// A seeded source of values: the same seed gives the same sequence.
pub struct Generator {
    runner: TestRunner,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&seed.to_le_bytes());
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        Generator {
            runner: TestRunner::new_with_rng(Config::default(), rng),
        }
    }

    /// One value drawn from `strategy`; `None` only if the strategy rejects everything.
    pub fn draw<T: std::fmt::Debug>(&mut self, strategy: &BoxedStrategy<T>) -> Option<T> {
        strategy
            .new_tree(&mut self.runner)
            .ok()
            .map(|tree| tree.current())
    }

    /// A value valid against `schema`, re-checked with the validator: a schema this generator
    /// cannot satisfy yields `None` rather than a mislabelled body.
    pub fn valid(&mut self, schema: &Schema) -> Option<Value> {
        let strategy = strategy_for(schema, &schema.json, 0);
        self.draw(&strategy).filter(|value| schema.is_valid(value))
    }

    /// A request body valid against `schema` (see `body_strategy`).
    pub fn body(&mut self, schema: &Schema, contract: Option<&PasswordContract>) -> Option<Value> {
        let strategy = body_strategy(schema, contract);
        self.draw(&strategy).filter(|value| schema.is_valid(value))
    }

    /// The value tree of one draw, to shrink: the same seed gives the tree whose first value
    /// `body` returned.
    pub fn tree(
        &mut self,
        strategy: &BoxedStrategy<Value>,
    ) -> Option<Box<dyn ValueTree<Value = Value>>> {
        strategy
            .new_tree(&mut self.runner)
            .ok()
            .map(|tree| Box::new(tree) as _)
    }

    /// A password that any sane policy accepts: letters of both cases, digits and a symbol.
    pub fn fresh_password(&mut self) -> String {
        let strategy = proptest::collection::vec(proptest::char::range('a', 'z'), 10)
            .prop_map(|letters| {
                let letters: String = letters.into_iter().collect();
                format!("Sg-{}-{}7!", &letters[..5], letters[5..].to_uppercase())
            })
            .boxed();
        self.draw(&strategy)
            .unwrap_or_else(|| "Sg-fallback-PASS7!".to_string())
    }
}

/// The strategy for a request body. The password contract's current password is a constant
/// empty string: the runner replaces it with the account's password, so drawing it would only
/// waste shrink steps on a value never sent.
pub fn body_strategy(schema: &Schema, contract: Option<&PasswordContract>) -> BoxedStrategy<Value> {
    let root = schema.resolve(&schema.json);
    match contract {
        Some(contract) if root.get("properties").is_some() => {
            object_strategy(schema, root, 0, &[contract.current.as_str()])
        }
        _ => strategy_for(schema, &schema.json, 0),
    }
}

/// A proptest strategy for values valid against `node` (a part of `schema`).
pub fn strategy_for(schema: &Schema, node: &Value, depth: u32) -> BoxedStrategy<Value> {
    if depth > MAX_DEPTH * 4 {
        // A schema that requires itself without end has no finite instance: give up here
        // (the caller's validity re-check drops the value) rather than recurse forever.
        return Just(Value::Null).boxed();
    }
    let node = schema.resolve(node);
    if let Some(Value::Array(options)) = node.get("enum") {
        if !options.is_empty() {
            return proptest::sample::select(options.clone()).boxed();
        }
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(Value::Array(options)) = node.get(keyword) {
            let strategies: Vec<_> = options
                .iter()
                .map(|option| strategy_for(schema, option, depth + 1))
                .collect();
            if !strategies.is_empty() {
                return proptest::strategy::Union::new(strategies).boxed();
            }
        }
    }
    if let Some(Value::Array(parts)) = node.get("allOf") {
        if let [only] = parts.as_slice() {
            return strategy_for(schema, only, depth);
        }
    }
    let kind = match node.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        // `[T, "null"]` after `nullable` was converted: the declared type, sometimes null.
        Some(Value::Array(kinds)) => {
            let declared = kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|k| *k != "null");
            let mut plain = node.clone();
            if let (Some(declared), Some(object)) = (declared, plain.as_object_mut()) {
                object.insert("type".into(), json!(declared));
                let inner = strategy_for(schema, &plain, depth);
                return prop_oneof![4 => inner, 1 => Just(Value::Null)].boxed();
            }
            return Just(Value::Null).boxed();
        }
        _ if node.get("properties").is_some() => "object",
        _ => "string",
    };
    match kind {
        "string" => string_strategy(node),
        "integer" => {
            let min = node.get("minimum").and_then(Value::as_i64).unwrap_or(-1000);
            let max = node.get("maximum").and_then(Value::as_i64).unwrap_or(1000);
            (min..=max.max(min)).prop_map(Value::from).boxed()
        }
        "number" => {
            let min = node
                .get("minimum")
                .and_then(Value::as_f64)
                .unwrap_or(-1000.0);
            let max = node
                .get("maximum")
                .and_then(Value::as_f64)
                .unwrap_or(1000.0);
            (min..=max.max(min)).prop_map(Value::from).boxed()
        }
        "boolean" => any::<bool>().prop_map(Value::from).boxed(),
        "null" => Just(Value::Null).boxed(),
        "array" => {
            let items = node.get("items").cloned().unwrap_or(json!({}));
            let min = length(node, "minItems").unwrap_or(0);
            let max = if depth >= MAX_DEPTH {
                min
            } else {
                length(node, "maxItems").unwrap_or(min + 3).max(min)
            };
            proptest::collection::vec(strategy_for(schema, &items, depth + 1), min..=max)
                .prop_map(Value::Array)
                .boxed()
        }
        _ => object_strategy(schema, node, depth, &[]),
    }
}

fn length(node: &Value, keyword: &str) -> Option<usize> {
    node.get(keyword)
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// Mostly printable ASCII, sometimes any Unicode scalar value; mostly short, sometimes long:
/// passwords meet all of these.
fn string_strategy(node: &Value) -> BoxedStrategy<Value> {
    let min = length(node, "minLength").unwrap_or(0);
    let declared_max = length(node, "maxLength");
    let short_max = declared_max.unwrap_or(DEFAULT_MAX_LENGTH.max(min)).max(min);
    let long_max = declared_max.unwrap_or(LONG_MAX_LENGTH.max(min)).max(min);
    let chars = || {
        prop_oneof![
            8 => proptest::char::range(' ', '~'),
            2 => proptest::char::any(),
        ]
    };
    let short = proptest::collection::vec(chars(), min..=short_max);
    let long = proptest::collection::vec(chars(), short_max.min(long_max)..=long_max);
    prop_oneof![8 => short, 1 => long]
        .prop_map(|chars| Value::String(chars.into_iter().collect()))
        .boxed()
}

/// `constant`: required string properties drawn as `""` (filled in later by the runner).
fn object_strategy(
    schema: &Schema,
    node: &Value,
    depth: u32,
    constant: &[&str],
) -> BoxedStrategy<Value> {
    let required = required_names(node);
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    if let Some(Value::Object(properties)) = node.get("properties") {
        for (name, property) in properties {
            let is_required = required.contains(&name.as_str());
            let value = if constant.contains(&name.as_str()) {
                Just(Value::String(String::new())).boxed()
            } else {
                strategy_for(schema, property, depth + 1)
            };
            let name = name.clone();
            let present = value.prop_map(move |value| Some((name.clone(), value)));
            if is_required {
                fields.push(present.boxed());
            } else if depth < MAX_DEPTH {
                fields.push(prop_oneof![Just(None), present].boxed());
            }
        }
    }
    fields
        .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect::<Map<_, _>>()))
        .boxed()
}

fn required_names(node: &Value) -> Vec<&str> {
    node.get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// An invalid body: what is sent and the one rule it breaks.
#[derive(Clone, Debug, PartialEq)]
pub struct Mutation {
    /// The rule broken, for the report: `required`, `type`, `body-type`, `json-syntax`,
    /// `content-type`.
    pub rule: &'static str,
    /// What was done, for example "missing `new_password`".
    pub label: String,
    /// The JSON value sent (before encoding), if the body is JSON at all.
    pub value: Option<Value>,
    pub encoding: Encoding,
    /// The Content-Type sent; `None` sends none.
    pub content_type: Option<String>,
    /// The top-level properties this mutation broke: a caller must not overwrite them.
    pub properties: Vec<String>,
}

/// How a body's JSON value becomes bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Json,
    /// The JSON text cut in half.
    Truncated,
    /// The JSON text followed by bytes that are not JSON.
    TrailingGarbage,
    /// The JSON text with a byte that is not UTF-8 inside its first string.
    InvalidUtf8,
    /// No body at all.
    Empty,
    /// The JSON text with `LONE_SURROGATE` replaced by the escape `\ud800`: valid JSON syntax
    /// that no UTF-8 string can hold.
    LoneSurrogate,
}

/// Stands for a lone surrogate in a value until `Encoding::LoneSurrogate` writes the escape.
pub const LONE_SURROGATE: &str = "\u{E000}specgate-lone-surrogate\u{E000}";

impl Encoding {
    pub fn encode(self, value: Option<&Value>) -> Vec<u8> {
        let text = value.map(Value::to_string).unwrap_or_default();
        match self {
            Encoding::Json => text.into_bytes(),
            Encoding::Truncated => {
                let mut cut = text.len() / 2;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.as_bytes()[..cut].to_vec()
            }
            Encoding::TrailingGarbage => format!("{text} }}garbage").into_bytes(),
            Encoding::InvalidUtf8 => {
                // Inside the first string, which in an object is its first key: a lenient
                // parser that replaces the byte with U+FFFD then sees an unknown property and
                // misses a required one, rather than storing a password nobody knows.
                let mut bytes = text.into_bytes();
                let at = bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'"')
                    .nth(1)
                    .map_or(bytes.len(), |(at, _)| at);
                bytes.insert(at, 0xFF);
                bytes
            }
            Encoding::Empty => Vec::new(),
            Encoding::LoneSurrogate => text.replace(LONE_SURROGATE, "\\ud800").into_bytes(),
        }
    }
}

/// Bodies that break `schema` in one named way each, derived from the valid body `valid`.
/// JSON mutations that the schema would still accept are dropped.
pub fn mutations(schema: &Schema, valid: &Value, media_type: &str) -> Vec<Mutation> {
    let node = schema.resolve(&schema.json);
    let json = |rule, label: String, value: Value, properties: Vec<String>| Mutation {
        rule,
        label,
        value: Some(value),
        encoding: Encoding::Json,
        content_type: Some(media_type.to_string()),
        properties,
    };
    let mut found = Vec::new();
    if let (Some(object), Some(Value::Object(properties))) =
        (valid.as_object(), node.get("properties"))
    {
        let required = required_names(node);
        if required.len() > 1 {
            let mut broken = object.clone();
            broken.retain(|name, _| !required.contains(&name.as_str()));
            found.push(json(
                "required",
                "every required property missing".into(),
                Value::Object(broken),
                required.iter().map(|name| name.to_string()).collect(),
            ));
        }
        for name in required {
            let mut broken = object.clone();
            broken.remove(name);
            found.push(json(
                "required",
                format!("missing `{name}`"),
                Value::Object(broken),
                vec![name.to_string()],
            ));
        }
        for (name, property) in properties {
            for (kind, wrong) in wrong_types(schema.resolve(property)) {
                let mut broken = object.clone();
                broken.insert(name.clone(), wrong);
                found.push(json(
                    "type",
                    format!("`{name}` is {kind}"),
                    Value::Object(broken),
                    vec![name.clone()],
                ));
            }
        }
    }
    for (kind, wrong) in wrong_types(node) {
        let wrong = if kind == "an array" {
            json!([valid])
        } else {
            wrong
        };
        found.push(json(
            "body-type",
            format!("body is {kind}"),
            wrong,
            Vec::new(),
        ));
    }
    found.retain(|mutation| {
        mutation
            .value
            .as_ref()
            .is_some_and(|value| !schema.is_valid(value))
    });

    let encoded = |rule, label: &str, encoding, content_type: Option<&str>| Mutation {
        rule,
        label: label.to_string(),
        value: Some(valid.clone()),
        encoding,
        content_type: content_type.map(str::to_string),
        properties: Vec::new(),
    };
    found.extend([
        encoded(
            "json-syntax",
            "truncated JSON",
            Encoding::Truncated,
            Some(media_type),
        ),
        encoded(
            "json-syntax",
            "trailing garbage after JSON",
            Encoding::TrailingGarbage,
            Some(media_type),
        ),
        encoded(
            "json-syntax",
            "invalid UTF-8",
            Encoding::InvalidUtf8,
            Some(media_type),
        ),
        encoded(
            "json-syntax",
            "empty body",
            Encoding::Empty,
            Some(media_type),
        ),
        encoded(
            "content-type",
            "Content-Type text/plain",
            Encoding::Json,
            Some("text/plain"),
        ),
        encoded("content-type", "no Content-Type", Encoding::Json, None),
    ]);
    found
}

/// One boundary value of one top-level string property.
pub struct Boundary {
    pub property: String,
    pub label: String,
    /// The whole body, with the property set to the boundary value.
    pub value: Value,
    pub encoding: Encoding,
}

/// The strings that break real servers, for every top-level string property of `schema`,
/// each in a copy of `sample`: empty, one character, the declared bounds and one past them,
/// 64 KiB, whitespace, padding, multi-byte, emoji, combining marks, right-to-left, NUL and
/// control characters, a lone surrogate, JSON escapes, SQL and shell metacharacters.
pub fn boundaries(schema: &Schema, sample: &Value) -> Vec<Boundary> {
    let node = schema.resolve(&schema.json);
    let (Some(object), Some(Value::Object(properties))) =
        (sample.as_object(), node.get("properties"))
    else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (name, property) in properties {
        let property = schema.resolve(property);
        if property.get("type").and_then(Value::as_str) != Some("string") {
            continue;
        }
        let mut values: Vec<(String, String)> = vec![
            ("empty".into(), String::new()),
            ("one character".into(), "a".into()),
            ("64 KiB long".into(), "a".repeat(64 * 1024)),
            ("256 characters".into(), "b".repeat(256)),
            ("whitespace only".into(), "   \t ".into()),
            (
                "with leading and trailing spaces".into(),
                "  padded value  ".into(),
            ),
            ("multi-byte".into(), "pässwörd-ÆØÅ-密码".into()),
            ("emoji".into(), "🔑🔐👩‍💻".into()),
            ("combining marks".into(), "e\u{301}a\u{308}o\u{302}".into()),
            ("right-to-left".into(), "\u{202E}סיסמה-كلمة\u{202C}".into()),
            ("with NUL".into(), "nul\u{0}byte".into()),
            (
                "control characters".into(),
                "\u{1}\u{7}\u{1b}[31m\u{7f}".into(),
            ),
            ("lone surrogate".into(), LONE_SURROGATE.into()),
            ("JSON escapes".into(), "\"\\/\u{8}\u{c}\n\r\t\\u0000".into()),
            (
                "SQL metacharacters".into(),
                "' OR '1'='1'; DROP TABLE users; --".into(),
            ),
            (
                "shell metacharacters".into(),
                "$(id)`id`;|&><*?!{}[]".into(),
            ),
        ];
        if let Some(max) = length(property, "maxLength") {
            values.push((format!("{max} characters (maxLength)"), "m".repeat(max)));
            values.push((
                format!("{} characters (maxLength + 1)", max + 1),
                "m".repeat(max + 1),
            ));
        }
        if let Some(min) = length(property, "minLength").filter(|min| *min > 0) {
            values.push((format!("{min} characters (minLength)"), "n".repeat(min)));
            values.push((
                format!("{} characters (minLength - 1)", min - 1),
                "n".repeat(min - 1),
            ));
        }
        for (label, text) in values {
            let mut body = object.clone();
            let lone = text == LONE_SURROGATE;
            body.insert(name.clone(), Value::String(text));
            found.push(Boundary {
                property: name.clone(),
                label: format!("is {label}"),
                value: Value::Object(body),
                encoding: if lone {
                    Encoding::LoneSurrogate
                } else {
                    Encoding::Json
                },
            });
        }
    }
    found
}

/// A value of every JSON type that `node` does not allow, with its name.
fn wrong_types(node: &Value) -> Vec<(&'static str, Value)> {
    let allowed: Vec<&str> = match node.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => return Vec::new(),
    };
    let candidates = [
        ("a string", "string", json!("text")),
        ("a number", "number", json!(12.5)),
        ("an integer", "integer", json!(7)),
        ("a boolean", "boolean", json!(true)),
        ("null", "null", Value::Null),
        ("an array", "array", json!([])),
        ("an object", "object", json!({})),
    ];
    candidates
        .into_iter()
        .filter(|(_, kind, _)| {
            !(allowed.contains(kind) || (*kind == "integer" && allowed.contains(&"number")))
        })
        .map(|(name, _, value)| (name, value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec;

    fn password_schema() -> Schema {
        let spec = spec::load(None).unwrap();
        let body = spec.operations[0].request_body.as_ref().unwrap();
        body.schema.clone().unwrap()
    }

    #[test]
    fn valid_bodies_validate() {
        let schema = password_schema();
        let mut generator = Generator::new(7);
        for _ in 0..500 {
            let body = generator
                .valid(&schema)
                .expect("the password schema is satisfiable");
            assert!(body["new_password"].is_string(), "{body}");
        }
    }

    #[test]
    fn same_seed_same_bodies() {
        let schema = password_schema();
        let draw = |seed| {
            let mut generator = Generator::new(seed);
            (0..20)
                .map(|_| generator.valid(&schema))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }

    #[test]
    fn json_mutations_are_invalid_and_labelled() {
        let schema = password_schema();
        let valid = json!({"current_password": "a", "new_password": "b"});
        let found = mutations(&schema, &valid, "application/json");
        let labels: Vec<&str> = found.iter().map(|m| m.label.as_str()).collect();
        for expected in [
            "missing `current_password`",
            "missing `new_password`",
            "`new_password` is null",
            "`current_password` is a number",
            "body is an array",
            "body is a string",
            "truncated JSON",
            "no Content-Type",
        ] {
            assert!(labels.contains(&expected), "{expected} not in {labels:?}");
        }
        for mutation in found.iter().filter(|m| m.encoding == Encoding::Json) {
            if mutation.rule != "content-type" {
                assert!(
                    !schema.is_valid(mutation.value.as_ref().unwrap()),
                    "{}",
                    mutation.label
                );
            }
        }
    }

    #[test]
    fn encodings_break_json() {
        let value = json!({"a": "b"});
        for encoding in [
            Encoding::Truncated,
            Encoding::TrailingGarbage,
            Encoding::InvalidUtf8,
        ] {
            let bytes = encoding.encode(Some(&value));
            assert!(
                serde_json::from_slice::<Value>(&bytes).is_err(),
                "{encoding:?}"
            );
        }
        assert!(Encoding::Empty.encode(Some(&value)).is_empty());
    }

    #[test]
    fn endless_required_recursion_yields_nothing_instead_of_hanging() {
        let definitions = std::sync::Arc::new(json!({
            "Node": {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/components/schemas/Node"}}}
        }));
        let schema =
            Schema::compile(&json!({"$ref": "#/components/schemas/Node"}), &definitions).unwrap();
        assert_eq!(Generator::new(1).valid(&schema), None);
    }

    #[test]
    fn fresh_passwords_differ() {
        let mut generator = Generator::new(1);
        let a = generator.fresh_password();
        let b = generator.fresh_password();
        assert_ne!(a, b);
        assert!(a.starts_with("Sg-"));
    }
}

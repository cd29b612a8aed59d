//! Request bodies from schemas: valid ones drawn with proptest, and invalid ones that each
//! break exactly one named rule.
//!
//! Generation is pure and synchronous: a seeded `Generator` turns a `Schema` (JSON Schema draft
//! 4, converted from OpenAPI 3.0) into values. `strategy_for` covers what a request schema can
//! say: `type` (also as a list, which is how `nullable` arrives), `enum`, string lengths,
//! `pattern` and `format`, numeric bounds with draft 4's boolean `exclusiveMinimum` /
//! `exclusiveMaximum`, `multipleOf`, array bounds and `uniqueItems`, object `properties`,
//! `required`, `additionalProperties` and property counts, `allOf` (parts merged), `oneOf` and
//! `anyOf`, and recursion bounded by depth. What a strategy cannot promise by construction (a
//! `oneOf` value that matches exactly one branch, a pattern proptest cannot generate) is left to
//! the validity re-check: `Generator::valid` and `Generator::body` draw again a bounded number
//! of times and return `None` rather than a value the schema refuses.
//!
//! Every invalid body is checked against the schema before it is returned, so a label never
//! claims a break that is not one. Mutations break top-level properties only; nested values are
//! left as drawn.

use std::fmt;
use std::rc::Rc;

use base64::Engine as _;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
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
/// Lengths and counts are drawn at most this far above their minimum: a `maxLength: 1000000`
/// must not make draws megabytes long.
const MAX_SPAN: usize = 4096;
/// Items (and extra properties) are drawn at most this many above their minimum.
const MAX_ITEMS_SPAN: usize = 10;
/// A minimum length or count above this is not drawn at all: such a schema gets a fallback
/// value, which the re-check drops, rather than a draw that exhausts memory.
const MAX_MINIMUM: usize = 1 << 16;
/// The same for `minItems` and `minProperties`: items are whole values, not characters.
const MAX_MIN_ITEMS: usize = 1024;
/// Draws of a whole value before `valid` and `body` give up on a schema.
const VALID_TRIES: u32 = 32;
/// Draws of one part that must meet a condition its strategy does not guarantee (the length of
/// a formatted string, distinct items, an exclusive bound).
const LOCAL_TRIES: u32 = 16;
/// Pattern repetitions above this count are not generated (`a{100000}`): the value falls back.
const MAX_PATTERN_REPEAT: u64 = 1000;
/// The size of the oversized body: far above any sane request limit, small enough to send.
const OVERSIZED_BYTES: usize = 2 * 1024 * 1024;
/// The seed of the values that mutations need and the valid body lacks.
const MUTATION_SEED: u64 = 0x5eed_0b0d;

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
        let strategy = checked(schema, strategy_for(schema, &schema.json, 0));
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
    /// A fair coin.
    pub fn coin(&mut self) -> bool {
        self.draw(&any::<bool>().boxed()).unwrap_or(false)
    }

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
/// waste shrink steps on a value never sent. A draw the schema refuses is drawn again (a
/// bounded number of times) and shrinking steps past refused values, so that the bodies it
/// yields and the shrunk candidates the runner sends stay valid.
pub fn body_strategy(schema: &Schema, contract: Option<&PasswordContract>) -> BoxedStrategy<Value> {
    let root = schema.resolve(&schema.json);
    let strategy = match contract {
        Some(contract) if root.get("properties").is_some() => {
            object_strategy(schema, root, 0, &[contract.current.as_str()])
        }
        _ => strategy_for(schema, &schema.json, 0),
    };
    checked(schema, strategy)
}

/// `strategy` restricted to values `schema` accepts, as far as a bounded number of draws can.
fn checked(schema: &Schema, strategy: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    let schema = schema.clone();
    retry(strategy, VALID_TRIES, move |value| schema.is_valid(value))
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
    if let Some(Value::Array(parts)) = node.get("allOf") {
        let alone = node.as_object().is_some_and(|object| object.len() == 1);
        match parts.as_slice() {
            [only] if alone => return strategy_for(schema, only, depth),
            [] => {}
            _ => return strategy_for(schema, &merge(schema, &[node]), depth + 1),
        }
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(Value::Array(options)) = node.get(keyword) {
            if !options.is_empty() {
                return branches_strategy(schema, node, keyword, options, depth);
            }
        }
    }
    match node.get("type") {
        Some(Value::String(kind)) => typed_strategy(schema, node, kind, depth),
        // `[T, "null"]` after `nullable` was converted: the declared type, sometimes null.
        Some(Value::Array(kinds)) => {
            let kinds: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
            let declared: Vec<BoxedStrategy<Value>> = kinds
                .iter()
                .filter(|kind| **kind != "null")
                .map(|kind| typed_strategy(schema, node, kind, depth))
                .collect();
            match (declared.is_empty(), kinds.contains(&"null")) {
                (true, _) => Just(Value::Null).boxed(),
                (false, false) => proptest::strategy::Union::new(declared).boxed(),
                (false, true) => {
                    let inner = proptest::strategy::Union::new(declared);
                    prop_oneof![4 => inner, 1 => Just(Value::Null)].boxed()
                }
            }
        }
        _ => typed_strategy(schema, node, inferred_type(node), depth),
    }
}

/// The type a schema without `type` describes, from the keywords it uses: its strategy then
/// draws values its keywords constrain (any value is valid for a schema with none).
fn inferred_type(node: &Value) -> &'static str {
    let has = |keywords: &[&str]| keywords.iter().any(|k| node.get(*k).is_some());
    if has(&[
        "properties",
        "additionalProperties",
        "required",
        "minProperties",
        "maxProperties",
    ]) {
        "object"
    } else if has(&["items", "minItems", "maxItems", "uniqueItems"]) {
        "array"
    } else if has(&["minimum", "maximum", "multipleOf"]) {
        "number"
    } else {
        "string"
    }
}

fn typed_strategy(schema: &Schema, node: &Value, kind: &str, depth: u32) -> BoxedStrategy<Value> {
    match kind {
        "string" => string_strategy(node),
        "integer" => integer_strategy(node),
        "number" => number_strategy(node),
        "boolean" => any::<bool>().prop_map(Value::from).boxed(),
        "null" => Just(Value::Null).boxed(),
        "array" => array_strategy(schema, node, depth),
        _ => object_strategy(schema, node, depth, &[]),
    }
}

/// `oneOf` / `anyOf`: a value of one branch, each branch merged with the keywords beside it
/// (`type: object` with `properties` and a `oneOf` of `required` lists is common). A value of a
/// `oneOf` that also matches another branch is dropped by the re-check. Deep in a recursive
/// schema, branches that refer to other schemas are avoided when another branch does not.
fn branches_strategy(
    schema: &Schema,
    node: &Value,
    keyword: &str,
    options: &[Value],
    depth: u32,
) -> BoxedStrategy<Value> {
    let siblings: Map<String, Value> = node
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(key, _)| key.as_str() != keyword && !is_annotation(key))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut chosen: Vec<&Value> = options.iter().collect();
    if depth >= MAX_DEPTH {
        let flat: Vec<&Value> = chosen
            .iter()
            .copied()
            .filter(|option| !mentions_ref(schema.resolve(option)))
            .collect();
        if !flat.is_empty() {
            chosen = flat;
        }
    }
    let siblings = Value::Object(siblings);
    let strategies: Vec<BoxedStrategy<Value>> = chosen
        .into_iter()
        .map(|option| {
            if siblings.as_object().is_some_and(Map::is_empty) {
                strategy_for(schema, option, depth + 1)
            } else {
                strategy_for(schema, &merge(schema, &[&siblings, option]), depth + 1)
            }
        })
        .collect();
    proptest::strategy::Union::new(strategies).boxed()
}

/// Keywords that say nothing about which values are valid.
fn is_annotation(keyword: &str) -> bool {
    matches!(
        keyword,
        "description"
            | "title"
            | "example"
            | "examples"
            | "default"
            | "discriminator"
            | "externalDocs"
            | "xml"
            | "deprecated"
            | "readOnly"
            | "writeOnly"
    )
}

/// Whether `value` holds a `$ref` anywhere (without following it).
fn mentions_ref(value: &Value) -> bool {
    match value {
        Value::Object(object) => object
            .iter()
            .any(|(key, value)| key == "$ref" || mentions_ref(value)),
        Value::Array(items) => items.iter().any(mentions_ref),
        _ => false,
    }
}

/// `parts` (and every `allOf` part in them, after `$ref`s) folded into one schema: properties
/// and `required` united, the tighter of two bounds kept, types and enums intersected. Where
/// two parts say the same thing in ways that do not fold (two patterns, two `oneOf`s), the
/// first part's word is kept and the re-check judges the value against all of them.
fn merge(schema: &Schema, parts: &[&Value]) -> Value {
    let mut merged = Map::new();
    // Parts folded in all: a part that includes itself (or a wide `allOf` of such parts) is
    // folded a bounded number of times, not without end.
    let mut budget = 256u32;
    for part in parts {
        merge_into(schema, &mut merged, part, &mut budget);
    }
    Value::Object(merged)
}

fn merge_into(schema: &Schema, merged: &mut Map<String, Value>, part: &Value, budget: &mut u32) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let Some(object) = schema.resolve(part).as_object() else {
        return;
    };
    for (key, value) in object {
        match key.as_str() {
            "allOf" => {
                if let Value::Array(parts) = value {
                    for part in parts {
                        merge_into(schema, merged, part, budget);
                    }
                }
            }
            "$ref" | "exclusiveMinimum" | "exclusiveMaximum" => {}
            "properties" => {
                let (Value::Object(properties), Some(target)) = (
                    value,
                    merged
                        .entry("properties")
                        .or_insert_with(|| json!({}))
                        .as_object_mut(),
                ) else {
                    continue;
                };
                for (name, property) in properties {
                    match target.get_mut(name) {
                        Some(existing) => {
                            *existing = json!({"allOf": [existing.take(), property.clone()]});
                        }
                        None => {
                            target.insert(name.clone(), property.clone());
                        }
                    }
                }
            }
            "required" => {
                let target = merged.entry("required").or_insert_with(|| json!([]));
                if let (Value::Array(names), Some(target)) = (value, target.as_array_mut()) {
                    for name in names {
                        if !target.contains(name) {
                            target.push(name.clone());
                        }
                    }
                }
            }
            "type" => {
                let kinds = match merged.get("type") {
                    Some(existing) => intersect_types(existing, value),
                    None => value.clone(),
                };
                merged.insert("type".into(), kinds);
            }
            "enum" => {
                let kept = match (merged.get("enum"), value) {
                    (Some(Value::Array(existing)), Value::Array(new)) => Value::Array(
                        existing
                            .iter()
                            .filter(|item| new.contains(item))
                            .cloned()
                            .collect(),
                    ),
                    _ => value.clone(),
                };
                merged.insert("enum".into(), kept);
            }
            "minimum" => merge_bound(merged, object, "minimum", "exclusiveMinimum", true),
            "maximum" => merge_bound(merged, object, "maximum", "exclusiveMaximum", false),
            "minLength" | "minItems" | "minProperties" => {
                let tighter = match (merged.get(key).and_then(Value::as_u64), value.as_u64()) {
                    (Some(old), Some(new)) => old.max(new),
                    (Some(old), None) => old,
                    (None, new) => new.unwrap_or(0),
                };
                merged.insert(key.clone(), json!(tighter));
            }
            "maxLength" | "maxItems" | "maxProperties" => {
                let tighter = match (merged.get(key).and_then(Value::as_u64), value.as_u64()) {
                    (Some(old), Some(new)) => old.min(new),
                    (Some(old), None) => old,
                    (None, _) => {
                        merged.insert(key.clone(), value.clone());
                        continue;
                    }
                };
                merged.insert(key.clone(), json!(tighter));
            }
            "uniqueItems" => {
                let unique = merged.get(key) == Some(&Value::Bool(true)) || value == &json!(true);
                merged.insert(key.clone(), json!(unique));
            }
            "items" => {
                let items = match merged.remove("items") {
                    Some(existing) => json!({"allOf": [existing, value.clone()]}),
                    None => value.clone(),
                };
                merged.insert("items".into(), items);
            }
            "additionalProperties" => {
                let combined = match (merged.remove(key), value) {
                    (None, value) | (Some(Value::Bool(true)), value) => value.clone(),
                    (Some(existing), Value::Bool(true)) => existing,
                    (Some(Value::Bool(false)), _) | (_, Value::Bool(false)) => json!(false),
                    (Some(existing), value) => json!({"allOf": [existing, value.clone()]}),
                };
                merged.insert(key.clone(), combined);
            }
            "multipleOf" => {
                let combined = match (merged.get(key).and_then(Value::as_u64), value.as_u64()) {
                    (Some(old), Some(new)) if old > 0 && new > 0 => (old / gcd(old, new))
                        .checked_mul(new)
                        .map_or_else(|| json!(old), |lcm| json!(lcm)),
                    _ => merged.get(key).cloned().unwrap_or_else(|| value.clone()),
                };
                merged.insert(key.clone(), combined);
            }
            _ => {
                merged.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The types both `a` and `b` allow (`integer` is a `number`); a list when more than one.
fn intersect_types(a: &Value, b: &Value) -> Value {
    let list = |value: &Value| -> Vec<String> {
        match value {
            Value::String(kind) => vec![kind.clone()],
            Value::Array(kinds) => kinds
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    let (a, b) = (list(a), list(b));
    let mut both: Vec<&str> = Vec::new();
    for kind in &a {
        let narrowed = if b.contains(kind) || (kind == "integer" && b.iter().any(|k| k == "number"))
        {
            kind.as_str()
        } else if kind == "number" && b.iter().any(|k| k == "integer") {
            "integer"
        } else {
            continue;
        };
        if !both.contains(&narrowed) {
            both.push(narrowed);
        }
    }
    match both.as_slice() {
        [only] => json!(only),
        _ => json!(both),
    }
}

/// Keeps the tighter of the bound in `merged` and the one in `part`; at equal bounds, the
/// exclusive one.
fn merge_bound(
    merged: &mut Map<String, Value>,
    part: &Map<String, Value>,
    keyword: &str,
    exclusive_keyword: &str,
    lower: bool,
) {
    let Some(new) = part.get(keyword).filter(|value| value.is_number()) else {
        return;
    };
    let new_exclusive = part.get(exclusive_keyword) == Some(&Value::Bool(true));
    let old = merged.get(keyword).and_then(Value::as_f64);
    let old_exclusive = merged.get(exclusive_keyword) == Some(&Value::Bool(true));
    let new_value = new.as_f64().unwrap_or(0.0);
    let (value, exclusive) = match old {
        Some(old) if old == new_value => (new.clone(), old_exclusive || new_exclusive),
        Some(old) if (old > new_value) == lower => {
            return;
        }
        _ => (new.clone(), new_exclusive),
    };
    merged.insert(keyword.to_string(), value);
    merged.insert(exclusive_keyword.to_string(), json!(exclusive));
}

fn length(node: &Value, keyword: &str) -> Option<usize> {
    node.get(keyword)
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A string within `minLength`..=`maxLength`: matching `pattern` when proptest can generate it,
/// else of the `format` when specgate knows it, else plain. Plain strings are mostly printable
/// ASCII, sometimes any Unicode scalar value; mostly short, sometimes long: passwords meet all
/// of these.
fn string_strategy(node: &Value) -> BoxedStrategy<Value> {
    let min = length(node, "minLength").unwrap_or(0);
    let declared_max = length(node, "maxLength");
    if min > MAX_MINIMUM || declared_max.is_some_and(|max| max < min) {
        // Unsatisfiable, or too long to draw: a value the re-check drops.
        return Just(Value::String(String::new())).boxed();
    }
    let special = node
        .get("pattern")
        .and_then(Value::as_str)
        .and_then(|pattern| pattern_strategy(pattern, declared_max))
        .or_else(|| {
            node.get("format")
                .and_then(Value::as_str)
                .and_then(format_strategy)
        });
    if let Some(special) = special {
        return within_lengths(special, min, declared_max);
    }
    let cap = min.saturating_add(MAX_SPAN);
    let short_max = declared_max
        .unwrap_or(DEFAULT_MAX_LENGTH.max(min))
        .max(min)
        .min(cap);
    let long_max = declared_max
        .unwrap_or(LONG_MAX_LENGTH.max(min))
        .max(min)
        .min(cap);
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

/// `strategy`'s strings whose length (in characters, as JSON Schema counts) is within bounds.
fn within_lengths(
    strategy: BoxedStrategy<Value>,
    min: usize,
    max: Option<usize>,
) -> BoxedStrategy<Value> {
    if min == 0 && max.is_none() {
        return strategy;
    }
    retry(strategy, LOCAL_TRIES, move |value| {
        let count = value.as_str().map_or(0, |text| text.chars().count());
        count >= min && max.is_none_or(|max| count <= max)
    })
}

/// Strings matching `pattern`, from proptest's regex generator; `None` where it cannot
/// generate the pattern (look-around, back-references, anchors inside, huge repetitions).
/// Under a `maxLength`, unbounded repetitions (`*`, `+`, `{n,}`) are capped, at 2, 8 or the
/// `maxLength` (one of these per draw): proptest repeats them up to 32 times and nested ones
/// multiply, so that most strings of `^[a-z]+(-[a-z]+)*$` would be too long for
/// `maxLength: 30`, while a small cap alone could not reach a `minLength`.
fn pattern_strategy(pattern: &str, max_length: Option<usize>) -> Option<BoxedStrategy<Value>> {
    let Some(max_length) = max_length else {
        return regex_strategy(&generable_pattern(pattern, None)?);
    };
    let cap = u64::try_from(max_length.clamp(1, 256)).unwrap_or(256);
    let mut caps = vec![2, 8, cap];
    caps.sort_unstable();
    caps.dedup();
    let strategies: Vec<BoxedStrategy<Value>> = caps
        .into_iter()
        .filter_map(|cap| regex_strategy(&generable_pattern(pattern, Some(cap))?))
        .collect();
    (!strategies.is_empty()).then(|| proptest::strategy::Union::new(strategies).boxed())
}

/// Strings matching `pattern` whole. Parsing a regex is most of the cost of building a
/// strategy, and strategies are built per case from the same few patterns, so the parsed ones
/// are kept (per thread: a strategy is not `Send`), a bounded number of them.
fn regex_strategy(pattern: &str) -> Option<BoxedStrategy<Value>> {
    const KEPT: usize = 256;
    type Parsed = std::collections::HashMap<String, Option<BoxedStrategy<Value>>>;
    thread_local! {
        static PARSED: std::cell::RefCell<Parsed> = std::cell::RefCell::default();
    }
    PARSED.with(|parsed| {
        let mut parsed = parsed.borrow_mut();
        if let Some(strategy) = parsed.get(pattern) {
            return strategy.clone();
        }
        if parsed.len() >= KEPT {
            parsed.clear();
        }
        let strategy = proptest::string::string_regex(pattern)
            .ok()
            .map(|strategy| strategy.prop_map(Value::String).boxed());
        parsed.insert(pattern.to_string(), strategy.clone());
        strategy
    })
}

/// `pattern` (an ECMA 262 regex, matched anywhere in the string) rewritten for proptest's
/// generator, whose strings match it whole: a leading `^` and a trailing `$` go (a string that
/// matches all of the rest matches the pattern anywhere), and `\d` / `\w` become their ASCII
/// classes (ECMA's meaning; the generator's Unicode classes would draw digits of other
/// scripts). With `cap`, `*` and `+` repeat at most `cap` times and `{n,}` at most `n + cap`.
/// `None` for a repetition too large to draw.
fn generable_pattern(pattern: &str, cap: Option<u64>) -> Option<String> {
    let mut body = pattern.strip_prefix('^').unwrap_or(pattern);
    if let Some(rest) = body.strip_suffix('$') {
        let escapes = rest.chars().rev().take_while(|c| *c == '\\').count();
        if escapes % 2 == 0 {
            body = rest;
        }
    }
    let mut out = String::with_capacity(body.len() + 8);
    let mut chars = body.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let escaped = chars.next()?;
                match (escaped, in_class) {
                    ('d', false) => out.push_str("[0-9]"),
                    ('d', true) => out.push_str("0-9"),
                    ('w', false) => out.push_str("[0-9A-Za-z_]"),
                    ('w', true) => out.push_str("0-9A-Za-z_"),
                    (other, _) => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '*' | '+' if !in_class => match cap {
                Some(cap) => out.push_str(&format!("{{{},{cap}}}", u64::from(c == '+'))),
                None => out.push(c),
            },
            '{' if !in_class => {
                let mut inside = String::new();
                while let Some(next) = chars.next_if(|next| *next != '}') {
                    inside.push(next);
                }
                let closed = chars.next_if_eq(&'}').is_some();
                let (low, high) = inside.split_once(',').unwrap_or((&inside, &inside));
                let bounds = (low.trim().parse::<u64>(), high.trim());
                match (closed, bounds) {
                    (true, (Ok(low), high)) => {
                        let high = match (high.parse::<u64>(), cap) {
                            (Ok(high), _) => high,
                            (Err(_), Some(cap)) if high.is_empty() => low.saturating_add(cap),
                            (Err(_), _) if high.is_empty() => low.saturating_add(32),
                            (Err(_), _) => return None,
                        };
                        if high > MAX_PATTERN_REPEAT {
                            return None;
                        }
                        out.push_str(&format!("{{{low},{high}}}"));
                    }
                    // Not a repetition: a literal brace, as ECMA reads it.
                    _ => {
                        out.push_str("\\{");
                        out.push_str(&inside);
                        if closed {
                            out.push_str("\\}");
                        }
                    }
                }
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// Strings of the formats OpenAPI documents use, each valid for the validator's check of that
/// format; `None` for `password`, `binary` and formats specgate does not know (plain strings).
fn format_strategy(format: &str) -> Option<BoxedStrategy<Value>> {
    let text = |strategy: BoxedStrategy<String>| strategy.prop_map(Value::String).boxed();
    match format {
        "email" => regex_strategy(
            "[a-z0-9]{1,12}(\\.[a-z0-9]{1,8})?@[a-z][a-z0-9]{0,9}(-[a-z0-9]{1,6})?\\.[a-z]{2,6}",
        ),
        "uuid" => regex_strategy(
            "[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        ),
        "uri" | "uri-reference" | "url" => regex_strategy(
            "https?://[a-z][a-z0-9]{0,10}(\\.[a-z]{2,6})?(:[1-9][0-9]{1,3})?\
             (/[a-zA-Z0-9._~-]{1,8}){0,3}(\\?[a-z]{1,5}=[a-z0-9]{0,5})?",
        ),
        "hostname" => regex_strategy(
            "[a-z]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,10}[a-z0-9])?){0,3}",
        ),
        "date" => Some(text(date().boxed())),
        "time" => Some(text(time().boxed())),
        "date-time" => Some(text(
            (date(), time())
                .prop_map(|(date, time)| format!("{date}T{time}"))
                .boxed(),
        )),
        "ipv4" => Some(text(
            any::<u32>()
                .prop_map(|bits| std::net::Ipv4Addr::from(bits).to_string())
                .boxed(),
        )),
        // Zero groups are common, so that the compressed `::` forms come up.
        "ipv6" => Some(text(
            proptest::collection::vec(prop_oneof![2 => Just(0u16), 3 => any::<u16>()], 8)
                .prop_map(|groups| {
                    let mut address = [0u16; 8];
                    address.copy_from_slice(&groups);
                    std::net::Ipv6Addr::from(address).to_string()
                })
                .boxed(),
        )),
        "byte" => Some(text(
            proptest::collection::vec(any::<u8>(), 0..=24)
                .prop_map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes))
                .boxed(),
        )),
        "regex" => Some(
            proptest::sample::select(vec!["^[a-z]+$", "[0-9]{2,4}", "a|b", ".*", "^x?$"])
                .prop_map(Value::from)
                .boxed(),
        ),
        _ => None,
    }
}

/// A calendar date (`full-date` of RFC 3339), days clamped to the month's length.
fn date() -> impl Strategy<Value = String> {
    (1970u32..=2099, 1u32..=12, 1u32..=31).prop_map(|(year, month, day)| {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        format!("{year:04}-{month:02}-{:02}", day.min(days))
    })
}

/// A `full-time` of RFC 3339: sometimes with a fraction, with `Z` or an offset.
fn time() -> impl Strategy<Value = String> {
    let fraction = prop_oneof![
        3 => Just(String::new()),
        1 => (0u32..1000).prop_map(|ms| format!(".{ms:03}")),
    ];
    let offset = prop_oneof![
        3 => Just("Z".to_string()),
        1 => (any::<bool>(), 0u32..=23, 0u32..=59).prop_map(|(plus, hours, minutes)| {
            format!("{}{hours:02}:{minutes:02}", if plus { '+' } else { '-' })
        }),
    ];
    (0u32..=23, 0u32..=59, 0u32..=59, fraction, offset).prop_map(
        |(hours, minutes, seconds, fraction, offset)| {
            format!("{hours:02}:{minutes:02}:{seconds:02}{fraction}{offset}")
        },
    )
}

/// The numeric bound `keyword` and whether draft 4's boolean `exclusive_keyword` makes it
/// exclusive; `None` without a finite bound.
fn bound(node: &Value, keyword: &str, exclusive_keyword: &str) -> Option<(f64, bool)> {
    let value = node
        .get(keyword)?
        .as_f64()
        .filter(|value| value.is_finite())?;
    Some((
        value,
        node.get(exclusive_keyword) == Some(&Value::Bool(true)),
    ))
}

/// The least (`lower`) or greatest integer within a bound.
fn integer_bound(node: &Value, keyword: &str, exclusive_keyword: &str, lower: bool) -> Option<i64> {
    let exclusive = node.get(exclusive_keyword) == Some(&Value::Bool(true));
    let step = i64::from(exclusive);
    if let Some(exact) = node.get(keyword)?.as_i64() {
        return Some(if lower {
            exact.saturating_add(step)
        } else {
            exact.saturating_sub(step)
        });
    }
    let (value, _) = bound(node, keyword, exclusive_keyword)?;
    // `as` saturates: a bound beyond i64 becomes i64's own.
    Some(match (lower, exclusive && value.fract() == 0.0) {
        (true, true) => value as i64 + 1,
        (true, false) => value.ceil() as i64,
        (false, true) => value as i64 - 1,
        (false, false) => value.floor() as i64,
    })
}

/// The multipleOf of `node`, when it is a positive finite number.
fn multiple_of(node: &Value) -> Option<f64> {
    node.get("multipleOf")
        .and_then(Value::as_f64)
        .filter(|m| *m > 0.0 && m.is_finite())
}

/// Integers within the bounds (exclusive ones honoured), multiples of `multipleOf`; the bounds
/// themselves now and then, where the schema declares them.
fn integer_strategy(node: &Value) -> BoxedStrategy<Value> {
    let lower = integer_bound(node, "minimum", "exclusiveMinimum", true);
    let upper = integer_bound(node, "maximum", "exclusiveMaximum", false);
    let (lo, hi) = match (lower, upper) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo.saturating_add(2000)),
        (None, Some(hi)) => (hi.saturating_sub(2000), hi),
        (None, None) => (-1000, 1000),
    };
    if lo > hi {
        return Just(Value::from(lo)).boxed();
    }
    let edges = lower.is_some() || upper.is_some();
    match multiple_of(node) {
        Some(multiple) if multiple.fract() == 0.0 && multiple <= (1u64 << 53) as f64 => {
            let multiple = multiple as i128;
            let first = (i128::from(lo) + multiple - 1).div_euclid(multiple);
            let last = i128::from(hi).div_euclid(multiple);
            let (Ok(first), Ok(last)) = (i64::try_from(first), i64::try_from(last)) else {
                return Just(Value::from(lo)).boxed();
            };
            if first > last {
                return Just(Value::from(lo)).boxed();
            }
            with_edges(first, last, edges)
                .prop_map(move |k| {
                    let value = i128::from(k) * multiple;
                    i64::try_from(value).map_or(Value::Null, Value::from)
                })
                .boxed()
        }
        Some(multiple) => retry(
            with_edges(lo, hi, edges).prop_map(Value::from).boxed(),
            LOCAL_TRIES,
            move |value| value.as_f64().is_some_and(|v| is_multiple(v, multiple)),
        ),
        None => with_edges(lo, hi, edges).prop_map(Value::from).boxed(),
    }
}

/// `lo..=hi`, and with `edges` each end on its own now and then.
fn with_edges(lo: i64, hi: i64, edges: bool) -> BoxedStrategy<i64> {
    if edges && lo < hi {
        prop_oneof![6 => lo..=hi, 1 => Just(lo), 1 => Just(hi)].boxed()
    } else {
        (lo..=hi).boxed()
    }
}

/// Numbers within the bounds (exclusive ones honoured), multiples of `multipleOf` as the
/// validator reads them (in decimal: `0.3` is a multiple of `0.1`, `0.30000000000000004` is
/// not); whole numbers now and then.
fn number_strategy(node: &Value) -> BoxedStrategy<Value> {
    let lower = bound(node, "minimum", "exclusiveMinimum");
    let upper = bound(node, "maximum", "exclusiveMaximum");
    let (mut lo, mut hi) = match (lower, upper) {
        (Some((lo, _)), Some((hi, _))) => (lo, hi),
        (Some((lo, _)), None) => (lo, lo + 2000.0),
        (None, Some((hi, _))) => (hi - 2000.0, hi),
        (None, None) => (-1000.0, 1000.0),
    };
    let open_lo = lower.is_some_and(|(_, exclusive)| exclusive);
    let open_hi = upper.is_some_and(|(_, exclusive)| exclusive);
    // Both bounds are finite (`bound` drops others), so the comparisons are total.
    if lo > hi || (lo == hi && (open_lo || open_hi)) {
        return Just(Value::from(lo)).boxed();
    }
    if !(hi - lo).is_finite() {
        // The span overflows only when the bounds have opposite signs: keep to a sane middle.
        (lo, hi) = (lo.max(-1e6), hi.min(1e6));
    }
    let inside = move |value: &Value| {
        value
            .as_f64()
            .is_some_and(|v| (v > lo || (!open_lo && v == lo)) && (v < hi || (!open_hi && v == hi)))
    };
    if let Some(multiple) = multiple_of(node) {
        let (first, last) = ((lo / multiple).ceil(), (hi / multiple).floor());
        let limit = (1u64 << 53) as f64;
        if first > last || first.abs() > limit || last.abs() > limit {
            return Just(Value::from(lo)).boxed();
        }
        let places = decimals(multiple);
        let multiples = (first as i64..=last as i64)
            .prop_map(move |k| number(round_to(k as f64 * multiple, places)))
            .boxed();
        return retry(multiples, LOCAL_TRIES, inside);
    }
    let floats = (lo..=hi).prop_map(Value::from);
    let (whole_lo, whole_hi) = (lo.ceil(), hi.floor());
    let limit = (1u64 << 53) as f64;
    let strategy = if whole_lo <= whole_hi && whole_lo.abs() <= limit && whole_hi.abs() <= limit {
        prop_oneof![
            3 => floats,
            1 => (whole_lo as i64..=whole_hi as i64).prop_map(Value::from),
        ]
        .boxed()
    } else {
        floats.boxed()
    };
    if open_lo || open_hi {
        retry(strategy, LOCAL_TRIES, inside)
    } else {
        strategy
    }
}

/// A JSON number, written as an integer when it is one.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() <= (1u64 << 53) as f64 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

/// How many decimals the shortest text of `value` has (`0.05` has 2).
fn decimals(value: f64) -> usize {
    let text = value.to_string();
    text.split_once('.')
        .map_or(0, |(_, fraction)| fraction.len())
}

fn round_to(value: f64, places: usize) -> f64 {
    format!("{value:.places$}").parse().unwrap_or(value)
}

/// Whether `value / multiple` is a whole number, reading both in decimal as the validator
/// does (so that `0.3` is a multiple of `0.1`).
fn is_multiple(value: f64, multiple: f64) -> bool {
    let parts = |x: f64| -> Option<(i128, u32)> {
        let text = x.abs().to_string();
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let digits = format!("{whole}{fraction}");
        if digits.len() > 30 {
            return None;
        }
        Some((digits.parse().ok()?, u32::try_from(fraction.len()).ok()?))
    };
    let exact = (|| {
        let ((value, value_places), (multiple, multiple_places)) =
            (parts(value)?, parts(multiple)?);
        let shared = value_places.min(multiple_places);
        let value = value.checked_mul(10i128.checked_pow(multiple_places - shared)?)?;
        let multiple = multiple.checked_mul(10i128.checked_pow(value_places - shared)?)?;
        (multiple != 0).then(|| value % multiple == 0)
    })();
    exact.unwrap_or_else(|| (value / multiple).fract() == 0.0)
}

/// Arrays within `minItems`..=`maxItems` (at most a few items above the minimum), of items of
/// `items`; distinct items under `uniqueItems`. Deep in a recursive schema, as few as allowed.
fn array_strategy(schema: &Schema, node: &Value, depth: u32) -> BoxedStrategy<Value> {
    let items = match node.get("items") {
        Some(items @ Value::Object(_)) => items.clone(),
        _ => json!({}),
    };
    let min = length(node, "minItems").unwrap_or(0);
    let declared_max = length(node, "maxItems");
    if min > MAX_MIN_ITEMS || declared_max.is_some_and(|max| max < min) {
        return Just(json!([])).boxed();
    }
    let max = if depth >= MAX_DEPTH {
        min
    } else {
        declared_max
            .unwrap_or(min + 3)
            .max(min)
            .min(min + MAX_ITEMS_SPAN)
    };
    if max == 0 {
        return Just(json!([])).boxed();
    }
    let elements = proptest::collection::vec(strategy_for(schema, &items, depth + 1), min..=max);
    if node.get("uniqueItems") != Some(&Value::Bool(true)) {
        return elements.prop_map(Value::Array).boxed();
    }
    let distinct = elements
        .prop_map(|items| {
            let mut distinct: Vec<Value> = Vec::with_capacity(items.len());
            for item in items {
                if !distinct.contains(&item) {
                    distinct.push(item);
                }
            }
            Value::Array(distinct)
        })
        .boxed();
    retry(distinct, LOCAL_TRIES, move |value| {
        value.as_array().is_some_and(|items| items.len() >= min)
    })
}

/// Objects with every required property, each optional one now and then (none deep in a
/// recursive schema), and extra properties as `additionalProperties` allows: a few of its
/// schema when it is one, now and then a string when it is `true`, none when it is `false` or
/// absent (JSON Schema then allows any, but most API schemas leave it out without meaning to
/// invite unknown properties, and a valid body should be one any reasonable server accepts),
/// and as many as `minProperties` needs. `constant`: required string properties drawn as `""` (filled in later
/// by the runner).
fn object_strategy(
    schema: &Schema,
    node: &Value,
    depth: u32,
    constant: &[&str],
) -> BoxedStrategy<Value> {
    let required = required_names(node);
    let properties = node.get("properties").and_then(Value::as_object);
    let additional = node.get("additionalProperties");
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    let mut declared: Vec<String> = Vec::new();
    for (name, property) in properties.into_iter().flatten() {
        declared.push(name.clone());
        let is_required = required.contains(&name.as_str());
        if !is_required && depth >= MAX_DEPTH {
            continue;
        }
        let value = if constant.contains(&name.as_str()) {
            Just(Value::String(String::new())).boxed()
        } else {
            strategy_for(schema, property, depth + 1)
        };
        let name = name.clone();
        let present = value.prop_map(move |value| Some((name.clone(), value)));
        if is_required {
            fields.push(present.boxed());
        } else {
            fields.push(prop_oneof![Just(None), present].boxed());
        }
    }
    // Required names that `properties` does not describe take `additionalProperties`' schema.
    for name in required {
        if declared.iter().any(|declared| declared == name) {
            continue;
        }
        declared.push(name.to_string());
        let value = match additional {
            Some(extra @ Value::Object(_)) => strategy_for(schema, extra, depth + 1),
            _ => strategy_for(schema, &json!({}), depth + 1),
        };
        let name = name.to_string();
        fields.push(
            value
                .prop_map(move |value| Some((name.clone(), value)))
                .boxed(),
        );
    }
    let min_count = length(node, "minProperties").unwrap_or(0);
    let max_count = length(node, "maxProperties");
    let needed = min_count.saturating_sub(declared.len());
    let extra_schema = match additional {
        Some(Value::Bool(false)) => None,
        Some(extra @ Value::Object(_)) => Some(extra.clone()),
        Some(Value::Bool(true)) => Some(json!({"type": "string"})),
        _ if needed > 0 => Some(json!({"type": "string"})),
        _ => None,
    };
    let strategy = match extra_schema {
        Some(extra) if (depth < MAX_DEPTH || needed > 0) && needed <= MAX_MIN_ITEMS => {
            let entry = (extra_name(), strategy_for(schema, &extra, depth + 1));
            let extras = if needed > 0 {
                proptest::collection::vec(entry, needed..=needed + 2).boxed()
            } else {
                prop_oneof![
                    2 => Just(Vec::new()),
                    1 => proptest::collection::vec(entry, 1..=2),
                ]
                .boxed()
            };
            (fields, extras)
                .prop_map(move |(fields, extras)| {
                    let mut object: Map<String, Value> = fields.into_iter().flatten().collect();
                    for (name, value) in extras {
                        if !declared.contains(&name) {
                            object.entry(name).or_insert(value);
                        }
                    }
                    Value::Object(object)
                })
                .boxed()
        }
        _ => fields
            .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect::<Map<_, _>>()))
            .boxed(),
    };
    if min_count == 0 && max_count.is_none() {
        return strategy;
    }
    retry(strategy, LOCAL_TRIES, move |value| {
        let count = value.as_object().map_or(0, Map::len);
        count >= min_count && max_count.is_none_or(|max| count <= max)
    })
}

/// Names of extra properties: a prefix no API is likely to declare, then a few letters.
fn extra_name() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::char::range('a', 'z'), 1..=8)
        .prop_map(|letters| format!("x_{}", letters.into_iter().collect::<String>()))
}

fn required_names(node: &Value) -> Vec<&str> {
    node.get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A strategy drawn again, `tries` times in all at most, until `accept` holds: a bounded
/// `prop_filter`. Unlike `prop_filter`, it never fails a draw: after the last try it yields
/// what it drew, and the caller's validity re-check decides. Shrinking skips values `accept`
/// refuses, so a shrunk value stays as valid as the first.
fn retry(
    strategy: BoxedStrategy<Value>,
    tries: u32,
    accept: impl Fn(&Value) -> bool + 'static,
) -> BoxedStrategy<Value> {
    Retry {
        inner: strategy,
        tries,
        accept: Rc::new(accept),
    }
    .boxed()
}

type Accept = Rc<dyn Fn(&Value) -> bool>;

struct Retry {
    inner: BoxedStrategy<Value>,
    tries: u32,
    accept: Accept,
}

impl fmt::Debug for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("inner", &self.inner)
            .field("tries", &self.tries)
            .finish_non_exhaustive()
    }
}

impl Strategy for Retry {
    type Tree = RetryTree;
    type Value = Value;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let mut tree = self.inner.new_tree(runner)?;
        for _ in 1..self.tries {
            if (self.accept)(&tree.current()) {
                break;
            }
            tree = self.inner.new_tree(runner)?;
        }
        Ok(RetryTree {
            inner: tree,
            accept: Rc::clone(&self.accept),
        })
    }
}

struct RetryTree {
    inner: Box<dyn ValueTree<Value = Value>>,
    accept: Accept,
}

impl RetryTree {
    /// After a step to a refused value, steps back towards the last accepted one, as
    /// proptest's own filter does (a bounded number of steps).
    fn ensure_accepted(&mut self) {
        for _ in 0..64 {
            if (self.accept)(&self.inner.current()) || !self.inner.complicate() {
                return;
            }
        }
    }
}

impl ValueTree for RetryTree {
    type Value = Value;

    fn current(&self) -> Value {
        self.inner.current()
    }

    fn simplify(&mut self) -> bool {
        if self.inner.simplify() {
            self.ensure_accepted();
            true
        } else {
            false
        }
    }

    fn complicate(&mut self) -> bool {
        if self.inner.complicate() {
            self.ensure_accepted();
            true
        } else {
            false
        }
    }
}

/// An invalid body: what is sent and the one rule it breaks.
#[derive(Clone, Debug, PartialEq)]
pub struct Mutation {
    /// The rule broken, for the report: `required`, `type`, `body-type`, `json-syntax`,
    /// `content-type`, `body-size`, `additionalProperties`, or the JSON Schema keyword a
    /// property's value breaks (`minLength`, `maxLength`, `pattern`, `enum`, `minimum`,
    /// `maximum`, `multipleOf`, `minItems`, `maxItems`, `uniqueItems`).
    pub rule: &'static str,
    /// What was done, for example "missing `new_password`" or "`age` below minimum 18".
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

/// The rules a mutation breaks in one top-level property's value: such a mutation is kept only
/// if the validator finds a violation at that property, so that its label names the cause.
const PROPERTY_RULES: &[&str] = &[
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
];

/// Bodies that break `schema` in one named way each, derived from the valid body `valid`: a
/// required property missing (each, and all at once), each top-level property with each wrong
/// JSON type (null where it is not nullable), each keyword of a top-level property's value
/// broken in turn (lengths, pattern, enum, numeric bounds, multipleOf, array bounds and
/// uniqueness), an undeclared property where `additionalProperties` is `false`, a body of the
/// wrong type; then the body-level breakage that is not about the schema (JSON syntax, an
/// empty body, the Content-Type). JSON mutations that the schema would still accept are
/// dropped. `oversized` makes the one mutation not listed here.
pub fn mutations(schema: &Schema, valid: &Value, media_type: &str) -> Vec<Mutation> {
    let root = effective(schema, &schema.json);
    let node = &root;
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
            for (kind, wrong) in wrong_types(&effective(schema, property)) {
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
        for (name, property) in properties {
            for (rule, label, wrong) in rule_breaks(schema, object, name, property) {
                let mut broken = object.clone();
                broken.insert(name.clone(), wrong);
                found.push(json(rule, label, Value::Object(broken), vec![name.clone()]));
            }
        }
    }
    if let (Some(object), Some(Value::Bool(false))) =
        (valid.as_object(), node.get("additionalProperties"))
    {
        let declared = |name: &str| {
            object.contains_key(name)
                || node
                    .get("properties")
                    .is_some_and(|properties| properties.get(name).is_some())
        };
        let mut extra = "specgate_unexpected".to_string();
        while declared(&extra) {
            extra.push('_');
        }
        let mut broken = object.clone();
        broken.insert(extra.clone(), json!("unexpected"));
        found.push(json(
            "additionalProperties",
            format!("unexpected property `{extra}`"),
            Value::Object(broken),
            vec![extra],
        ));
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
        let Some(value) = mutation.value.as_ref() else {
            return false;
        };
        if schema.is_valid(value) {
            return false;
        }
        match mutation.properties.first() {
            Some(name) if PROPERTY_RULES.contains(&mutation.rule) => {
                let pointer = format!("/{}", name.replace('~', "~0").replace('/', "~1"));
                schema.violations(value).iter().any(|violation| {
                    violation.pointer == pointer
                        || violation.pointer.starts_with(&format!("{pointer}/"))
                })
            }
            _ => true,
        }
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

/// A body far larger than any sane request limit (2 MiB), rule `body-size`: `valid` with one
/// more property holding a long string, or, when `valid` is not an object, an array of `valid`
/// and that string. What it tests is the server's size limit, not the schema: it may well be
/// schema-valid, so it is not checked against the schema, and it is not one of `mutations`
/// (adding it there would add a 2 MiB request per credential to every plan).
pub fn oversized(valid: &Value, media_type: &str) -> Mutation {
    let padding = Value::String("a".repeat(OVERSIZED_BYTES));
    let value = match valid {
        Value::Object(object) => {
            let mut padded = object.clone();
            let mut name = "specgate_padding".to_string();
            while padded.contains_key(&name) {
                name.push('_');
            }
            padded.insert(name, padding);
            Value::Object(padded)
        }
        other => json!([other, padding]),
    };
    Mutation {
        rule: "body-size",
        label: format!("body of {} MiB", OVERSIZED_BYTES / (1024 * 1024)),
        value: Some(value),
        encoding: Encoding::Json,
        content_type: Some(media_type.to_string()),
        properties: Vec::new(),
    }
}

/// `node` after its `$ref`, with its `allOf` parts folded in: the keywords that apply to it.
fn effective(schema: &Schema, node: &Value) -> Value {
    let resolved = schema.resolve(node);
    match resolved.get("allOf") {
        Some(Value::Array(parts)) if !parts.is_empty() => merge(schema, &[resolved]),
        _ => resolved.clone(),
    }
}

/// The types `node` allows: its `type`, or what its keywords imply.
fn declared_kinds(node: &Value) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![inferred_type(node)],
    }
}

/// Values of the top-level property `name` that each break one keyword of its schema, with
/// the keyword and a label. They are built from the property's value in the valid body (or a
/// drawn one when the body leaves it out), so that they keep what else that value got right.
fn rule_breaks(
    schema: &Schema,
    object: &Map<String, Value>,
    name: &str,
    property: &Value,
) -> Vec<(&'static str, String, Value)> {
    let node = effective(schema, property);
    let kinds = declared_kinds(&node);
    let base_cell = std::cell::OnceCell::new();
    let base = || {
        base_cell
            .get_or_init(|| base_value(schema, object, name, property))
            .as_ref()
    };
    let shown = |keyword: &str| node.get(keyword).map(Value::to_string).unwrap_or_default();
    let mut found = Vec::new();
    if let Some(Value::Array(options)) = node.get("enum") {
        if let Some(outside) = outside_enum(&node, &kinds, options) {
            found.push(("enum", format!("`{name}` not in enum"), outside));
        }
    }
    if kinds.contains(&"string") {
        let min = length(&node, "minLength").unwrap_or(0);
        let max = length(&node, "maxLength");
        let text: Option<String> = base().and_then(Value::as_str).map(str::to_string);
        if min > 0 && min <= MAX_MINIMUM {
            let short: String = match &text {
                Some(text) if text.chars().count() >= min => text.chars().take(min - 1).collect(),
                _ => "a".repeat(min - 1),
            };
            found.push((
                "minLength",
                format!("`{name}` shorter than minLength {min}"),
                Value::String(short),
            ));
        }
        if let Some(max) = max.filter(|max| *max <= MAX_MINIMUM) {
            let mut long: String = text.unwrap_or_default().chars().take(max).collect();
            let fill = long.chars().last().unwrap_or('a');
            let missing = max + 1 - long.chars().count();
            long.extend(std::iter::repeat_n(fill, missing));
            found.push((
                "maxLength",
                format!("`{name}` longer than maxLength {max}"),
                Value::String(long),
            ));
        }
        if let Some(pattern) = node.get("pattern").and_then(Value::as_str) {
            if let Some(miss) = pattern_miss(pattern, min, max) {
                let label = if pattern.chars().count() <= 40 {
                    format!("`{name}` does not match pattern {pattern}")
                } else {
                    format!("`{name}` does not match its pattern")
                };
                found.push(("pattern", label, Value::String(miss)));
            }
        }
    }
    if kinds.contains(&"integer") || kinds.contains(&"number") {
        let integer = !kinds.contains(&"number");
        let multiple = multiple_of(&node);
        if let Some((min, exclusive)) = bound(&node, "minimum", "exclusiveMinimum") {
            let shown = shown("minimum");
            if exclusive && (!integer || min.fract() == 0.0) {
                let label = format!("`{name}` equal to exclusive minimum {shown}");
                found.push(("minimum", label, number(min)));
            } else if let Some(below) = beyond(min, multiple, integer, false) {
                let label = format!("`{name}` below minimum {shown}");
                found.push(("minimum", label, number(below)));
            }
        }
        if let Some((max, exclusive)) = bound(&node, "maximum", "exclusiveMaximum") {
            let shown = shown("maximum");
            if exclusive && (!integer || max.fract() == 0.0) {
                let label = format!("`{name}` equal to exclusive maximum {shown}");
                found.push(("maximum", label, number(max)));
            } else if let Some(above) = beyond(max, multiple, integer, true) {
                let label = format!("`{name}` above maximum {shown}");
                found.push(("maximum", label, number(above)));
            }
        }
        if let Some(multiple) = multiple {
            let start = base().and_then(Value::as_f64).unwrap_or(0.0);
            if let Some(off) = off_multiple(&node, start, multiple, integer) {
                let label = format!("`{name}` not a multiple of {}", shown("multipleOf"));
                found.push(("multipleOf", label, number(off)));
            }
        }
    }
    if kinds.contains(&"array") {
        if let Some(items) = base().and_then(Value::as_array) {
            found.extend(array_breaks(schema, object, name, &node, items));
        }
    }
    found
}

/// The property's value in `object`, or else one drawn from its schema that keeps `object`
/// valid (`None` when no draw does).
fn base_value(
    schema: &Schema,
    object: &Map<String, Value>,
    name: &str,
    property: &Value,
) -> Option<Value> {
    if let Some(value) = object.get(name) {
        return Some(value.clone());
    }
    let strategy = strategy_for(schema, property, 1);
    let mut generator = Generator::new(MUTATION_SEED);
    (0..8).find_map(|_| {
        let value = generator.draw(&strategy)?;
        let mut body = object.clone();
        body.insert(name.to_string(), value.clone());
        schema.is_valid(&Value::Object(body)).then_some(value)
    })
}

/// A value of the property's type that its `enum` lacks, within its other bounds where one is
/// easy to find.
fn outside_enum(node: &Value, kinds: &[&str], options: &[Value]) -> Option<Value> {
    let mut candidates: Vec<Value> = Vec::new();
    if kinds.contains(&"string") {
        let min = length(node, "minLength").unwrap_or(0);
        let max = length(node, "maxLength").unwrap_or(usize::MAX);
        let size = min.max(20).min(max);
        for fill in ['z', 'q', 'x', '0'] {
            let mut text = "specgate-not-in-enum".to_string();
            text.truncate(size);
            while text.chars().count() < size {
                text.push(fill);
            }
            candidates.push(json!(text));
            candidates.push(json!(fill.to_string().repeat(size.max(1))));
        }
    }
    if kinds.contains(&"integer") || kinds.contains(&"number") {
        let largest = options.iter().filter_map(Value::as_i64).max().unwrap_or(0);
        let smallest = options.iter().filter_map(Value::as_i64).min().unwrap_or(0);
        candidates.extend([
            json!(largest.saturating_add(1)),
            json!(smallest.saturating_sub(1)),
            json!(0),
            json!(1),
        ]);
        if kinds.contains(&"number") {
            candidates.push(json!(0.5));
        }
    }
    if kinds.contains(&"boolean") {
        candidates.extend([json!(true), json!(false)]);
    }
    let fits = |value: &Value| {
        value.as_f64().is_none_or(|v| {
            bound(node, "minimum", "exclusiveMinimum")
                .is_none_or(|(min, open)| v > min || (!open && v == min))
                && bound(node, "maximum", "exclusiveMaximum")
                    .is_none_or(|(max, open)| v < max || (!open && v == max))
        })
    };
    let outside: Vec<Value> = candidates
        .into_iter()
        .filter(|candidate| !options.contains(candidate))
        .collect();
    outside
        .iter()
        .find(|candidate| fits(candidate))
        .or(outside.first())
        .cloned()
}

/// A string of a length within the bounds that `pattern` does not match, checked with the
/// validator's own regex engine (ECMA 262 semantics); `None` when every candidate matches.
/// Compiling the one-keyword schema here is cheap and happens once per plan, not per request.
fn pattern_miss(pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&json!({"pattern": pattern}))
        .ok()?;
    let size = min.max(1).min(max.unwrap_or(usize::MAX));
    [
        '!',
        ' ',
        '~',
        '0',
        'a',
        'A',
        '_',
        '-',
        '.',
        'é',
        '\u{1F511}',
    ]
    .into_iter()
    .map(|fill| fill.to_string().repeat(size))
    .chain([String::new()])
    .find(|candidate| !validator.is_valid(&Value::String(candidate.clone())))
}

/// The nearest value past a bound (`upward`: above it), a multiple of `multiple` where there
/// is one, so that the value breaks the bound alone.
fn beyond(bound: f64, multiple: Option<f64>, integer: bool, upward: bool) -> Option<f64> {
    let step = |x: f64, by: f64| if upward { x + by } else { x - by };
    let candidate = match multiple {
        Some(multiple) if !integer || multiple.fract() == 0.0 => {
            let places = decimals(multiple);
            let k = if upward {
                (bound / multiple).floor() + 1.0
            } else {
                (bound / multiple).ceil() - 1.0
            };
            let x = round_to(k * multiple, places);
            if (upward && x <= bound) || (!upward && x >= bound) {
                round_to(step(x, multiple), places)
            } else {
                x
            }
        }
        _ if integer => {
            let whole = if upward { bound.ceil() } else { bound.floor() };
            if whole == bound {
                step(bound, 1.0)
            } else {
                whole
            }
        }
        _ => step(bound, 1.0),
    };
    let past = if upward {
        candidate > bound
    } else {
        candidate < bound
    };
    (past && candidate.is_finite()).then_some(candidate)
}

/// A number near `start` that is not a multiple of `multiple`, within the property's bounds
/// where one is; `None` for an integer property whose every value is a multiple (`1`, `0.5`).
fn off_multiple(node: &Value, start: f64, multiple: f64, integer: bool) -> Option<f64> {
    let candidates: Vec<f64> = if integer {
        [1.0, -1.0, 2.0, -2.0, 3.0, -3.0]
            .iter()
            .map(|delta| start.round() + delta)
            .collect()
    } else {
        let places = decimals(multiple) + 2;
        [0.5, -0.5, 0.25, -0.25]
            .iter()
            .map(|fraction| round_to(start + multiple * fraction, places))
            .collect()
    };
    let inside = |v: f64| {
        bound(node, "minimum", "exclusiveMinimum")
            .is_none_or(|(min, open)| v > min || (!open && v == min))
            && bound(node, "maximum", "exclusiveMaximum")
                .is_none_or(|(max, open)| v < max || (!open && v == max))
    };
    let off: Vec<f64> = candidates
        .into_iter()
        .filter(|v| v.is_finite() && !is_multiple(*v, multiple))
        .collect();
    off.iter()
        .copied()
        .find(|v| inside(*v))
        .or(off.first().copied())
}

/// Arrays of the top-level property `name` one item short of `minItems`, one past
/// `maxItems`, and with a repeated item under `uniqueItems`, from its valid `items`.
fn array_breaks(
    schema: &Schema,
    object: &Map<String, Value>,
    name: &str,
    node: &Value,
    items: &[Value],
) -> Vec<(&'static str, String, Value)> {
    let mut found = Vec::new();
    let unique = node.get("uniqueItems") == Some(&Value::Bool(true));
    let max = length(node, "maxItems").filter(|max| *max < 1000);
    if let Some(min) = length(node, "minItems").filter(|min| *min > 0 && *min <= items.len()) {
        found.push((
            "minItems",
            format!(
                "`{name}` has {} item{} (minItems {min})",
                min - 1,
                if min == 2 { "" } else { "s" }
            ),
            Value::Array(items[..min - 1].to_vec()),
        ));
    }
    if let Some(max) = max {
        let want = max + 1;
        let pool = if unique || items.is_empty() {
            item_pool(schema, object, name, node, items, want)
        } else {
            items.to_vec()
        };
        if (unique && pool.len() >= want) || (!unique && !pool.is_empty()) {
            let many: Vec<Value> = pool.iter().cycle().take(want).cloned().collect();
            found.push((
                "maxItems",
                format!("`{name}` has {want} items (maxItems {max})"),
                Value::Array(many),
            ));
        }
    }
    if unique && max.is_none_or(|max| max >= 2) {
        let repeated = match items {
            [] => item_pool(schema, object, name, node, items, 1)
                .first()
                .map(|item| vec![item.clone(), item.clone()]),
            [first, ..] if max.is_none_or(|max| items.len() < max) => {
                let mut repeated = items.to_vec();
                repeated.push(first.clone());
                Some(repeated)
            }
            [first, .., _] => {
                let mut repeated = items.to_vec();
                let last = repeated.len() - 1;
                repeated[last] = first.clone();
                Some(repeated)
            }
            [_] => None,
        };
        if let Some(repeated) = repeated {
            found.push((
                "uniqueItems",
                format!("`{name}` has duplicate items"),
                Value::Array(repeated),
            ));
        }
    }
    found
}

/// Up to `want` distinct items valid for the property's `items`: those of the valid array,
/// then drawn ones that keep the body valid in place of its first item.
fn item_pool(
    schema: &Schema,
    object: &Map<String, Value>,
    name: &str,
    node: &Value,
    items: &[Value],
    want: usize,
) -> Vec<Value> {
    let mut pool: Vec<Value> = Vec::new();
    for item in items {
        if !pool.contains(item) {
            pool.push(item.clone());
        }
    }
    let item_schema = node.get("items").cloned().unwrap_or_else(|| json!({}));
    let strategy = strategy_for(schema, &item_schema, 1);
    let mut generator = Generator::new(MUTATION_SEED);
    for _ in 0..want * 4 + 8 {
        if pool.len() >= want {
            break;
        }
        let Some(item) = generator.draw(&strategy) else {
            continue;
        };
        if pool.contains(&item) {
            continue;
        }
        let mut trial = items.to_vec();
        match trial.first_mut() {
            Some(first) => *first = item.clone(),
            None => trial.push(item.clone()),
        }
        let mut body = object.clone();
        body.insert(name.to_string(), Value::Array(trial));
        if schema.is_valid(&Value::Object(body)) {
            pool.push(item);
        }
    }
    pool
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

    /// A schema over `definitions`, for resolving references in nodes given to `strategy_for`.
    fn schema_over(definitions: Value) -> Schema {
        Schema::compile(&json!({}), &std::sync::Arc::new(definitions)).unwrap()
    }

    #[test]
    fn password_bodies_get_no_undeclared_properties() {
        // The PrivX schema leaves `additionalProperties` out: its bodies must stay as they were
        // (the plan snapshots pin them).
        let schema = password_schema();
        let mut generator = Generator::new(9);
        for _ in 0..200 {
            let body = generator.valid(&schema).unwrap();
            let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["current_password", "new_password"], "{body}");
        }
    }

    #[test]
    fn malformed_schemas_fall_back_without_panicking() {
        let schema = schema_over(json!({
            "Loop": {"allOf": [{"$ref": "#/components/schemas/Loop"}, {"type": "object"}]},
            "Ping": {"$ref": "#/components/schemas/Pong"},
            "Pong": {"$ref": "#/components/schemas/Ping"}
        }));
        let nodes = [
            json!({"type": "string", "minLength": 10, "maxLength": 2}),
            json!({"type": "string", "minLength": 1_000_000_000_000u64}),
            json!({"type": "string", "maxLength": 1_000_000_000_000u64}),
            json!({"type": "string", "pattern": "("}),
            json!({"type": "string", "pattern": "a{99999999}"}),
            json!({"type": "string", "pattern": "(?=x)y", "maxLength": 3}),
            json!({"type": "string", "pattern": "^a$b$"}),
            json!({"type": "string", "format": "date-time", "maxLength": 3}),
            json!({"type": "integer", "minimum": 10, "maximum": 1}),
            json!({"type": "integer", "minimum": 1.5, "maximum": 1.7}),
            json!({"type": "integer", "multipleOf": 0}),
            json!({"type": "integer", "multipleOf": -3}),
            json!({"type": "integer", "multipleOf": 1e20}),
            json!({"type": "integer", "minimum": -9.3e18, "maximum": 9.3e18}),
            json!({"type": "integer", "minimum": 5, "maximum": 5, "exclusiveMaximum": true}),
            json!({"type": "number", "minimum": 5, "maximum": 5, "exclusiveMinimum": true}),
            json!({"type": "number", "minimum": -1.7e308, "maximum": 1.7e308}),
            json!({"type": "number", "minimum": 5, "maximum": 5}),
            json!({"type": "integer", "minimum": 5, "maximum": 5, "multipleOf": 5}),
            json!({"type": "number", "multipleOf": 1e-300, "minimum": 1e300}),
            json!({"type": "number", "multipleOf": "3"}),
            json!({"type": "array", "minItems": 1_000_000}),
            json!({"type": "array", "minItems": 3, "maxItems": 1}),
            json!({"type": "array", "items": [{"type": "string"}]}),
            json!({"type": "array", "items": {"enum": [1]}, "minItems": 2, "uniqueItems": true}),
            json!({"type": "object", "minProperties": 100_000}),
            json!({"type": "object", "required": ["a"], "additionalProperties": false}),
            json!({"type": []}),
            json!({"type": ["null"]}),
            json!({"type": "no-such-type"}),
            json!({"type": 7}),
            json!({"enum": []}),
            json!({"allOf": []}),
            json!({"allOf": [{"type": "string"}, {"type": "integer"}]}),
            json!({"oneOf": []}),
            json!({"anyOf": "nonsense"}),
            json!({"$ref": "#/components/schemas/Loop"}),
            json!({"$ref": "#/components/schemas/Ping"}),
            json!({"$ref": "#/components/schemas/Missing"}),
            json!({"properties": {"a": {"$ref": "#/components/schemas/Loop"}}, "required": ["a"]}),
            json!(true),
            json!(42),
            json!(null),
        ];
        let mut generator = Generator::new(3);
        for node in &nodes {
            let strategy = strategy_for(&schema, node, 0);
            for _ in 0..20 {
                let _ = generator.draw(&strategy);
            }
            let wrapped = json!({"type": "object", "properties": {"p": node}});
            if let Ok(compiled) = Schema::compile(&wrapped, &schema.definitions) {
                let _ = generator.valid(&compiled);
                let _ = mutations(&compiled, &json!({"p": "x"}), "application/json");
                let _ = mutations(&compiled, &json!({}), "application/json");
            }
        }
    }

    #[test]
    fn patterns_are_rewritten_for_the_generator() {
        let cases: [(&str, Option<u64>, Option<&str>); 9] = [
            ("^[A-Z]{3}-\\d{4}$", None, Some("[A-Z]{3,3}-[0-9]{4,4}")),
            ("^price\\$$", None, Some("price\\$")),
            ("price\\$", None, Some("price\\$")),
            ("[\\d-]+", None, Some("[0-9-]+")),
            ("^a+b*$", Some(8), Some("a{1,8}b{0,8}")),
            ("a{2,}", Some(4), Some("a{2,6}")),
            ("a{,3}", None, Some("a\\{,3\\}")),
            ("\\w", None, Some("[0-9A-Za-z_]")),
            ("x{100000}", None, None),
        ];
        for (pattern, cap, expected) in cases {
            assert_eq!(
                generable_pattern(pattern, cap).as_deref(),
                expected,
                "{pattern}"
            );
        }
    }

    #[test]
    fn multiples_are_read_in_decimal() {
        assert!(is_multiple(0.3, 0.1));
        assert!(!is_multiple(0.30000000000000004, 0.1));
        assert!(is_multiple(-6.0, 3.0));
        assert!(!is_multiple(7.0, 2.0));
        assert!(is_multiple(19.99, 0.01));
        assert!(!is_multiple(19.995, 0.01));
    }

    #[test]
    fn all_of_parts_merge_into_one_schema() {
        let schema = schema_over(json!({
            "Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "maxLength": 9}}}
        }));
        let merged = merge(
            &schema,
            &[&json!({"allOf": [
                {"$ref": "#/components/schemas/Base"},
                {"required": ["n"], "properties": {"n": {"type": "integer", "minimum": 1}}},
                {"properties": {"n": {"type": "number", "minimum": 1, "exclusiveMinimum": true}}}
            ]})],
        );
        assert_eq!(merged["type"], "object");
        assert_eq!(merged["required"], json!(["id", "n"]));
        assert_eq!(merged["properties"]["id"]["maxLength"], 9);
        let n = merge(&schema, &[&merged["properties"]["n"]]);
        assert_eq!(n["type"], "integer");
        assert_eq!(n["minimum"], 1);
        assert_eq!(n["exclusiveMinimum"], true);
    }

    #[test]
    fn bounds_are_broken_next_to_the_bound() {
        assert_eq!(beyond(18.0, None, true, false), Some(17.0));
        assert_eq!(beyond(2.5, None, true, false), Some(2.0));
        assert_eq!(beyond(120.0, None, true, true), Some(121.0));
        assert_eq!(beyond(18.0, Some(5.0), true, false), Some(15.0));
        assert_eq!(beyond(20.0, Some(5.0), true, false), Some(15.0));
        assert_eq!(beyond(0.3, Some(0.1), false, false), Some(0.2));
        assert_eq!(beyond(0.7, Some(0.1), false, true), Some(0.8));
    }
}

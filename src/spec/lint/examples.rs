//! Examples and defaults validated against their schemas (`example-invalid`,
//! `default-invalid`, both warnings: JSON Schema allows them, but they are almost always
//! mistakes).
//!
//! The validator works on the tree directly, with OpenAPI 3.0's own semantics: `nullable`,
//! boolean `exclusiveMinimum`, and `required` that does not hold for `readOnly` or
//! `writeOnly` properties (an example does not say whether it is a request or a response).
//! Compiling every schema with `jsonschema` cost more than the rest of the lint together, so
//! only the leaf string keywords (`pattern`, `format`) go through it, each distinct one
//! compiled once. References are followed in the document; one that does not resolve, or a
//! validation that runs past its step budget (deeply nested `oneOf`), counts as valid: this
//! rule never reports a broken schema, the structural rules do.

use std::collections::HashMap;

use jsonschema::{Draft, Validator};
use serde_json::json;

use super::refs::follow;
use super::tree::{join, push_segment, Node, Value};
use super::walk::{diagnostic, ExampleSite};
use super::{Diagnostic, Severity};

/// The first few ways an example is wrong say enough.
const MAX_ERRORS_PER_EXAMPLE: usize = 3;

/// Keyword evaluations allowed per example; past it the example is taken as valid.
const STEP_BUDGET: usize = 100_000;

/// Nesting (schema and instance together) past which a subschema is taken as valid.
const MAX_DEPTH: usize = 64;

pub fn check(root: &Node, sites: &[ExampleSite<'_>], out: &mut Vec<Diagnostic>) {
    let mut validator = Checker {
        root,
        leaves: HashMap::new(),
        steps: 0,
    };
    for site in sites {
        let Some((schema, value, pointer)) = unwrap(root, site) else {
            continue;
        };
        validator.steps = 0;
        let mut errors = Vec::new();
        let mut place = String::new();
        validator.valid(schema, value, &mut place, 0, Some(&mut errors));
        if validator.steps > STEP_BUDGET {
            continue;
        }
        let what = if site.rule == "default-invalid" {
            "default"
        } else {
            "example"
        };
        for (inner, problem) in errors.into_iter().take(MAX_ERRORS_PER_EXAMPLE) {
            let at = value.at_pointer(&inner).map_or(value.at, |node| node.at);
            let place = if inner.is_empty() {
                String::new()
            } else {
                format!(" at `{inner}`")
            };
            out.push(diagnostic(
                Severity::Warning,
                site.rule,
                format!("{pointer}{inner}"),
                at,
                format!("{what} does not match its schema{place}: {problem}"),
            ));
        }
    }
}

/// The schema, the value and the value's pointer: Example objects (maybe referenced) give
/// their `value`.
fn unwrap<'a>(root: &'a Node, site: &ExampleSite<'a>) -> Option<(&'a Node, &'a Node, String)> {
    let schema = root.at_pointer(&site.schema)?;
    if !site.wrapped {
        return Some((schema, site.value, site.pointer.clone()));
    }
    let (example, target) = follow(root, site.value)?;
    let value = example.get("value")?;
    let base = target.unwrap_or_else(|| site.pointer.clone());
    Some((schema, value, join(&base, "value")))
}

struct Checker<'a> {
    root: &'a Node,
    /// `pattern` and `format` validators by keyword and value; `None` when one does not
    /// compile (a bad pattern is not this rule's business).
    leaves: HashMap<(&'static str, String), Option<Validator>>,
    steps: usize,
}

/// Where errors go: `None` when only validity matters (inside `anyOf`, `oneOf`, `not`).
type Errors<'e> = Option<&'e mut Vec<(String, String)>>;

fn push(message: String, place: &str, errors: &mut Errors<'_>) {
    if let Some(errors) = errors.as_deref_mut() {
        errors.push((place.to_string(), message));
    }
}

impl<'a> Checker<'a> {
    /// Whether `instance` (at `place` inside the example) validates against `schema`.
    fn valid(
        &mut self,
        schema: &'a Node,
        instance: &Node,
        place: &mut String,
        depth: usize,
        mut errors: Errors<'_>,
    ) -> bool {
        self.steps += 1;
        if self.steps > STEP_BUDGET || depth > MAX_DEPTH {
            return true;
        }
        let Some((schema, _)) = follow(self.root, schema) else {
            return true;
        };
        if schema.entries().is_none() {
            return true;
        }
        if matches!(instance.value, Value::Null)
            && schema.get("nullable").and_then(Node::as_bool) == Some(true)
        {
            return true;
        }
        let mut ok = true;
        if let Some(name) = schema.get("type").and_then(Node::as_str) {
            if !instance.is_type(name) {
                push(
                    format!("{} is not of type `{name}`", instance.type_name()),
                    place,
                    &mut errors,
                );
                // Every other keyword would only repeat it.
                return false;
            }
        }
        if let Some(values) = schema.get("enum").and_then(Node::as_list) {
            if !values.iter().any(|value| same(value, instance)) {
                ok = false;
                push(
                    "value is not one of the enum values".into(),
                    place,
                    &mut errors,
                );
            }
        }
        for (keyword, subschemas) in [("allOf", 0), ("anyOf", 1), ("oneOf", 2)] {
            let Some(items) = schema.get(keyword).and_then(Node::as_list) else {
                continue;
            };
            match subschemas {
                0 => {
                    for item in items {
                        let inner = errors.as_deref_mut();
                        if !self.valid(item, instance, place, depth + 1, inner) {
                            ok = false;
                        }
                    }
                }
                _ => {
                    let mut matched = 0;
                    for item in items {
                        if self.valid(item, instance, place, depth + 1, None) {
                            matched += 1;
                            if subschemas == 1 {
                                break;
                            }
                        }
                    }
                    let wrong = if subschemas == 1 {
                        matched == 0
                    } else {
                        matched != 1
                    };
                    if wrong {
                        let message = if subschemas == 1 {
                            "value matches none of the `anyOf` schemas".to_string()
                        } else if matched == 0 {
                            "value matches none of the `oneOf` schemas".to_string()
                        } else {
                            "value matches more than one of the `oneOf` schemas".to_string()
                        };
                        ok = false;
                        push(message, place, &mut errors);
                    }
                }
            }
        }
        if let Some(negated) = schema.get("not") {
            if self.valid(negated, instance, place, depth + 1, None) {
                ok = false;
                push("value matches the `not` schema".into(), place, &mut errors);
            }
        }
        match &instance.value {
            Value::Int(_) | Value::Float(_) => {
                for message in numeric(schema, instance) {
                    ok = false;
                    push(message, place, &mut errors);
                }
            }
            Value::Str(text) => {
                let length = text.chars().count();
                if let Some(limit) = count(schema, "maxLength").filter(|&limit| length > limit) {
                    ok = false;
                    push(
                        format!("string is longer than {limit} characters"),
                        place,
                        &mut errors,
                    );
                }
                if let Some(limit) = count(schema, "minLength").filter(|&limit| length < limit) {
                    ok = false;
                    push(
                        format!("string is shorter than {limit} characters"),
                        place,
                        &mut errors,
                    );
                }
                for keyword in ["pattern", "format"] {
                    let Some(rule) = schema.get(keyword).and_then(Node::as_str) else {
                        continue;
                    };
                    if !self.leaf(keyword, rule, text) {
                        let message = if keyword == "pattern" {
                            "string does not match the schema's `pattern`".to_string()
                        } else {
                            format!("string is not a valid `{rule}`")
                        };
                        ok = false;
                        push(message, place, &mut errors);
                    }
                }
            }
            Value::List(items) => {
                if let Some(limit) = count(schema, "maxItems").filter(|&limit| items.len() > limit)
                {
                    ok = false;
                    push(
                        format!("array has more than {limit} items"),
                        place,
                        &mut errors,
                    );
                }
                if let Some(limit) = count(schema, "minItems").filter(|&limit| items.len() < limit)
                {
                    ok = false;
                    push(
                        format!("array has fewer than {limit} items"),
                        place,
                        &mut errors,
                    );
                }
                if schema.get("uniqueItems").and_then(Node::as_bool) == Some(true)
                    && has_duplicates(items)
                {
                    ok = false;
                    push("array items are not unique".into(), place, &mut errors);
                }
                if let Some(item_schema) = schema.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        let length = place.len();
                        place.push('/');
                        place.push_str(&index.to_string());
                        let inner = errors.as_deref_mut();
                        if !self.valid(item_schema, item, place, depth + 1, inner) {
                            ok = false;
                        }
                        place.truncate(length);
                        if errors.is_none() && !ok {
                            return false;
                        }
                    }
                }
            }
            Value::Map(map) => {
                if !self.object(schema, instance, map.entries(), place, depth, &mut errors) {
                    ok = false;
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
        ok
    }

    fn object(
        &mut self,
        schema: &'a Node,
        instance: &Node,
        entries: &[super::tree::Entry],
        place: &mut String,
        depth: usize,
        errors: &mut Errors<'_>,
    ) -> bool {
        let mut ok = true;
        let properties = schema.get("properties");
        if let Some(names) = schema.get("required").and_then(Node::as_list) {
            for name in names.iter().filter_map(Node::as_str) {
                if instance.get(name).is_some() || self.one_way(properties, name) {
                    continue;
                }
                ok = false;
                if let Some(errors) = errors.as_deref_mut() {
                    errors.push((
                        place.clone(),
                        format!("required property `{}` is missing", super::tree::clip(name)),
                    ));
                }
            }
        }
        for (keyword, too_many) in [("maxProperties", true), ("minProperties", false)] {
            if let Some(limit) = count(schema, keyword) {
                let wrong = if too_many {
                    entries.len() > limit
                } else {
                    entries.len() < limit
                };
                if wrong {
                    ok = false;
                    if let Some(errors) = errors.as_deref_mut() {
                        let message = if too_many {
                            format!("object has more than {limit} properties")
                        } else {
                            format!("object has fewer than {limit} properties")
                        };
                        errors.push((place.clone(), message));
                    }
                }
            }
        }
        let additional = schema.get("additionalProperties");
        for entry in entries {
            let declared = properties.and_then(|properties| properties.get(&entry.key));
            let length = place.len();
            push_segment(place, &entry.key);
            let inner = errors.as_deref_mut();
            let entry_ok = match (declared, additional) {
                (Some(subschema), _) => {
                    self.valid(subschema, &entry.value, place, depth + 1, inner)
                }
                (None, Some(extra)) if extra.as_bool() == Some(false) => {
                    if let Some(errors) = inner {
                        errors.push((
                            place.clone(),
                            format!(
                                "property `{}` is not allowed (`additionalProperties: false`)",
                                super::tree::clip(&entry.key)
                            ),
                        ));
                    }
                    false
                }
                (None, Some(extra)) if extra.entries().is_some() => {
                    self.valid(extra, &entry.value, place, depth + 1, inner)
                }
                _ => true,
            };
            place.truncate(length);
            if !entry_ok {
                ok = false;
                if errors.is_none() {
                    return false;
                }
            }
        }
        ok
    }

    /// Whether property `name` is `readOnly` or `writeOnly`, so not required of an example.
    fn one_way(&self, properties: Option<&'a Node>, name: &str) -> bool {
        properties
            .and_then(|properties| properties.get(name))
            .and_then(|property| follow(self.root, property))
            .is_some_and(|(property, _)| {
                ["readOnly", "writeOnly"]
                    .iter()
                    .any(|flag| property.get(flag).and_then(Node::as_bool) == Some(true))
            })
    }

    /// `pattern` or `format` on a string, through a `jsonschema` validator made once per rule.
    fn leaf(&mut self, keyword: &'static str, rule: &str, text: &str) -> bool {
        let validator = self
            .leaves
            .entry((keyword, rule.to_string()))
            .or_insert_with(|| {
                // Draft 2020-12 knows the formats OpenAPI documents use (`uuid`, `date`);
                // `pattern` means the same in every draft.
                jsonschema::options()
                    .with_draft(Draft::Draft202012)
                    .should_validate_formats(true)
                    .should_ignore_unknown_formats(true)
                    .build(&json!({ keyword: rule }))
                    .ok()
            });
        validator
            .as_ref()
            .is_none_or(|validator| validator.is_valid(&json!(text)))
    }
}

/// `minimum`, `maximum` (with 3.0's boolean exclusive flags) and `multipleOf`.
fn numeric(schema: &Node, instance: &Node) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(value) = number(instance) else {
        return problems;
    };
    let flag = |name: &str| schema.get(name).and_then(Node::as_bool) == Some(true);
    if let Some(limit) = schema.get("maximum").and_then(number) {
        if flag("exclusiveMaximum") && value >= limit {
            problems.push(format!("number is not below {limit}"));
        } else if value > limit {
            problems.push(format!("number is above {limit}"));
        }
    }
    if let Some(limit) = schema.get("minimum").and_then(number) {
        if flag("exclusiveMinimum") && value <= limit {
            problems.push(format!("number is not above {limit}"));
        } else if value < limit {
            problems.push(format!("number is below {limit}"));
        }
    }
    if let Some(step) = schema.get("multipleOf").and_then(number) {
        if step > 0.0 {
            let ratio = value / step;
            if ratio.is_finite() && (ratio - ratio.round()).abs() > 1e-9 {
                problems.push(format!("number is not a multiple of {step}"));
            }
        }
    }
    problems
}

fn number(node: &Node) -> Option<f64> {
    match node.value {
        Value::Int(number) => Some(number as f64),
        Value::Float(number) if number.is_finite() => Some(number),
        _ => None,
    }
}

fn count(schema: &Node, keyword: &str) -> Option<usize> {
    match schema.get(keyword)?.value {
        Value::Int(number) => usize::try_from(number).ok(),
        Value::Float(number) if number >= 0.0 && number.fract() == 0.0 => Some(number as usize),
        _ => None,
    }
}

/// JSON equality: numbers by value (`1` equals `1.0`), objects whatever their key order.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            number(a).zip(number(b)).is_some_and(|(x, y)| x == y)
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.entries().len() == y.entries().len()
                && x.entries().iter().all(|entry| {
                    b.get(&entry.key)
                        .is_some_and(|other| same(&entry.value, other))
                })
        }
        _ => false,
    }
}

fn has_duplicates(items: &[Node]) -> bool {
    // Quadratic, but only on arrays in examples, which are short.
    items
        .iter()
        .enumerate()
        .any(|(index, item)| items[index + 1..].iter().any(|other| same(item, other)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems of `value` (YAML) against `schema` (YAML).
    fn problems(schema: &str, value: &str) -> Vec<(String, String)> {
        let root = super::super::yaml::parse(schema).expect("schema YAML");
        let wrapper = super::super::yaml::parse(&format!("v: {value}")).expect("value YAML");
        let instance = wrapper.get("v").expect("the value");
        let mut checker = Checker {
            root: &root,
            leaves: HashMap::new(),
            steps: 0,
        };
        let mut errors = Vec::new();
        checker.valid(&root, instance, &mut String::new(), 0, Some(&mut errors));
        errors
    }

    #[test]
    fn types_nullable_and_enums() {
        assert_eq!(problems("type: integer", "[3]").len(), 1);
        assert_eq!(problems("type: integer", "3.0").len(), 0);
        assert_eq!(problems("{type: integer, nullable: true}", "~").len(), 0);
        assert_eq!(problems("{type: integer}", "~").len(), 1);
        assert_eq!(problems("{type: string, enum: [a, b]}", "c").len(), 1);
        assert_eq!(problems("{enum: [1, {a: [x]}]}", "{a: [x]}").len(), 0);
        assert_eq!(problems("{enum: [1]}", "1.0").len(), 0);
    }

    #[test]
    fn objects_report_the_inner_place() {
        let schema = "type: object\nrequired: [id, name]\nproperties:\n  id: {type: string, readOnly: true}\n  name: {type: string, maxLength: 3}\n  tags: {type: array, items: {type: string}}\nadditionalProperties: false\n";
        let found = problems(schema, "{name: abcd, tags: [x, 1], other: 1}");
        let places: Vec<&str> = found.iter().map(|(place, _)| place.as_str()).collect();
        assert_eq!(places, vec!["/name", "/tags/1", "/other"], "{found:?}");
    }

    #[test]
    fn one_of_counts_matches() {
        let schema = "oneOf: [{type: number}, {type: integer}]\n";
        assert_eq!(problems(schema, "{a: 1}").len(), 1);
        assert_eq!(problems(schema, "2").len(), 1);
        assert_eq!(problems(schema, "2.5").len(), 0);
        assert_eq!(
            problems("anyOf: [{type: string}, {type: integer}]", "2").len(),
            0
        );
        assert_eq!(problems("not: {type: string}", "x").len(), 1);
    }

    #[test]
    fn formats_and_patterns_use_jsonschema() {
        let schema = "properties:\n  id: {type: string, format: uuid}\n  code: {type: string, pattern: '^[A-Z]+$'}\n  bad: {type: string, pattern: '('}\n";
        let found = problems(schema, "{id: nope, code: abc, bad: x}");
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn numbers_use_openapi_3_0_bounds() {
        let schema = "properties:\n  a: {minimum: 1, exclusiveMinimum: true}\n  b: {maximum: 10}\n  c: {multipleOf: 0.5}\n";
        let found = problems(schema, "{a: 1, b: 10, c: 0.75}");
        let places: Vec<&str> = found.iter().map(|(place, _)| place.as_str()).collect();
        assert_eq!(places, vec!["/a", "/c"]);
    }
}

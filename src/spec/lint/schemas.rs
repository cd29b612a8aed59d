//! The hooks of Schema objects: the 3.0 `type` values, `items` on arrays, `readOnly` with
//! `writeOnly`, enum values of the declared type, discriminator mappings, and the examples
//! and defaults `examples.rs` validates later.
//!
//! Schemas are checked where they are written; a `$ref` is never followed here.

use std::collections::HashSet;

use super::model::{Shape, SCHEMA};
use super::tree::{clip, join, join_index, Node, Span, Value};
use super::walk::{describe, ExampleSite, RefSite, Walker};
use super::Severity;

const TYPES: [&str; 6] = ["string", "number", "integer", "boolean", "array", "object"];

pub fn schema<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    let declared = node
        .get("type")
        .and_then(Node::as_str)
        .filter(|name| TYPES.contains(name));
    if declared == Some("array") && node.get("items").is_none() {
        w.error(
            "array-items-missing",
            at,
            "a schema of type `array` needs `items`".into(),
        );
    }
    let flag = |name: &str| node.get(name).and_then(Node::as_bool) == Some(true);
    if flag("readOnly") && flag("writeOnly") {
        let place = node.entry("writeOnly").map_or(at, |entry| entry.key_at);
        w.error_in(
            "read-write-only",
            "writeOnly",
            place,
            "a property cannot be both `readOnly` and `writeOnly`".into(),
        );
    }
    if let Some(values) = node.get("enum").and_then(Node::as_list) {
        if values.is_empty() {
            let place = node.entry("enum").map_or(at, |entry| entry.key_at);
            w.error_in(
                "field-value",
                "enum",
                place,
                "`enum` must list at least one value".into(),
            );
        }
        if let Some(declared) = declared {
            let nullable = flag("nullable");
            let base = w.child("enum");
            for (index, value) in values.iter().enumerate() {
                let fits = value.is_type(declared) || (nullable && value.is_type("null"));
                if !fits {
                    let message = format!(
                        "enum value {} is {}, but the schema's type is `{declared}`",
                        index + 1,
                        describe(value)
                    );
                    w.report_at(
                        Severity::Warning,
                        "enum-type-mismatch",
                        join_index(&base, index),
                        value.at,
                        message,
                    );
                }
            }
        }
    }
    if let Some(names) = node.get("required").and_then(Node::as_list) {
        let place = node.entry("required").map_or(at, |entry| entry.key_at);
        if names.is_empty() {
            w.error_in(
                "field-value",
                "required",
                place,
                "`required` must list at least one property (or be left out)".into(),
            );
        }
        let mut seen = HashSet::new();
        for (index, name) in names.iter().enumerate() {
            if let Some(text) = name.as_str() {
                if !seen.insert(text) {
                    let message = format!("`required` lists `{}` twice", clip(text));
                    let item = join_index(&w.child("required"), index);
                    w.report_at(Severity::Error, "field-value", item, name.at, message);
                }
            }
        }
    }
    for (field, rule) in [
        ("example", "example-invalid"),
        ("default", "default-invalid"),
    ] {
        if let Some(value) = node.get(field) {
            let pointer = w.pointer();
            w.examples.push(ExampleSite {
                pointer: join(&pointer, field),
                schema: pointer,
                value,
                wrapped: false,
                rule,
            });
        }
    }
    // `allOf` and `not` apply their subschemas to the same value, so a cycle through them
    // never ends. `anyOf` and `oneOf` do too, but an alternative can end the recursion, and
    // the common polymorphism pattern (a parent that is `oneOf` its children, each child
    // `allOf` the parent) goes through them: those edges are left out.
    if let Some(items) = node.get("allOf").and_then(Node::as_list) {
        let pointer = w.pointer();
        let base = join(&pointer, "allOf");
        for index in 0..items.len() {
            w.edge(pointer.clone(), join_index(&base, index));
        }
    }
    if node.get("not").is_some() {
        let pointer = w.pointer();
        w.edge(pointer.clone(), join(&pointer, "not"));
    }
}

/// `type` is one of the six OpenAPI 3.0 types, a single string.
pub fn type_field<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    match &node.value {
        Value::Str(name) if TYPES.contains(&name.as_str()) => {}
        Value::Str(name) => {
            let hint = if name == "null" {
                " (OpenAPI 3.0 writes `nullable: true`)"
            } else {
                ""
            };
            let message = format!(
                "`type` is `{}`; OpenAPI 3.0 types are string, number, integer, boolean, \
                 array and object{hint}",
                clip(name)
            );
            w.error("field-value", at, message);
        }
        Value::List(_) => w.error(
            "field-type",
            at,
            "`type` must be one string in OpenAPI 3.0 (a list of types is OpenAPI 3.1)".into(),
        ),
        _ => {
            let message = format!("`type` must be a string, not {}", describe(node));
            w.error("field-type", at, message);
        }
    }
}

/// `additionalProperties` is a boolean or a schema.
pub fn additional_properties<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    match node.value {
        Value::Bool(_) => {}
        Value::Map(_) => w.walk(node, Shape::RefOr(&SCHEMA), at),
        _ => {
            let message = format!(
                "`additionalProperties` must be a boolean or a schema, not {}",
                describe(node)
            );
            w.error("field-type", at, message);
        }
    }
}

/// Discriminator mapping values name schemas, by name or by reference; both must exist.
pub fn discriminator<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    let Some(entries) = node.get("mapping").and_then(Node::entries) else {
        return;
    };
    let base = w.child("mapping");
    for entry in entries {
        let Some(target) = entry.value.as_str() else {
            continue;
        };
        let pointer = join(&base, &entry.key);
        if target.contains('/') || target.contains('#') {
            w.refs.push(RefSite {
                holder: pointer.clone(),
                pointer,
                target,
                at: entry.value.at,
                expected: &SCHEMA,
            });
        } else if w
            .root
            .get("components")
            .and_then(|components| components.get("schemas"))
            .and_then(|schemas| schemas.get(target))
            .is_none()
        {
            let message = format!(
                "discriminator mapping names schema `{}`, which `components.schemas` does not \
                 define",
                clip(target)
            );
            w.report_at(
                Severity::Error,
                "ref-unresolved",
                pointer,
                entry.value.at,
                message,
            );
        }
    }
}

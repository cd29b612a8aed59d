//! OpenAPI 3.0 schemas turned into JSON Schema and compiled once.
//!
//! OpenAPI 3.0 schemas are close to JSON Schema draft 4 (boolean `exclusiveMinimum`, `$ref`
//! that ignores its siblings); the one keyword draft 4 lacks is `nullable`, which becomes a
//! `"null"` member of `type` (and of `enum`). References point into `#/components/schemas/`:
//! the converted component schemas are registered once per spec (`Components`) as a document
//! of their own, and each validator's references are pointed at it, so that a spec with
//! hundreds of operations does not copy and compile its components once per media type.

use std::sync::Arc;

use jsonschema::Draft;
use serde_json::{json, Map, Value};

/// A compiled schema: the JSON Schema (for generation) and its validator (for checks).
#[derive(Clone)]
pub struct Schema {
    /// The converted schema; `$ref`s in it point to `#/components/schemas/NAME`.
    pub json: Value,
    /// The converted `components.schemas`, for following `$ref`s.
    pub definitions: Arc<Value>,
    validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").field("json", &self.json).finish()
    }
}

/// One way an instance breaks a schema. The message never contains the instance's values:
/// they may be passwords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the instance, for example `/details/0/error_code` (empty: the root).
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// How many violations of one instance are kept: the first few say what is wrong.
const MAX_VIOLATIONS: usize = 8;

/// Converts `components.schemas` once per spec.
pub(super) fn definitions(components_schemas: &Value) -> Arc<Value> {
    Arc::new(convert(components_schemas.clone(), true))
}

/// Where validators find the converted component schemas: a name only, never fetched.
const COMPONENTS_URI: &str = "https://specgate.invalid/components.json";
/// The references a validator's schema makes into the components, and what they become.
const LOCAL_PREFIX: &str = "#/components/schemas/";

/// A spec's converted component schemas, registered once for all its validators.
pub struct Components {
    registry: jsonschema::Registry<'static>,
}

impl Components {
    pub fn new(definitions: &Value) -> Result<Components, String> {
        let document = json!({ "components": { "schemas": definitions } });
        let registry = jsonschema::Registry::new()
            .draft(Draft::Draft4)
            .add(COMPONENTS_URI, Draft::Draft4.create_resource(document))
            .and_then(|builder| builder.prepare())
            .map_err(|error| format!("component schemas do not compile: {error}"))?;
        Ok(Components { registry })
    }
}

/// `schema` with its references into the components pointed at the registered document.
/// Values that are data, not schemas (`enum`, `default`, examples, extensions), are left as
/// they are, whatever keys they hold.
fn pointed_at_components(mut schema: Value) -> Value {
    fn walk(value: &mut Value) {
        let object = match value {
            Value::Object(object) => object,
            // `items` as a list, `allOf` and its kin.
            Value::Array(items) => return items.iter_mut().for_each(walk),
            _ => return,
        };
        for (key, child) in object.iter_mut() {
            match key.as_str() {
                "$ref" => {
                    if let Value::String(reference) = child {
                        if reference.starts_with(LOCAL_PREFIX) {
                            reference.insert_str(0, COMPONENTS_URI);
                        }
                    }
                }
                "enum" | "const" | "default" | "example" | "examples" => {}
                extension if extension.starts_with("x-") => {}
                // Maps from names to schemas: a property may be called `enum`.
                "properties" | "patternProperties" | "definitions" | "dependencies" => {
                    if let Value::Object(schemas) = child {
                        schemas.values_mut().for_each(walk);
                    }
                }
                _ => walk(child),
            }
        }
    }
    walk(&mut schema);
    schema
}

impl Schema {
    /// Converts and compiles an OpenAPI schema whose references point into `definitions`.
    /// Compiling many schemas of one spec: `compile_in` with its `Components`.
    pub fn compile(schema: &Value, definitions: &Arc<Value>) -> Result<Schema, String> {
        Schema::compile_in(schema, definitions, &Components::new(definitions)?)
    }

    /// Converts and compiles an OpenAPI schema whose references point into `definitions`,
    /// registered as `components`.
    pub fn compile_in(
        schema: &Value,
        definitions: &Arc<Value>,
        components: &Components,
    ) -> Result<Schema, String> {
        let json = convert(schema.clone(), false);
        let root = pointed_at_components(json.clone());
        let validator = jsonschema::options()
            .with_draft(Draft::Draft4)
            .with_registry(&components.registry)
            .build(&root)
            .map_err(|error| format!("schema does not compile: {}", error.masked()))?;
        Ok(Schema {
            json,
            definitions: Arc::clone(definitions),
            validator: Arc::new(validator),
        })
    }

    pub fn is_valid(&self, instance: &Value) -> bool {
        self.validator.is_valid(instance)
    }

    /// The ways `instance` breaks the schema (at most a few), deepest pointer first within a
    /// location so that the report names the innermost cause.
    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        let mut violations: Vec<Violation> = self
            .validator
            .iter_errors(instance)
            .take(MAX_VIOLATIONS)
            .map(|error| Violation {
                pointer: error.instance_path().as_str().to_string(),
                message: error.masked().to_string(),
            })
            .collect();
        violations.sort_by_key(|violation| std::cmp::Reverse(violation.pointer.len()));
        violations
    }

    /// Follows a `$ref` to `#/components/schemas/NAME`; other schemas are returned as they are.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut current = schema;
        for _ in 0..32 {
            let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
                return current;
            };
            match reference
                .strip_prefix("#/components/schemas/")
                .and_then(|name| self.definitions.get(name))
            {
                Some(target) => current = target,
                None => return current,
            }
        }
        current
    }
}

/// OpenAPI 3.0 schema keywords → draft 4: `nullable: true` adds `"null"` to `type` and `enum`.
/// `is_map` says `value` is a map of schemas (components, properties) rather than a schema.
fn convert(value: Value, is_map: bool) -> Value {
    let Value::Object(object) = value else {
        return value;
    };
    if is_map {
        return Value::Object(
            object
                .into_iter()
                .map(|(name, schema)| (name, convert(schema, false)))
                .collect(),
        );
    }
    let nullable = object.get("nullable") == Some(&Value::Bool(true));
    let mut converted = Map::new();
    for (key, value) in object {
        let value = match key.as_str() {
            "properties" => convert(value, true),
            "items" | "additionalProperties" | "not" => convert(value, false),
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(items) => {
                    Value::Array(items.into_iter().map(|item| convert(item, false)).collect())
                }
                other => other,
            },
            "type" if nullable => match value {
                Value::String(name) => json!([name, "null"]),
                other => other,
            },
            "enum" if nullable => match value {
                Value::Array(mut items) => {
                    if !items.contains(&Value::Null) {
                        items.push(Value::Null);
                    }
                    Value::Array(items)
                }
                other => other,
            },
            _ => value,
        };
        converted.insert(key, value);
    }
    Value::Object(converted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_schema() -> Schema {
        let spec = crate::spec::load(None).expect("embedded spec loads");
        let operation = &spec.operations[0];
        let response = operation.response_for(400).expect("400 is documented");
        response.content[0]
            .schema
            .clone()
            .expect("400 has a schema")
    }

    #[test]
    fn nested_error_missing_code_is_reported_at_its_depth() {
        let schema = error_schema();
        let body = json!({"error_code": "BAD_REQUEST", "details": [
            {"error_code": "BAD_REQUEST"},
            {"error_code": "BAD_REQUEST", "details": [{"error_message": "x"}]}
        ]});
        let violations = schema.violations(&body);
        assert_eq!(violations[0].pointer, "/details/1/details/0");
        assert!(
            violations[0].message.contains("error_code"),
            "{violations:?}"
        );
    }

    #[test]
    fn error_valid_at_twenty_levels() {
        let schema = error_schema();
        let mut body = json!({"error_code": "GENERAL_ERROR"});
        for _ in 0..20 {
            body = json!({"error_code": "INVALID_REQUEST_DATA", "details": [body]});
        }
        assert!(schema.is_valid(&body));
    }

    #[test]
    fn unknown_error_code_deep_is_invalid() {
        let schema = error_schema();
        let body = json!({"error_code": "BAD_REQUEST", "details": [{"details": [{"error_code": "NOPE"}], "error_code": "BAD_REQUEST"}]});
        let violations = schema.violations(&body);
        assert_eq!(violations[0].pointer, "/details/0/details/0/error_code");
        assert!(!violations[0].message.contains("NOPE"), "values are masked");
    }

    #[test]
    fn references_are_pointed_at_the_components_but_data_is_left_alone() {
        let schema = pointed_at_components(json!({
            "properties": {
                "enum": {"$ref": "#/components/schemas/A"},
                "list": {"items": [{"$ref": "#/components/schemas/B"}]}
            },
            "allOf": [{"$ref": "#/components/schemas/C"}],
            "default": {"$ref": "#/components/schemas/D"},
            "x-note": {"$ref": "#/components/schemas/E"}
        }));
        let pointed = |name: &str| format!("{COMPONENTS_URI}#/components/schemas/{name}");
        assert_eq!(schema["properties"]["enum"]["$ref"], pointed("A"));
        assert_eq!(
            schema["properties"]["list"]["items"][0]["$ref"],
            pointed("B")
        );
        assert_eq!(schema["allOf"][0]["$ref"], pointed("C"));
        assert_eq!(schema["default"]["$ref"], "#/components/schemas/D");
        assert_eq!(schema["x-note"]["$ref"], "#/components/schemas/E");
    }

    #[test]
    fn nullable_adds_null() {
        let definitions = definitions(&json!({}));
        let schema = Schema::compile(
            &json!({"type": "string", "nullable": true, "enum": ["a"]}),
            &definitions,
        )
        .unwrap();
        assert!(schema.is_valid(&Value::Null));
        assert!(schema.is_valid(&json!("a")));
        assert!(!schema.is_valid(&json!("b")));
    }
}

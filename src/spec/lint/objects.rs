//! The hooks of the OpenAPI objects other than schemas: what the tables of `model.rs` cannot
//! say about one object by itself (a parameter has `schema` or `content`, a response code is
//! `200`, `2XX` or `default`, a server URL's variables are defined…).
//!
//! Each hook sees one object; rules that need the whole document (references, path
//! parameters, security requirements) are in their own files and run after the walk.

use std::collections::HashMap;

use super::model::{
    Kind, API_KEY_SCHEME, FLOW_URLS, HTTP_SCHEME, OAUTH2_SCHEME, OPEN_ID_CONNECT_SCHEME, PATH_ITEM,
};
use super::paths::template_variables;
use super::tree::{clip, Node, Span};
use super::walk::{ExampleSite, RefSite, Site, Walker};
use super::Severity;

/// The `openapi` version check, before anything else: `Err` when the document is not
/// OpenAPI 3.0 at all, and the other rules would only add noise.
pub fn version(root: &Node) -> Result<Vec<super::Diagnostic>, super::Diagnostic> {
    use super::walk::diagnostic;
    let Some(entry) = root.entry("openapi") else {
        if let Some(swagger) = root.entry("swagger") {
            return Err(diagnostic(
                Severity::Error,
                "version-unsupported",
                "/swagger".into(),
                swagger.key_at,
                "Swagger 2.0 documents are not supported; specgate validates OpenAPI 3.0.x".into(),
            ));
        }
        // `required-field` reports it in the walk.
        return Ok(Vec::new());
    };
    let Some(version) = entry.value.as_str() else {
        // `field-type` reports it in the walk; `openapi: 3.0` unquoted is a number.
        return Ok(Vec::new());
    };
    let patch = version.strip_prefix("3.0.");
    if patch.is_some_and(|patch| !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())) {
        return Ok(Vec::new());
    }
    let found = diagnostic(
        Severity::Error,
        "version-unsupported",
        "/openapi".into(),
        entry.value.at,
        format!(
            "`openapi` is `{}`; specgate validates OpenAPI 3.0.x documents (`3.0.0` to `3.0.4`)",
            clip(version)
        ),
    );
    if version.starts_with("3.0") {
        Ok(vec![found])
    } else {
        Err(found)
    }
}

/// The root: tag names are unique.
pub fn document<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    let Some(tags) = node.get("tags").and_then(Node::as_list) else {
        return;
    };
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for (index, tag) in tags.iter().enumerate() {
        let Some(name) = tag.get("name").and_then(Node::as_str) else {
            continue;
        };
        if let Some(line) = seen.get(name) {
            let message = format!(
                "tag `{}` is declared twice (first at line {line})",
                clip(name)
            );
            let pointer = format!("/tags/{index}");
            w.report_at(Severity::Error, "tag-duplicate", pointer, tag.at, message);
        } else {
            seen.insert(name, tag.at.line);
        }
    }
}

/// Paths: each key is a template starting with `/`, with well-formed `{variables}`, and no
/// two templates are the same but for their variable names.
pub fn paths<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    let Some(entries) = node.entries() else {
        return;
    };
    let mut shapes: HashMap<String, (&str, u32)> = HashMap::new();
    for entry in entries {
        if entry.key.starts_with("x-") {
            continue;
        }
        if !entry.key.starts_with('/') {
            let message = format!("path `{}` must start with `/`", clip(&entry.key));
            w.error_in("path-invalid", &entry.key, entry.key_at, message);
            continue;
        }
        match template_variables(&entry.key) {
            Err(problem) => {
                let message = format!("path `{}`: {problem}", clip(&entry.key));
                w.error_in("path-invalid", &entry.key, entry.key_at, message);
            }
            Ok(_) => {
                let shape = normalised(&entry.key);
                if let Some((first, line)) = shapes.get(&shape) {
                    let message = format!(
                        "path `{}` is the same template as `{}` (line {line}) but for its \
                         variable names",
                        clip(&entry.key),
                        clip(first)
                    );
                    w.error_in("path-equivalent", &entry.key, entry.key_at, message);
                } else {
                    shapes.insert(shape, (&entry.key, entry.key_at.line));
                }
            }
        }
    }
}

/// A template with every variable name erased: `/a/{x}` and `/a/{y}` both give `/a/{}`.
fn normalised(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut inside = false;
    for character in template.chars() {
        match character {
            '{' => {
                inside = true;
                out.push('{');
            }
            '}' => {
                inside = false;
                out.push('}');
            }
            _ if inside => {}
            other => out.push(other),
        }
    }
    out
}

/// A Path Item's `$ref` points at another Path Item.
pub fn path_item<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    if let Some(entry) = node.entry("$ref") {
        if let Some(target) = entry.value.as_str() {
            let holder = w.pointer();
            let pointer = w.child("$ref");
            w.refs.push(RefSite {
                holder,
                pointer,
                target,
                at: entry.value.at,
                expected: &PATH_ITEM,
            });
        }
    }
}

/// Responses: keys are `default`, a code `100`–`599` or a range `1XX`–`5XX`; at least one.
pub fn responses<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    let Some(entries) = node.entries() else {
        return;
    };
    let mut any = false;
    for entry in entries {
        if entry.key.starts_with("x-") {
            continue;
        }
        any = true;
        if !is_response_key(&entry.key) {
            let message = format!(
                "`{}` is not a response key: use a status code (`200`), a range (`2XX`) or \
                 `default`",
                clip(&entry.key)
            );
            w.error_in("response-code-invalid", &entry.key, entry.key_at, message);
        }
    }
    if !any {
        w.error(
            "responses-empty",
            at,
            "an operation must document at least one response".into(),
        );
    }
}

fn is_response_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    key == "default"
        || (bytes.len() == 3
            && (b'1'..=b'5').contains(&bytes[0])
            && ((bytes[1].is_ascii_digit() && bytes[2].is_ascii_digit())
                || (bytes[1] == b'X' && bytes[2] == b'X')))
}

/// A server URL's `{variables}` are defined; a variable's default is one of its `enum`.
pub fn server<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    let variables = node.get("variables");
    if let Some(url) = node.get("url").and_then(Node::as_str) {
        for name in braced(url) {
            if variables
                .and_then(|variables| variables.get(name))
                .is_none()
            {
                let message = format!(
                    "server URL uses `{{{}}}` but `variables` does not define it",
                    clip(name)
                );
                let at = node.get("url").map_or(at, |url| url.at);
                w.error_in("server-variable-undefined", "url", at, message);
            }
        }
    }
    let Some(entries) = variables.and_then(Node::entries) else {
        return;
    };
    for entry in entries {
        let (Some(default), Some(choices)) = (
            entry.value.get("default"),
            entry.value.get("enum").and_then(Node::as_list),
        ) else {
            continue;
        };
        let Some(text) = default.as_str() else {
            continue;
        };
        if !choices.iter().any(|choice| choice.as_str() == Some(text)) {
            let pointer = format!(
                "{}/default",
                super::tree::join(&w.child("variables"), &entry.key)
            );
            let message = format!(
                "the default of server variable `{}` is not one of its `enum` values",
                clip(&entry.key)
            );
            w.report_at(
                Severity::Warning,
                "server-variable-default",
                pointer,
                default.at,
                message,
            );
        }
    }
}

/// The `{names}` in a server URL.
fn braced(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            break;
        };
        names.push(&after[..end]);
        rest = &after[end + 1..];
    }
    names
}

/// Component names are `^[a-zA-Z0-9.\-_]+$`.
pub fn components<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    let Some(sections) = node.entries() else {
        return;
    };
    for section in sections {
        if section.key.starts_with("x-") {
            continue;
        }
        let Some(entries) = section.value.entries() else {
            continue;
        };
        for entry in entries {
            let valid = !entry.key.is_empty()
                && entry
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if !valid {
                let pointer = super::tree::join(&w.child(&section.key), &entry.key);
                let message = format!(
                    "component name `{}` may only use letters, digits, `.`, `-` and `_`",
                    clip(&entry.key)
                );
                w.report_at(
                    Severity::Error,
                    "component-name-invalid",
                    pointer,
                    entry.key_at,
                    message,
                );
            }
        }
    }
}

const LOCATIONS: [&str; 4] = ["query", "header", "path", "cookie"];

/// A parameter: where it is, how it is serialised (`schema` xor one `content` entry), and
/// path parameters are required.
pub fn parameter<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    let location = node.get("in").and_then(Node::as_str);
    if let (Some(place), Some(value)) = (location, node.get("in")) {
        if !LOCATIONS.contains(&place) {
            let message = format!(
                "`in` is `{}`; it must be `query`, `header`, `path` or `cookie`",
                clip(place)
            );
            w.error_in("field-value", "in", value.at, message);
        }
    }
    if location == Some("path") && node.get("required").and_then(Node::as_bool) != Some(true) {
        let name = node.get("name").and_then(Node::as_str).unwrap_or("?");
        let message = format!("path parameter `{}` must have `required: true`", clip(name));
        let place = node.get("required").map_or(at, |required| required.at);
        w.error("path-param-not-required", place, message);
    }
    if let (Some(style), Some(place)) = (node.get("style"), location) {
        let allowed: &[&str] = match place {
            "path" => &["matrix", "label", "simple"],
            "query" => &["form", "spaceDelimited", "pipeDelimited", "deepObject"],
            "header" => &["simple"],
            "cookie" => &["form"],
            _ => &[],
        };
        if let Some(text) = style.as_str() {
            if !allowed.is_empty() && !allowed.contains(&text) {
                let message = format!(
                    "style `{}` is not allowed for a {place} parameter (allowed: {})",
                    clip(text),
                    allowed.join(", ")
                );
                w.error_in("field-value", "style", style.at, message);
            }
        }
    }
    serialisation(w, node, at, "parameter");
}

/// A header: like a parameter without `name` and `in`.
pub fn header<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    if let Some(style) = node.get("style") {
        if style.as_str().is_some_and(|text| text != "simple") {
            w.error_in(
                "field-value",
                "style",
                style.at,
                "a header's style can only be `simple`".into(),
            );
        }
    }
    serialisation(w, node, at, "header");
}

/// What parameters and headers share: `schema` xor `content`, one `content` entry, `example`
/// xor `examples`, and the examples to validate.
fn serialisation<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span, what: &str) {
    let schema = node.get("schema");
    let content = node.get("content");
    match (schema, content) {
        (Some(_), Some(_)) => {
            let message = format!("a {what} has `schema` or `content`, not both");
            w.error("parameter-schema-content", at, message);
        }
        (None, None) => {
            let message = format!("a {what} needs `schema` or `content`");
            w.error("parameter-schema-content", at, message);
        }
        (None, Some(content)) => {
            if content.entries().is_some_and(|entries| entries.len() != 1) {
                let message = format!("a {what}'s `content` must hold exactly one media type");
                let place = node.entry("content").map_or(at, |entry| entry.key_at);
                w.error_in("parameter-schema-content", "content", place, message);
            }
            // These describe how a `schema` is serialised, or exemplify it; with `content`
            // the media type says both (the OpenAPI 3.0 JSON Schema forbids them here).
            for field in ["style", "explode", "allowReserved", "example", "examples"] {
                if let Some(entry) = node.entry(field) {
                    let message = format!("a {what} with `content` cannot have `{field}`");
                    w.error_in("parameter-schema-content", field, entry.key_at, message);
                }
            }
        }
        (Some(_), None) => {}
    }
    examples(w, node, schema.is_some());
}

/// `example` xor `examples`; records both for validation against `schema` when there is one.
fn examples<'a>(w: &mut Walker<'a>, node: &'a Node, has_schema: bool) {
    let example = node.entry("example");
    let examples = node.entry("examples");
    if let (Some(_), Some(second)) = (example, examples) {
        w.error_in(
            "example-and-examples",
            "examples",
            second.key_at,
            "`example` and `examples` are mutually exclusive".into(),
        );
    }
    if !has_schema {
        return;
    }
    let schema = w.child("schema");
    if let Some(entry) = example {
        let pointer = w.child("example");
        w.examples.push(ExampleSite {
            schema: schema.clone(),
            value: &entry.value,
            pointer,
            wrapped: false,
            rule: "example-invalid",
        });
    }
    if let Some(entries) = examples.and_then(|entry| entry.value.entries()) {
        let base = w.child("examples");
        for entry in entries {
            w.examples.push(ExampleSite {
                schema: schema.clone(),
                value: &entry.value,
                pointer: super::tree::join(&base, &entry.key),
                wrapped: true,
                rule: "example-invalid",
            });
        }
    }
}

/// A media type: `example` xor `examples`, validated against the schema unless the media type
/// is XML (an XML example is text, not the JSON instance the schema describes).
pub fn media_type<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    let name = w.key_above(0).unwrap_or("").to_ascii_lowercase();
    let validates = node.get("schema").is_some() && !name.contains("xml");
    examples(w, node, validates);
}

/// A request body has content.
pub fn request_body<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    match node.entry("content") {
        None => w.error(
            "request-body-empty",
            at,
            "a request body needs `content` with at least one media type".into(),
        ),
        Some(entry) if entry.value.entries().is_some_and(<[_]>::is_empty) => w.error_in(
            "request-body-empty",
            "content",
            entry.key_at,
            "a request body's `content` needs at least one media type".into(),
        ),
        Some(_) => {}
    }
}

/// An Example has `value` or `externalValue`, not both.
pub fn example<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    if let (Some(_), Some(external)) = (node.entry("value"), node.entry("externalValue")) {
        w.error_in(
            "example-value-and-external",
            "externalValue",
            external.key_at,
            "`value` and `externalValue` are mutually exclusive".into(),
        );
    }
}

/// A link names its operation by `operationRef` or `operationId`, exactly one.
pub fn link<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    match (node.entry("operationRef"), node.entry("operationId")) {
        (Some(_), Some(id)) => w.error_in(
            "link-operation",
            "operationId",
            id.key_at,
            "a link has `operationRef` or `operationId`, not both".into(),
        ),
        (None, None) => w.error(
            "link-operation",
            at,
            "a link needs `operationRef` or `operationId`".into(),
        ),
        (None, Some(id)) => {
            if id.value.as_str().is_some() {
                let pointer = w.child("operationId");
                w.links.push(Site {
                    node: &id.value,
                    pointer,
                });
            }
        }
        (Some(_), None) => {}
    }
}

/// The kind a security scheme's `type` selects.
pub fn scheme_kind(node: &Node) -> Option<&'static Kind> {
    match node.get("type")?.as_str()? {
        "apiKey" => Some(&API_KEY_SCHEME),
        "http" => Some(&HTTP_SCHEME),
        "oauth2" => Some(&OAUTH2_SCHEME),
        "openIdConnect" => Some(&OPEN_ID_CONNECT_SCHEME),
        _ => None,
    }
}

/// A security scheme whose `type` selected no kind: the type is wrong.
pub fn security_scheme<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    if let Some(kind) = node.get("type") {
        if let Some(text) = kind.as_str() {
            let message = format!(
                "security scheme type `{}` is not `apiKey`, `http`, `oauth2` or `openIdConnect`",
                clip(text)
            );
            w.error_in("field-value", "type", kind.at, message);
        }
    }
}

/// An apiKey goes in a query parameter, a header or a cookie.
pub fn api_key_scheme<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    if let Some(place) = node.get("in") {
        if let Some(text) = place.as_str() {
            if !["query", "header", "cookie"].contains(&text) {
                let message = format!(
                    "an apiKey is `in` `query`, `header` or `cookie`, not `{}`",
                    clip(text)
                );
                w.error_in("field-value", "in", place.at, message);
            }
        }
    }
}

/// An OAuth flow has the URLs its type needs.
pub fn oauth_flow<'a>(w: &mut Walker<'a>, node: &'a Node, at: Span) {
    let Some(flow) = w.key_above(0) else {
        return;
    };
    let Some((_, urls)) = FLOW_URLS.iter().find(|(name, _)| *name == flow) else {
        return;
    };
    for url in *urls {
        if node.get(url).is_none() {
            let message = format!("the `{flow}` OAuth flow needs `{url}`");
            w.error("oauth-flow-url-missing", at, message);
        }
    }
}

/// Security requirements are checked against the schemes once the walk is done.
pub fn security_requirement<'a>(w: &mut Walker<'a>, node: &'a Node, _at: Span) {
    let pointer = w.pointer();
    w.requirements.push(Site { node, pointer });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_keys() {
        for key in ["200", "404", "2XX", "5XX", "default", "100", "599"] {
            assert!(is_response_key(key), "{key}");
        }
        for key in ["2xx", "600", "20", "2000", "Default", "099", "6XX", "2X0"] {
            assert!(!is_response_key(key), "{key}");
        }
    }

    #[test]
    fn templates_normalise() {
        assert_eq!(normalised("/a/{x}/b/{y}"), "/a/{}/b/{}");
        assert_eq!(normalised("/a/{x}.json"), "/a/{}.json");
    }

    #[test]
    fn server_variables_are_found() {
        assert_eq!(braced("https://{host}:{port}/v1"), vec!["host", "port"]);
        assert!(braced("https://example.com/{").is_empty());
    }
}

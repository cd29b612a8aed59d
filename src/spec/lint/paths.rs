//! Rules over paths and operations as a whole: template variables and path parameters match
//! both ways, parameters are not declared twice, operationIds are unique, and links name
//! operations that exist.
//!
//! Runs after the walk, following local `$ref`s to parameters and path items. Path keys
//! themselves (`path-invalid`, `path-equivalent`) are checked by `objects::paths`.

use std::collections::HashMap;

use super::model::METHODS;
use super::refs::follow;
use super::tree::{clip, join, join_index, Node, Span};
use super::walk::{anchor, diagnostic, Site};
use super::{Diagnostic, Severity};

/// The variables of a path template, in order; `Err` says what is malformed.
pub fn template_variables(path: &str) -> Result<Vec<&str>, String> {
    let mut variables: Vec<&str> = Vec::new();
    let mut start = None;
    for (index, character) in path.char_indices() {
        match (character, start) {
            ('{', None) => start = Some(index + 1),
            ('{', Some(_)) => return Err("`{` inside a template variable".into()),
            ('}', None) => return Err("`}` without a matching `{`".into()),
            ('}', Some(from)) => {
                let name = &path[from..index];
                if name.is_empty() {
                    return Err("an empty template variable `{}`".into());
                }
                if variables.contains(&name) {
                    return Err(format!("variable `{{{}}}` appears twice", clip(name)));
                }
                variables.push(name);
                start = None;
            }
            _ => {}
        }
    }
    if start.is_some() {
        return Err("a `{` is never closed".into());
    }
    Ok(variables)
}

/// A parameter as an operation sees it, with where it is written.
struct Param<'a> {
    name: &'a str,
    location: &'a str,
    pointer: String,
    at: Span,
}

impl Param<'_> {
    fn same(&self, other: &Param<'_>) -> bool {
        self.location == other.location
            && if self.location == "header" {
                // HTTP header names are case-insensitive.
                self.name.eq_ignore_ascii_case(other.name)
            } else {
                self.name == other.name
            }
    }
}

pub fn check(root: &Node, links: &[Site<'_>], out: &mut Vec<Diagnostic>) {
    let mut ids: HashMap<&str, (String, u32)> = HashMap::new();
    if let Some(entries) = root.get("paths").and_then(Node::entries) {
        for entry in entries {
            if !entry.key.starts_with('/') {
                continue;
            }
            let Ok(variables) = template_variables(&entry.key) else {
                continue;
            };
            let written = join("/paths", &entry.key);
            let Some((item, target)) = follow(root, &entry.value) else {
                continue;
            };
            let base = target.unwrap_or(written);
            path_item(root, &entry.key, &variables, item, &base, out);
            operation_ids(root, item, &base, &mut ids, out, 0);
        }
    }
    for link in links {
        let Some(id) = link.node.as_str() else {
            continue;
        };
        if !ids.contains_key(id) {
            let message = format!(
                "link names operationId `{}`, which no operation has",
                clip(id)
            );
            out.push(diagnostic(
                Severity::Error,
                "link-operation-unknown",
                link.pointer.clone(),
                link.node.at,
                message,
            ));
        }
    }
}

fn path_item(
    root: &Node,
    template: &str,
    variables: &[&str],
    item: &Node,
    base: &str,
    out: &mut Vec<Diagnostic>,
) {
    let shared = parameters(root, item, base, out);
    for param in shared.iter().filter(|param| param.location == "path") {
        if !variables.contains(&param.name) {
            out.push(undeclared(param, template));
        }
    }
    for method in METHODS {
        let Some(entry) = item.entry(method) else {
            continue;
        };
        let operation = &entry.value;
        let pointer = join(base, method);
        let own = parameters(root, operation, &pointer, out);
        for param in own.iter().filter(|param| param.location == "path") {
            if !variables.contains(&param.name) {
                out.push(undeclared(param, template));
            }
        }
        for variable in variables {
            let declared = own
                .iter()
                .chain(shared.iter())
                .any(|param| param.location == "path" && param.name == *variable);
            if !declared {
                let message = format!(
                    "`{} {}`: path variable `{{{}}}` has no `in: path` parameter",
                    method.to_uppercase(),
                    clip(template),
                    clip(variable)
                );
                out.push(diagnostic(
                    Severity::Error,
                    "path-param-missing",
                    pointer.clone(),
                    anchor(operation, entry.key_at),
                    message,
                ));
            }
        }
    }
}

fn undeclared(param: &Param<'_>, template: &str) -> Diagnostic {
    let message = format!(
        "path parameter `{}` is not a variable of the path `{}`",
        clip(param.name),
        clip(template)
    );
    diagnostic(
        Severity::Error,
        "path-param-undeclared",
        param.pointer.clone(),
        param.at,
        message,
    )
}

/// The parameters a Path Item or Operation declares (references followed), reporting any
/// declared twice.
fn parameters<'a>(
    root: &'a Node,
    holder: &'a Node,
    pointer: &str,
    out: &mut Vec<Diagnostic>,
) -> Vec<Param<'a>> {
    let mut found: Vec<Param<'a>> = Vec::new();
    let Some(items) = holder.get("parameters").and_then(Node::as_list) else {
        return found;
    };
    let base = join(pointer, "parameters");
    for (index, item) in items.iter().enumerate() {
        let Some((param, _)) = follow(root, item) else {
            continue;
        };
        let (Some(name), Some(location)) = (
            param.get("name").and_then(Node::as_str),
            param.get("in").and_then(Node::as_str),
        ) else {
            continue;
        };
        let param = Param {
            name,
            location,
            pointer: join_index(&base, index),
            at: item.at,
        };
        if let Some(first) = found.iter().find(|other| other.same(&param)) {
            let message = format!(
                "parameter `{}` in {} is declared twice in this list (first at line {})",
                clip(name),
                clip(location),
                first.at.line
            );
            out.push(diagnostic(
                Severity::Error,
                "parameter-duplicate",
                param.pointer.clone(),
                param.at,
                message,
            ));
            continue;
        }
        found.push(param);
    }
    found
}

/// Collects operationIds, reporting repeats; callbacks' operations count too.
fn operation_ids<'a>(
    root: &'a Node,
    item: &'a Node,
    base: &str,
    ids: &mut HashMap<&'a str, (String, u32)>,
    out: &mut Vec<Diagnostic>,
    depth: usize,
) {
    // Callbacks may reference path items that hold callbacks: stop somewhere.
    if depth > 8 {
        return;
    }
    for method in METHODS {
        let Some(operation) = item.get(method) else {
            continue;
        };
        let pointer = join(base, method);
        if let Some(id_node) = operation.get("operationId") {
            if let Some(id) = id_node.as_str() {
                if let Some((first, line)) = ids.get(id) {
                    let message = format!(
                        "operationId `{}` is also used by `{}` (line {line})",
                        clip(id),
                        clip(first)
                    );
                    out.push(diagnostic(
                        Severity::Error,
                        "operation-id-duplicate",
                        join(&pointer, "operationId"),
                        id_node.at,
                        message,
                    ));
                } else {
                    ids.insert(id, (pointer.clone(), id_node.at.line));
                }
            }
        }
        let Some(callbacks) = operation.get("callbacks").and_then(Node::entries) else {
            continue;
        };
        for callback in callbacks {
            let Some((callback_node, target)) = follow(root, &callback.value) else {
                continue;
            };
            let callback_base =
                target.unwrap_or_else(|| join(&join(&pointer, "callbacks"), &callback.key));
            for expression in callback_node.entries().unwrap_or_default() {
                if expression.key.starts_with("x-") {
                    continue;
                }
                let Some((path_item, target)) = follow(root, &expression.value) else {
                    continue;
                };
                let item_base = target.unwrap_or_else(|| join(&callback_base, &expression.key));
                operation_ids(root, path_item, &item_base, ids, out, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(template_variables("/a/{x}/b/{y}"), Ok(vec!["x", "y"]));
        assert_eq!(template_variables("/a/{x}.{ext}"), Ok(vec!["x", "ext"]));
        assert_eq!(template_variables("/"), Ok(vec![]));
        assert!(template_variables("/a/{x").is_err());
        assert!(template_variables("/a/x}").is_err());
        assert!(template_variables("/a/{}").is_err());
        assert!(template_variables("/a/{{x}}").is_err());
        assert!(template_variables("/a/{x}/{x}").is_err());
    }
}

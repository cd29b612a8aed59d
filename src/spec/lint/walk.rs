//! The structural walk: one pass over the tree guided by the tables of `model.rs`.
//!
//! It reports required fields, field types and unknown fields, runs each object's hook, and
//! records what the semantic rules need afterwards: every `$ref` with the kind expected
//! there, the edges between schemas that add no structure, the examples and defaults with
//! their schemas, security requirements and links. It never follows a `$ref` itself; the
//! rules in `refs.rs`, `paths.rs`, `security.rs` and `examples.rs` do.

use super::model::{Kind, Shape};
use super::tree::{clip, push_segment, Node, Span, Value};
use super::{Diagnostic, Severity};

/// Longest message kept: a message names things, it never quotes a whole value.
const MAX_MESSAGE: usize = 300;

/// One step of the JSON pointer to the node being walked.
#[derive(Clone, Copy, Debug)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A `$ref` and what the document expects to find at its target.
#[derive(Debug)]
pub struct RefSite<'a> {
    /// The Reference Object (the mapping holding `$ref`): the node the reference replaces.
    pub holder: String,
    /// The `$ref` value itself, for diagnostics.
    pub pointer: String,
    pub target: &'a str,
    /// The `$ref` value.
    pub at: Span,
    pub expected: &'static Kind,
}

/// An example or default and the schema it should validate against.
#[derive(Debug)]
pub struct ExampleSite<'a> {
    /// The schema (its pointer in the document).
    pub schema: String,
    /// The example: a value, or an Example object or a reference to one when `wrapped`.
    pub value: &'a Node,
    pub pointer: String,
    pub wrapped: bool,
    pub rule: &'static str,
}

/// A node the semantic rules revisit, with its pointer.
#[derive(Debug)]
pub struct Site<'a> {
    pub node: &'a Node,
    pub pointer: String,
}

pub struct Walker<'a> {
    pub root: &'a Node,
    path: Vec<Seg<'a>>,
    pub found: Vec<Diagnostic>,
    pub refs: Vec<RefSite<'a>>,
    /// Schema → subschema edges that add no structure (`allOf`, `not`).
    pub edges: Vec<(String, String)>,
    pub examples: Vec<ExampleSite<'a>>,
    pub requirements: Vec<Site<'a>>,
    /// Links naming an operation by `operationId`.
    pub links: Vec<Site<'a>>,
}

impl<'a> Walker<'a> {
    pub fn new(root: &'a Node) -> Walker<'a> {
        Walker {
            root,
            path: Vec::new(),
            found: Vec::new(),
            refs: Vec::new(),
            edges: Vec::new(),
            examples: Vec::new(),
            requirements: Vec::new(),
            links: Vec::new(),
        }
    }

    /// The JSON pointer of the node being walked.
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                Seg::Key(key) => push_segment(&mut out, key),
                Seg::Index(index) => {
                    out.push('/');
                    out.push_str(&index.to_string());
                }
            }
        }
        out
    }

    /// The pointer of the node's child `key`.
    pub fn child(&self, key: &str) -> String {
        let mut out = self.pointer();
        push_segment(&mut out, key);
        out
    }

    /// The key `back` steps up the path (0: the node's own key).
    pub fn key_above(&self, back: usize) -> Option<&'a str> {
        match self.path.len().checked_sub(back + 1).map(|i| self.path[i]) {
            Some(Seg::Key(key)) => Some(key),
            _ => None,
        }
    }

    pub fn report_at(
        &mut self,
        severity: Severity,
        rule: &'static str,
        pointer: String,
        at: Span,
        message: String,
    ) {
        self.found
            .push(diagnostic(severity, rule, pointer, at, message));
    }

    /// An error about the node being walked.
    pub fn error(&mut self, rule: &'static str, at: Span, message: String) {
        let pointer = self.pointer();
        self.report_at(Severity::Error, rule, pointer, at, message);
    }

    /// An error about the child `key` of the node being walked.
    pub fn error_in(&mut self, rule: &'static str, key: &str, at: Span, message: String) {
        let pointer = self.child(key);
        self.report_at(Severity::Error, rule, pointer, at, message);
    }

    /// Walks `node`, reached under `key`, with the path extended.
    pub fn descend(&mut self, key: &'a str, node: &'a Node, shape: Shape, at: Span) {
        self.path.push(Seg::Key(key));
        self.walk(node, shape, at);
        self.path.pop();
    }

    /// Walks the node at `pointer` (already known to exist) as `shape`.
    pub fn walk_pointer(&mut self, pointer: &str, shape: Shape) {
        let saved = std::mem::take(&mut self.path);
        let mut current = self.root;
        let mut complete = true;
        for raw in pointer.split('/').skip(1) {
            let segment = super::tree::unescape(raw);
            match &current.value {
                Value::Map(map) => match map.get(&segment) {
                    Some(entry) => {
                        self.path.push(Seg::Key(&entry.key));
                        current = &entry.value;
                    }
                    None => complete = false,
                },
                Value::List(items) => match segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i).map(|item| (i, item)))
                {
                    Some((index, item)) => {
                        self.path.push(Seg::Index(index));
                        current = item;
                    }
                    None => complete = false,
                },
                _ => complete = false,
            }
            if !complete {
                break;
            }
        }
        if complete {
            let at = current.at;
            self.walk(current, shape, at);
        }
        self.path = saved;
    }

    /// Checks `node` against `shape`; `at` is where to report about the node as a whole.
    pub fn walk(&mut self, node: &'a Node, shape: Shape, at: Span) {
        match shape {
            Shape::Any => {}
            Shape::Str => self.expect(node, "string", at),
            Shape::Bool => self.expect(node, "boolean", at),
            Shape::Number => self.expect(node, "number", at),
            Shape::Count => {
                let ok = match node.value {
                    Value::Int(number) => number >= 0,
                    Value::Float(number) => number >= 0.0 && number.fract() == 0.0,
                    _ => false,
                };
                if !ok {
                    let message = format!(
                        "`{}` must be a non-negative integer, not {}",
                        self.label(),
                        describe(node)
                    );
                    self.error("field-type", at, message);
                }
            }
            Shape::Positive => {
                let ok = match node.value {
                    Value::Int(number) => number > 0,
                    Value::Float(number) => number > 0.0,
                    _ => false,
                };
                if !ok {
                    let message = format!(
                        "`{}` must be a number greater than 0, not {}",
                        self.label(),
                        describe(node)
                    );
                    self.error("field-type", at, message);
                }
            }
            Shape::Obj(kind) => self.object(node, kind, at),
            Shape::RefOr(kind) => self.ref_or(node, kind, at),
            Shape::Map(elem) => {
                let Some(entries) = node.entries() else {
                    self.expect(node, "object", at);
                    return;
                };
                for entry in entries {
                    let at = anchor(&entry.value, entry.key_at);
                    self.descend(&entry.key, &entry.value, elem.shape(), at);
                }
            }
            Shape::List(elem) => {
                let Some(items) = node.as_list() else {
                    self.expect(node, "array", at);
                    return;
                };
                for (index, item) in items.iter().enumerate() {
                    self.path.push(Seg::Index(index));
                    self.walk(item, elem.shape(), item.at);
                    self.path.pop();
                }
            }
            Shape::Custom(hook) => hook(self, node, at),
        }
    }

    /// A Reference Object, or the object itself.
    fn ref_or(&mut self, node: &'a Node, kind: &'static Kind, at: Span) {
        if let Some(entry) = node.entry("$ref") {
            match entry.value.as_str() {
                Some(target) => {
                    let holder = self.pointer();
                    let pointer = self.child("$ref");
                    self.refs.push(RefSite {
                        holder,
                        pointer,
                        target,
                        at: entry.value.at,
                        expected: kind,
                    });
                }
                None => {
                    let message =
                        format!("`$ref` must be a string, not {}", describe(&entry.value));
                    self.error_in("field-type", "$ref", entry.value.at, message);
                }
            }
            // OpenAPI 3.0 ignores a Reference Object's other fields: nothing else to check.
            return;
        }
        self.object(node, kind, at);
    }

    /// An object of `kind`: its fields, what it requires, then its hook.
    pub fn object(&mut self, node: &'a Node, kind: &'static Kind, at: Span) {
        let kind = kind.select.and_then(|select| select(node)).unwrap_or(kind);
        let Some(entries) = node.entries() else {
            let message = format!(
                "`{}` must be {} (a mapping), not {}",
                self.label(),
                kind.name,
                describe(node)
            );
            self.error("field-type", at, message);
            return;
        };
        for entry in entries {
            let shape = kind.field(&entry.key).or_else(|| {
                if kind.extensions && entry.key.starts_with("x-") {
                    Some(Shape::Any)
                } else {
                    kind.entries
                }
            });
            match shape {
                Some(shape) => {
                    let at = anchor(&entry.value, entry.key_at);
                    self.descend(&entry.key, &entry.value, shape, at);
                }
                None => {
                    let hint = if kind.extensions {
                        " (extensions start with `x-`)"
                    } else {
                        ""
                    };
                    let message = format!(
                        "`{}` is not a field of {}{hint}",
                        clip(&entry.key),
                        kind.name
                    );
                    self.error_in("unknown-field", &entry.key, entry.key_at, message);
                }
            }
        }
        for field in kind.required {
            if node.get(field).is_none() {
                let message = format!("{} needs `{field}`", kind.name);
                self.error("required-field", at, message);
            }
        }
        if let Some(hook) = kind.hook {
            hook(self, node, at);
        }
    }

    /// Reports a `field-type` error unless `node` is a `json_type`.
    pub fn expect(&mut self, node: &Node, json_type: &str, at: Span) {
        if node.is_type(json_type) {
            return;
        }
        let message = format!(
            "`{}` must be {} {json_type}, not {}",
            self.label(),
            article(json_type),
            describe(node)
        );
        self.error("field-type", at, message);
    }

    /// The field being walked, for messages: `version`, or `tags` item 2 as `tags/2`.
    fn label(&self) -> String {
        let mut parts = Vec::new();
        for segment in self.path.iter().rev() {
            match segment {
                Seg::Index(index) => parts.push(index.to_string()),
                Seg::Key(key) => {
                    parts.push(clip(key));
                    break;
                }
            }
        }
        if parts.is_empty() {
            return "the document".into();
        }
        parts.reverse();
        parts.join("/")
    }

    /// Records a schema → subschema edge that adds no structure.
    pub fn edge(&mut self, from: String, to: String) {
        self.edges.push((from, to));
    }
}

/// Where to report about an entry's value: scalars at themselves, collections and empty
/// values at their key (a block mapping starts on the line after its key).
pub fn anchor(value: &Node, key_at: Span) -> Span {
    match value.value {
        Value::Map(_) | Value::List(_) | Value::Null => key_at,
        _ => value.at,
    }
}

pub fn diagnostic(
    severity: Severity,
    rule: &'static str,
    pointer: String,
    at: Span,
    mut message: String,
) -> Diagnostic {
    if message.chars().count() > MAX_MESSAGE {
        message = message.chars().take(MAX_MESSAGE).collect();
        message.push('…');
    }
    Diagnostic {
        severity,
        rule,
        message,
        pointer,
        line: at.line as usize,
        column: at.column as usize,
        offset: at.offset as usize,
        len: at.len as usize,
    }
}

/// A node's type for messages, with a short scalar shown: `a number (3.0)`.
pub fn describe(node: &Node) -> String {
    let shown = match &node.value {
        Value::Int(number) => Some(number.to_string()),
        Value::Float(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    };
    let name = node.type_name();
    match shown {
        Some(shown) => format!("{} {name} ({shown})", article(name)),
        None if name == "null" => "null (empty)".into(),
        None => format!("{} {name}", article(name)),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

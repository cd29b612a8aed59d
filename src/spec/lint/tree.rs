//! The parsed document: a JSON-like tree in which every node and every mapping key keeps its
//! place in the source (line, column and byte range).
//!
//! Both parsers (`yaml.rs`, `json.rs`) build this tree; the rules only read it. It also knows
//! JSON pointers: how to escape a segment and how to find the node a local `$ref` names. It
//! does not parse.

use std::collections::HashMap;
use std::fmt::Write as _;

/// Where a node or key is in the source. Lines and columns are 1-based, columns count
/// characters; `offset` and `len` are bytes, for the snippet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    pub offset: u32,
    pub len: u32,
}

/// One node of the document.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub at: Span,
}

/// The value of a node, typed as YAML 1.2's core schema (or JSON) reads it.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Node>),
    Map(Map),
}

/// A mapping's entries in source order; big mappings (`paths`, `components.schemas`) also
/// keep an index, so resolving thousands of `$ref`s stays linear.
#[derive(Clone, Debug, Default)]
pub struct Map {
    entries: Vec<Entry>,
    index: Option<HashMap<String, usize>>,
}

/// Mappings with at least this many entries are indexed.
const INDEXED: usize = 16;

impl Map {
    /// The parsers have refused duplicate keys before this.
    pub fn new(entries: Vec<Entry>) -> Map {
        let index = (entries.len() >= INDEXED).then(|| {
            entries
                .iter()
                .enumerate()
                .map(|(position, entry)| (entry.key.clone(), position))
                .collect()
        });
        Map { entries, index }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn into_entries(self) -> Vec<Entry> {
        self.entries
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.index {
            Some(index) => index
                .get(key)
                .and_then(|&position| self.entries.get(position)),
            None => self.entries.iter().find(|entry| entry.key == key),
        }
    }
}

/// One entry of a mapping: the key as written (mapping keys are text in OpenAPI) and its value.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    pub key_at: Span,
    pub value: Node,
}

impl Node {
    /// The entries when the node is a mapping.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(map) => Some(map.entries()),
            _ => None,
        }
    }

    /// The entry named `key` when the node is a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(map) => map.get(key),
            _ => None,
        }
    }

    /// The value under `key` when the node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|entry| &entry.value)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(flag) => Some(flag),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Node]> {
        match &self.value {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The local `$ref` of a Reference Object (a mapping with a string `$ref`).
    pub fn reference(&self) -> Option<&str> {
        self.get("$ref")?.as_str()
    }

    /// The JSON type name of the node, as messages and JSON Schema say it.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::List(_) => "array",
            Value::Map(_) => "object",
        }
    }

    /// Whether the node is an instance of the JSON Schema `type` named `name`.
    pub fn is_type(&self, name: &str) -> bool {
        match (&self.value, name) {
            (Value::Null, "null") | (Value::Bool(_), "boolean") | (Value::Str(_), "string") => true,
            (Value::Int(_), "integer" | "number") => true,
            (Value::Float(number), "integer") => number.is_finite() && number.fract() == 0.0,
            (Value::Float(_), "number") => true,
            (Value::List(_), "array") | (Value::Map(_), "object") => true,
            _ => false,
        }
    }

    /// The node `pointer` (a JSON pointer, `""` is the node itself) names under this one.
    pub fn at_pointer(&self, pointer: &str) -> Option<&Node> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut current = self;
        for raw in pointer.strip_prefix('/')?.split('/') {
            let segment = unescape(raw);
            current = match &current.value {
                Value::Map(_) => current.get(&segment)?,
                Value::List(items) => {
                    // JSON pointers name array items in plain decimal, without leading zeros.
                    if segment.len() > 1 && segment.starts_with('0') {
                        return None;
                    }
                    items.get(segment.parse::<usize>().ok()?)?
                }
                _ => return None,
            };
        }
        Some(current)
    }

    /// How many levels of collections the subtree nests (a scalar: 0).
    pub fn depth(&self) -> usize {
        match &self.value {
            Value::List(items) => 1 + items.iter().map(Node::depth).max().unwrap_or(0),
            Value::Map(map) => {
                1 + map
                    .entries()
                    .iter()
                    .map(|entry| entry.value.depth())
                    .max()
                    .unwrap_or(0)
            }
            _ => 0,
        }
    }

    /// How many nodes the subtree holds, counting at most `limit`.
    pub fn count(&self, limit: usize) -> usize {
        let mut total = 1;
        let children: Box<dyn Iterator<Item = &Node>> = match &self.value {
            Value::List(items) => Box::new(items.iter()),
            Value::Map(map) => Box::new(map.entries().iter().map(|entry| &entry.value)),
            _ => return total,
        };
        for child in children {
            if total >= limit {
                break;
            }
            total += child.count(limit - total);
        }
        total
    }
}

/// A key or name shortened for a message.
pub fn clip(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// Escapes one JSON pointer segment (`~` → `~0`, `/` → `~1`) onto `out`.
pub fn push_segment(out: &mut String, segment: &str) {
    out.push('/');
    for character in segment.chars() {
        match character {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            other => out.push(other),
        }
    }
}

/// `pointer` with one more segment.
pub fn join(pointer: &str, segment: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + segment.len() + 1);
    out.push_str(pointer);
    push_segment(&mut out, segment);
    out
}

/// `pointer` with one more array index.
pub fn join_index(pointer: &str, index: usize) -> String {
    let mut out = String::with_capacity(pointer.len() + 4);
    out.push_str(pointer);
    let _ = write!(out, "/{index}");
    out
}

/// Decodes one JSON pointer segment.
pub fn unescape(segment: &str) -> String {
    if segment.contains('~') {
        segment.replace("~1", "/").replace("~0", "~")
    } else {
        segment.to_string()
    }
}

/// The JSON pointer a URI fragment spells (`#/a/b%20c` → `/a/b c`), in canonical escaping;
/// `None` when the fragment is not a JSON pointer (an anchor name, say).
pub fn fragment_pointer(fragment: &str) -> Option<String> {
    let decoded = percent_decode(fragment)?;
    if decoded.is_empty() {
        return Some(String::new());
    }
    let rest = decoded.strip_prefix('/')?;
    let mut out = String::with_capacity(decoded.len());
    for raw in rest.split('/') {
        push_segment(&mut out, &unescape(raw));
    }
    Some(out)
}

/// Decodes `%XX` escapes; `None` when they do not spell UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(value: Value) -> Node {
        Node {
            value,
            at: Span::default(),
        }
    }

    fn map(entries: Vec<(&str, Node)>) -> Node {
        leaf(Value::Map(Map::new(
            entries
                .into_iter()
                .map(|(key, value)| Entry {
                    key: key.to_string(),
                    key_at: Span::default(),
                    value,
                })
                .collect(),
        )))
    }

    #[test]
    fn pointers_escape_and_resolve() {
        let tree = map(vec![(
            "paths",
            map(vec![("/a~b", leaf(Value::List(vec![leaf(Value::Int(7))])))]),
        )]);
        let pointer = join_index(&join(&join("", "paths"), "/a~b"), 0);
        assert_eq!(pointer, "/paths/~1a~0b/0");
        assert!(matches!(
            tree.at_pointer(&pointer).map(|node| &node.value),
            Some(Value::Int(7))
        ));
        assert!(tree.at_pointer("/paths/~1a~0b/00").is_none());
        assert!(tree.at_pointer("/paths/nope").is_none());
        assert!(tree.at_pointer("paths").is_none());
    }

    #[test]
    fn fragments_decode_to_canonical_pointers() {
        assert_eq!(
            fragment_pointer("/a%20b/c~1d").as_deref(),
            Some("/a b/c~1d")
        );
        assert_eq!(fragment_pointer("").as_deref(), Some(""));
        assert_eq!(fragment_pointer("anchor"), None);
        assert_eq!(fragment_pointer("/bad%zz"), None);
        assert_eq!(fragment_pointer("/bad%ff"), None);
    }

    #[test]
    fn integral_floats_are_integers() {
        assert!(leaf(Value::Float(2.0)).is_type("integer"));
        assert!(!leaf(Value::Float(2.5)).is_type("integer"));
        assert!(!leaf(Value::Float(f64::NAN)).is_type("integer"));
        assert!(leaf(Value::Int(2)).is_type("number"));
    }
}

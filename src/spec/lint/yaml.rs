//! YAML 1.2 text → `Node` tree, from granit-parser's events (through serde-saphyr's
//! re-export), keeping each node's place.
//!
//! This is where the input is distrusted: duplicate mapping keys, non-scalar keys, several
//! documents, nesting deeper than `MAX_DEPTH` and aliases expanding past a budget proportional
//! to the text are parse errors, never panics or unbounded work. Plain scalars are typed by
//! the YAML 1.2 core schema. It does not know OpenAPI.

use std::collections::{HashMap, HashSet};

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span as Range};

use super::tree::{clip, Entry, Map, Node, Span, Value};
use super::ParseError;

/// Deeper nesting is refused: no real spec comes near it, and it bounds every recursive walk.
pub const MAX_DEPTH: usize = 200;

/// Maps with more entries than this find duplicate keys through a hash set.
const LINEAR_KEY_SCAN: usize = 24;

pub fn parse(text: &str) -> Result<Node, ParseError> {
    let options = serde_saphyr::granit_parser::options! {
        emit_comments: false,
        flow_nesting_limit: MAX_DEPTH + 1,
        block_nesting_limit: MAX_DEPTH + 1,
    };
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        // Aliases may repeat a subtree, but never beyond a few times the text's own size.
        budget: text.len() / 2 + 10_000,
        root: None,
        documents: 0,
    };
    for next in Parser::new_from_str_with_options(text, options) {
        let (event, range) = next.map_err(|error| scan_error(&error))?;
        builder.event(event, range)?;
    }
    builder.root.ok_or_else(|| ParseError {
        message: "the document is empty".into(),
        line: None,
        column: None,
    })
}

fn scan_error(error: &ScanError) -> ParseError {
    let info = error.info();
    let message = info.lines().next().unwrap_or("invalid YAML");
    let marker = error.marker();
    ParseError {
        message: if message.is_empty() {
            "invalid YAML".into()
        } else {
            message.to_string()
        },
        line: Some(marker.line().max(1)),
        column: Some(column_of(marker)),
    }
}

/// The 1-based character column of a marker (granit counts from 0).
fn column_of(marker: &Marker) -> usize {
    marker.col() + 1
}

enum Frame {
    List {
        items: Vec<Node>,
        at: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        /// The key read, waiting for its value.
        key: Option<(String, Span, bool)>,
        /// Mappings named by `<<` keys, merged at the end under the explicit keys.
        merges: Vec<Node>,
        /// Built once the mapping grows past `LINEAR_KEY_SCAN`.
        seen: Option<HashSet<String>>,
        at: Span,
        anchor: usize,
    },
}

/// An anchored node kept for its aliases.
struct Anchored {
    node: Node,
    /// The scalar's text, when the node is a scalar (an alias can be a mapping key).
    text: Option<String>,
    /// Nodes in the subtree, and how many levels of collections it nests.
    size: usize,
    depth: usize,
}

struct Builder {
    stack: Vec<Frame>,
    /// Anchored nodes by id.
    anchors: HashMap<usize, Anchored>,
    /// How many more nodes aliases may copy.
    budget: usize,
    root: Option<Node>,
    documents: usize,
}

impl Builder {
    fn span(&self, range: &Range) -> Span {
        let start = range.start.byte_offset().unwrap_or(0);
        let end = range.end.byte_offset().unwrap_or(start).max(start);
        Span {
            line: to_u32(range.start.line().max(1)),
            column: to_u32(column_of(&range.start)),
            offset: to_u32(start),
            len: to_u32(end - start),
        }
    }

    fn fail(&self, message: String, at: Span) -> ParseError {
        ParseError {
            message,
            line: Some(at.line as usize),
            column: Some(at.column as usize),
        }
    }

    fn event(&mut self, event: Event<'_>, range: Range) -> Result<(), ParseError> {
        let at = self.span(&range);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(self.fail(
                        "more than one YAML document in the file; an OpenAPI document is one"
                            .into(),
                        at,
                    ));
                }
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                let core = tag.as_ref().and_then(|tag| tag.core_suffix());
                let explicit = tag.is_some();
                let value = scalar(&text, style, core, explicit);
                let node = Node { value, at };
                if anchor != 0 {
                    self.remember(anchor, &node, Some(text.to_string()), at)?;
                }
                self.add(node, Some(text.into_owned()), style == ScalarStyle::Plain)
            }
            Event::SequenceStart(_, anchor, _) => self.open(Frame::List {
                items: Vec::new(),
                at: point(at),
                anchor,
            }),
            Event::MappingStart(_, anchor, _) => self.open(Frame::Map {
                entries: Vec::new(),
                key: None,
                merges: Vec::new(),
                seen: None,
                at: point(at),
                anchor,
            }),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Alias(id) => {
                let Some(anchored) = self.anchors.get(&id) else {
                    return Err(self.fail(
                        "an alias names an anchor whose node is not finished".into(),
                        at,
                    ));
                };
                // A copy must not nest deeper than the limit where it lands.
                if self.stack.len() + anchored.depth > MAX_DEPTH {
                    return Err(self.fail(format!("nesting deeper than {MAX_DEPTH} levels"), at));
                }
                let size = anchored.size;
                self.charge(size, at)?;
                let Some(anchored) = self.anchors.get(&id) else {
                    return Ok(());
                };
                let (node, text) = (anchored.node.clone(), anchored.text.clone());
                self.add(node, text, false)
            }
            Event::UnresolvedAlias(name) => {
                Err(self.fail(format!("unknown anchor `{}`", clip(&name)), at))
            }
            // Presentation only: anchors arrive on their nodes, comments are not data.
            _ => Ok(()),
        }
    }

    /// Keeps a copy of an anchored node for its aliases; copies count against the budget.
    fn remember(
        &mut self,
        anchor: usize,
        node: &Node,
        text: Option<String>,
        at: Span,
    ) -> Result<(), ParseError> {
        let size = node.count(self.budget + 1);
        self.charge(size, at)?;
        self.anchors.insert(
            anchor,
            Anchored {
                node: node.clone(),
                text,
                size,
                depth: node.depth(),
            },
        );
        Ok(())
    }

    /// Takes a copied subtree's size from the alias budget.
    fn charge(&mut self, size: usize, at: Span) -> Result<(), ParseError> {
        if size > self.budget {
            return Err(self.fail(
                "aliases expand to too many nodes (a YAML alias bomb?)".into(),
                at,
            ));
        }
        self.budget -= size;
        Ok(())
    }

    fn open(&mut self, frame: Frame) -> Result<(), ParseError> {
        if self.stack.len() >= MAX_DEPTH {
            let at = match &frame {
                Frame::List { at, .. } | Frame::Map { at, .. } => *at,
            };
            return Err(self.fail(format!("nesting deeper than {MAX_DEPTH} levels"), at));
        }
        // A collection used as a mapping key has no text: OpenAPI keys are strings.
        if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
            let at = match &frame {
                Frame::List { at, .. } | Frame::Map { at, .. } => *at,
            };
            return Err(self.fail(
                "a mapping key must be a scalar (OpenAPI keys are strings)".into(),
                at,
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) -> Result<(), ParseError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let (node, anchor) = match frame {
            Frame::List { items, at, anchor } => (
                Node {
                    value: Value::List(items),
                    at,
                },
                anchor,
            ),
            Frame::Map {
                mut entries,
                merges,
                at,
                anchor,
                ..
            } => {
                merge(&mut entries, merges);
                (
                    Node {
                        value: Value::Map(Map::new(entries)),
                        at,
                    },
                    anchor,
                )
            }
        };
        if anchor != 0 {
            self.remember(anchor, &node, None, node.at)?;
        }
        self.add(node, None, false)
    }

    /// Puts a finished node where it belongs: the root, a list item, a key or a value.
    fn add(&mut self, node: Node, text: Option<String>, plain: bool) -> Result<(), ParseError> {
        let Some(top) = self.stack.last_mut() else {
            if matches!(node.value, Value::Null) {
                return Ok(());
            }
            self.root = Some(node);
            return Ok(());
        };
        match top {
            Frame::List { items, .. } => {
                items.push(node);
                Ok(())
            }
            Frame::Map {
                key: key @ None, ..
            } => {
                let Some(text) = text else {
                    return Err(self.fail(
                        "a mapping key must be a scalar (OpenAPI keys are strings)".into(),
                        node.at,
                    ));
                };
                *key = Some((text, node.at, plain));
                Ok(())
            }
            Frame::Map {
                entries,
                key: key @ Some(_),
                merges,
                seen,
                ..
            } => {
                let Some((name, key_at, plain)) = key.take() else {
                    return Ok(());
                };
                if plain && name == "<<" {
                    merges.push(node);
                    return Ok(());
                }
                let duplicate = match seen {
                    Some(seen) => {
                        if seen.insert(name.clone()) {
                            None
                        } else {
                            entries.iter().find(|entry| entry.key == name)
                        }
                    }
                    None => entries.iter().find(|entry| entry.key == name),
                };
                if let Some(first) = duplicate {
                    let message = format!(
                        "duplicate key `{}` (first at line {}); YAML forbids repeating a key",
                        clip(&name),
                        first.key_at.line
                    );
                    return Err(self.fail(message, key_at));
                }
                if seen.is_none() && entries.len() >= LINEAR_KEY_SCAN {
                    let mut set: HashSet<String> =
                        entries.iter().map(|entry| entry.key.clone()).collect();
                    set.insert(name.clone());
                    *seen = Some(set);
                }
                entries.push(Entry {
                    key: name,
                    key_at,
                    value: node,
                });
                Ok(())
            }
        }
    }
}

/// YAML merge keys (`<<: *base`): the merged mappings' entries, under the explicit ones and
/// earlier merges first, as YAML 1.1 defines them.
fn merge(entries: &mut Vec<Entry>, merges: Vec<Node>) {
    if merges.is_empty() {
        return;
    }
    let mut sources = Vec::new();
    for node in merges {
        match node.value {
            Value::Map(more) => sources.push(more.into_entries()),
            Value::List(items) => {
                for item in items {
                    if let Value::Map(more) = item.value {
                        sources.push(more.into_entries());
                    }
                }
            }
            _ => {}
        }
    }
    let mut present: HashSet<String> = entries.iter().map(|entry| entry.key.clone()).collect();
    for source in sources {
        for entry in source {
            if present.insert(entry.key.clone()) {
                entries.push(entry);
            }
        }
    }
}

/// A collection's place: its first character.
fn point(at: Span) -> Span {
    Span { len: 1, ..at }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Types a scalar as the YAML 1.2 core schema does: only plain scalars can be other than
/// strings, unless a core tag (`!!int`) says otherwise.
fn scalar(text: &str, style: ScalarStyle, core: Option<&str>, tagged: bool) -> Value {
    match core {
        Some("str") => return Value::Str(text.to_string()),
        Some("null") => return Value::Null,
        Some("bool") => {
            if let Some(flag) = boolean(text) {
                return Value::Bool(flag);
            }
        }
        Some("int") => {
            if let Some(value) = integer(text) {
                return value;
            }
        }
        Some("float") => {
            if let Some(value) = integer(text).or_else(|| float(text)) {
                return match value {
                    Value::Int(number) => Value::Float(number as f64),
                    other => other,
                };
            }
        }
        _ => {}
    }
    if style != ScalarStyle::Plain || tagged {
        return Value::Str(text.to_string());
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if let Some(flag) = boolean(text) {
        return Value::Bool(flag);
    }
    integer(text)
        .or_else(|| float(text))
        .unwrap_or_else(|| Value::Str(text.to_string()))
}

fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`; beyond i64 a float.
fn integer(text: &str) -> Option<Value> {
    if let Some(octal) = text.strip_prefix("0o") {
        return radix(octal, 8);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return radix(hex, 16);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(match text.parse::<i64>() {
        Ok(number) => Value::Int(number),
        Err(_) => Value::Float(text.parse::<f64>().ok()?),
    })
}

fn radix(digits: &str, base: u32) -> Option<Value> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    Some(match i64::from_str_radix(digits, base) {
        Ok(number) => Value::Int(number),
        Err(_) => Value::Float(f64::INFINITY),
    })
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?.inf`, `.nan`.
fn float(text: &str) -> Option<Value> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        let sign = if text.starts_with('-') { -1.0 } else { 1.0 };
        return Some(Value::Float(sign * f64::INFINITY));
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(Value::Float(f64::NAN));
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(index) => (&unsigned[..index], Some(&unsigned[index + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok = match fraction {
        Some(fraction) => {
            digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty())
        }
        None => !whole.is_empty() && digits(whole),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits_part = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !digits_part.is_empty() && digits(digits_part)
    });
    if !mantissa_ok || !exponent_ok {
        return None;
    }
    // `.5` and `5.` are YAML floats that Rust's parser also reads.
    text.parse::<f64>().ok().map(Value::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Node {
        parse(text).unwrap_or_else(|error| panic!("{text:?}: {error:?}"))
    }

    fn error(text: &str) -> ParseError {
        match parse(text) {
            Ok(node) => panic!("{text:?} parsed: {node:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        let tree = parsed(
            "a: 3.0\nb: 3.0.3\nc: '1'\nd: ~\ne: yes\nf: 0x1F\ng: 1e3\nh: .5\ni: -.inf\nj: !!str 7\nk: 12345678901234567890\n",
        );
        let kind = |key: &str| tree.get(key).map(Node::type_name);
        assert_eq!(kind("a"), Some("number"));
        assert_eq!(kind("b"), Some("string"));
        assert_eq!(kind("c"), Some("string"));
        assert_eq!(kind("d"), Some("null"));
        // YAML 1.2 has no `yes` boolean.
        assert_eq!(kind("e"), Some("string"));
        assert!(matches!(
            tree.get("f").map(|n| &n.value),
            Some(Value::Int(31))
        ));
        assert_eq!(kind("g"), Some("number"));
        assert_eq!(kind("h"), Some("number"));
        assert_eq!(kind("i"), Some("number"));
        assert_eq!(kind("j"), Some("string"));
        assert_eq!(kind("k"), Some("number"));
    }

    #[test]
    fn nodes_and_keys_keep_their_place() {
        let tree = parsed("openapi: 3.0.3\ninfo:\n  title: x\n  version: '1'\n");
        let info = tree.entry("info").expect("info");
        assert_eq!((info.key_at.line, info.key_at.column), (2, 1));
        let title = info.value.get("title").expect("title");
        assert_eq!((title.at.line, title.at.column), (3, 10));
        assert_eq!(
            title.at.offset as usize,
            "openapi: 3.0.3\ninfo:\n  title: ".len()
        );
    }

    #[test]
    fn columns_count_characters() {
        let tree = parsed("ä: ö\nb: x\n");
        let a = tree.get("ä").expect("ä");
        assert_eq!((a.at.line, a.at.column), (1, 4));
        assert_eq!(a.at.offset, 4);
    }

    #[test]
    fn duplicate_keys_are_refused_with_the_second_place() {
        let found = error("a: 1\nb:\n  c: 1\n  c: 2\n");
        assert_eq!((found.line, found.column), (Some(4), Some(3)));
        assert!(
            found.message.contains("duplicate key `c`"),
            "{}",
            found.message
        );
        assert!(found.message.contains("line 3"), "{}", found.message);
    }

    #[test]
    fn duplicate_keys_in_big_maps_are_refused() {
        let mut text: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k42: again\n");
        let found = error(&text);
        assert_eq!(found.line, Some(101));
    }

    #[test]
    fn syntax_errors_carry_their_place() {
        let found = error("a: [1, 2\nb: 3\n");
        assert!(found.line.is_some() && found.column.is_some(), "{found:?}");
    }

    #[test]
    fn several_documents_are_refused() {
        let found = error("a: 1\n---\nb: 2\n");
        assert_eq!(found.line, Some(2));
    }

    #[test]
    fn merge_keys_merge_under_explicit_keys() {
        let tree = parsed("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
        let derived = tree.get("derived").expect("derived");
        assert!(matches!(
            derived.get("x").map(|n| &n.value),
            Some(Value::Int(1))
        ));
        assert!(matches!(
            derived.get("y").map(|n| &n.value),
            Some(Value::Int(3))
        ));
        assert!(derived.get("<<").is_none());
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let previous = level - 1;
            text.push_str(&format!(
                "a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"
            ));
        }
        let found = error(&text);
        assert!(found.message.contains("alias"), "{}", found.message);
    }

    #[test]
    fn aliases_cannot_nest_past_the_limit() {
        // Each level aliases the previous one inside a deep list: depth adds up.
        let wrap = |inner: &str| format!("{}{inner}{}", "[".repeat(150), "]".repeat(150));
        let mut text = format!("a0: &a0 {}\n", wrap("x"));
        for level in 1..5 {
            text.push_str(&format!(
                "a{level}: &a{level} {}\n",
                wrap(&format!("*a{}", level - 1))
            ));
        }
        assert!(error(&text).message.contains("nesting"));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(error(&text).line.is_some());
        let block: String = (0..300)
            .map(|depth| format!("{}k:\n", "  ".repeat(depth)))
            .collect();
        assert!(error(&block).line.is_some());
    }

    #[test]
    fn collection_keys_are_refused() {
        let found = error("? [a, b]\n: 1\n");
        assert!(found.message.contains("key"), "{}", found.message);
    }

    #[test]
    fn an_empty_document_is_an_error() {
        assert!(error("# only a comment\n").message.contains("empty"));
        assert!(error("---\n").message.contains("empty"));
    }
}

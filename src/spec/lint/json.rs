//! JSON text → `Node` tree, keeping each node's place.
//!
//! A small strict parser (RFC 8259) of its own, rather than the YAML parser, because JSON is
//! not quite YAML: a trailing comma is legal in a YAML flow mapping and must be an error here,
//! and errors should name JSON's own terms. It refuses duplicate keys and nesting deeper than
//! `yaml::MAX_DEPTH`, counts columns in characters, and does not know OpenAPI.

use std::collections::HashSet;

use super::tree::{clip, Entry, Map, Node, Span, Value};
use super::yaml::MAX_DEPTH;
use super::ParseError;

/// Objects with more members than this find duplicate keys through a hash set.
const LINEAR_KEY_SCAN: usize = 24;

pub fn parse(text: &str) -> Result<Node, ParseError> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        line: 1,
        column: 1,
        depth: 0,
    };
    // A byte-order mark is not content, and editors do not count it as a column.
    if text.starts_with('\u{feff}') {
        parser.pos = '\u{feff}'.len_utf8();
    }
    parser.whitespace();
    if parser.pos >= parser.bytes.len() {
        return Err(ParseError {
            message: "the document is empty".into(),
            line: None,
            column: None,
        });
    }
    let root = parser.value()?;
    parser.whitespace();
    if parser.pos < parser.bytes.len() {
        return Err(parser.fail("trailing characters after the JSON document"));
    }
    Ok(root)
}

struct Parser<'t> {
    bytes: &'t [u8],
    text: &'t str,
    pos: usize,
    line: u32,
    column: u32,
    depth: usize,
}

impl Parser<'_> {
    fn here(&self, len: usize) -> Span {
        Span {
            line: self.line,
            column: self.column,
            offset: u32::try_from(self.pos).unwrap_or(u32::MAX),
            len: u32::try_from(len).unwrap_or(u32::MAX),
        }
    }

    fn fail(&self, message: &str) -> ParseError {
        ParseError {
            message: message.to_string(),
            line: Some(self.line as usize),
            column: Some(self.column as usize),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Moves over one byte that is not a line break.
    fn bump(&mut self) {
        if let Some(byte) = self.peek() {
            // Columns count characters: continuation bytes do not start one.
            if byte & 0xC0 != 0x80 {
                self.column += 1;
            }
            self.pos += 1;
        }
    }

    fn whitespace(&mut self) {
        while let Some(byte) = self.peek() {
            match byte {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.column = 1;
                }
                b' ' | b'\t' | b'\r' => self.bump(),
                _ => break,
            }
        }
    }

    fn value(&mut self) -> Result<Node, ParseError> {
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => {
                let at_start = self.here(0);
                let start = self.pos;
                let text = self.string()?;
                Ok(Node {
                    value: Value::Str(text),
                    at: Span {
                        len: u32::try_from(self.pos - start).unwrap_or(u32::MAX),
                        ..at_start
                    },
                })
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.fail("expected a JSON value")),
            None => Err(self.fail("unexpected end of input: expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Node, ParseError> {
        if !self.bytes[self.pos..].starts_with(word.as_bytes()) {
            return Err(self.fail("expected a JSON value"));
        }
        let at = self.here(word.len());
        for _ in 0..word.len() {
            self.bump();
        }
        Ok(Node { value, at })
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Node, ParseError> {
        self.enter()?;
        let at = self.here(1);
        self.bump();
        let mut entries: Vec<Entry> = Vec::new();
        let mut seen: Option<HashSet<String>> = None;
        self.whitespace();
        if self.peek() == Some(b'}') {
            self.bump();
            self.depth -= 1;
            return Ok(Node {
                value: Value::Map(Map::new(entries)),
                at,
            });
        }
        loop {
            self.whitespace();
            match self.peek() {
                Some(b'"') => {}
                Some(b'}') if !entries.is_empty() => {
                    return Err(self.fail("trailing comma before `}`"));
                }
                None => return Err(self.fail("unexpected end of input inside an object")),
                _ => return Err(self.fail("expected a string key in double quotes")),
            }
            let key_start = self.pos;
            let key_at = self.here(0);
            let key = self.string()?;
            let key_at = Span {
                len: u32::try_from(self.pos - key_start).unwrap_or(u32::MAX),
                ..key_at
            };
            let duplicate = match &mut seen {
                Some(set) => !set.insert(key.clone()),
                None => entries.iter().any(|entry| entry.key == key),
            };
            if duplicate {
                let first = entries
                    .iter()
                    .find(|entry| entry.key == key)
                    .map_or(0, |entry| entry.key_at.line);
                return Err(ParseError {
                    message: format!(
                        "duplicate key `{}` (first at line {first}); a key must not repeat",
                        clip(&key)
                    ),
                    line: Some(key_at.line as usize),
                    column: Some(key_at.column as usize),
                });
            }
            self.whitespace();
            if self.peek() != Some(b':') {
                return Err(self.fail("expected `:` after an object key"));
            }
            self.bump();
            self.whitespace();
            let value = self.value()?;
            if seen.is_none() && entries.len() >= LINEAR_KEY_SCAN {
                let mut set: HashSet<String> =
                    entries.iter().map(|entry| entry.key.clone()).collect();
                set.insert(key.clone());
                seen = Some(set);
            }
            entries.push(Entry { key, key_at, value });
            self.whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    break;
                }
                None => return Err(self.fail("unexpected end of input inside an object")),
                _ => return Err(self.fail("expected `,` or `}` after an object member")),
            }
        }
        self.depth -= 1;
        Ok(Node {
            value: Value::Map(Map::new(entries)),
            at,
        })
    }

    fn array(&mut self) -> Result<Node, ParseError> {
        self.enter()?;
        let at = self.here(1);
        self.bump();
        let mut items = Vec::new();
        self.whitespace();
        if self.peek() == Some(b']') {
            self.bump();
            self.depth -= 1;
            return Ok(Node {
                value: Value::List(items),
                at,
            });
        }
        loop {
            self.whitespace();
            if self.peek() == Some(b']') {
                return Err(self.fail("trailing comma before `]`"));
            }
            items.push(self.value()?);
            self.whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    break;
                }
                None => return Err(self.fail("unexpected end of input inside an array")),
                _ => return Err(self.fail("expected `,` or `]` after an array item")),
            }
        }
        self.depth -= 1;
        Ok(Node {
            value: Value::List(items),
            at,
        })
    }

    /// Reads a string from its opening quote; leaves `pos` after the closing one.
    fn string(&mut self) -> Result<String, ParseError> {
        self.bump();
        let mut out = String::new();
        loop {
            // Copy the run of ordinary characters at once.
            let start = self.pos;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.bump();
            }
            // `start..pos` lies between ASCII bytes, so both ends are character boundaries.
            out.push_str(self.text.get(start..self.pos).unwrap_or_default());
            match self.peek() {
                Some(b'"') => {
                    self.bump();
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.bump();
                    self.escape(&mut out)?;
                }
                Some(_) => {
                    return Err(self.fail("control character inside a string (escape it)"));
                }
                None => return Err(self.fail("unexpected end of input inside a string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        let Some(byte) = self.peek() else {
            return Err(self.fail("unexpected end of input inside a string"));
        };
        let simple = match byte {
            b'"' => Some('"'),
            b'\\' => Some('\\'),
            b'/' => Some('/'),
            b'b' => Some('\u{8}'),
            b'f' => Some('\u{c}'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            b'u' => None,
            _ => return Err(self.fail("invalid escape in a string")),
        };
        if let Some(character) = simple {
            self.bump();
            out.push(character);
            return Ok(());
        }
        self.bump();
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if self.peek() != Some(b'\\') || self.bytes.get(self.pos + 1) != Some(&b'u') {
                return Err(self.fail("unpaired surrogate in a \\u escape"));
            }
            self.bump();
            self.bump();
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.fail("unpaired surrogate in a \\u escape"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        match char::from_u32(code) {
            Some(character) => {
                out.push(character);
                Ok(())
            }
            None => Err(self.fail("unpaired surrogate in a \\u escape")),
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|digits| digits.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .ok_or_else(|| self.fail("a \\u escape needs four hex digits"))?;
        let code = u32::from_str_radix(digits, 16)
            .map_err(|_| self.fail("a \\u escape needs four hex digits"))?;
        for _ in 0..4 {
            self.bump();
        }
        Ok(code)
    }

    fn number(&mut self) -> Result<Node, ParseError> {
        let at = self.here(0);
        let start = self.pos;
        let mut integral = true;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        match self.peek() {
            Some(b'0') => self.bump(),
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.fail("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            integral = false;
            self.bump();
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.fail("expected a digit after the decimal point"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integral = false;
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.fail("expected a digit in the exponent"));
            }
            self.digits();
        }
        let text = self.text.get(start..self.pos).unwrap_or("0");
        let value = match text.parse::<i64>() {
            Ok(number) if integral => Value::Int(number),
            _ => Value::Float(text.parse::<f64>().unwrap_or(f64::NAN)),
        };
        Ok(Node {
            value,
            at: Span {
                len: u32::try_from(self.pos - start).unwrap_or(u32::MAX),
                ..at
            },
        })
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ParseError {
        match parse(text) {
            Ok(node) => panic!("{text:?} parsed: {node:?}"),
            Err(error) => error,
        }
    }

    fn place(error: &ParseError) -> (Option<usize>, Option<usize>) {
        (error.line, error.column)
    }

    #[test]
    fn values_and_places() {
        let tree = parse(
            "{\n  \"a\": [1, -2.5e1, \"x\\u00e9\\ud83d\\ude00\", true, null],\n  \"b\": {}\n}",
        )
        .expect("valid JSON");
        let a = tree.entry("a").expect("a");
        assert_eq!((a.key_at.line, a.key_at.column), (2, 3));
        let items = a.value.as_list().expect("a list");
        assert!(matches!(items[0].value, Value::Int(1)));
        assert!(matches!(items[1].value, Value::Float(value) if value == -25.0));
        assert_eq!(items[2].as_str(), Some("xé😀"));
        assert_eq!((items[3].at.line, items[3].at.column), (2, 43));
        assert_eq!(tree.get("b").map(|b| b.at.line), Some(3));
    }

    #[test]
    fn syntax_errors_name_their_place() {
        assert_eq!(place(&error("{\"a\": 1,}")), (Some(1), Some(9)));
        assert_eq!(place(&error("{\"a\": [1, 2,]}")), (Some(1), Some(13)));
        assert_eq!(
            place(&error("{\n  \"a\": 1\n  \"b\": 2\n}")),
            (Some(3), Some(3))
        );
        assert_eq!(place(&error("{\"a\": tru}")), (Some(1), Some(7)));
        assert_eq!(place(&error("{\"é\": \"x\" x}")), (Some(1), Some(11)));
        assert_eq!(place(&error("{} {}")), (Some(1), Some(4)));
        assert!(error("{\"a\": \"unterminated")
            .message
            .contains("end of input"));
        assert!(error("{\"a\": \"\\ud800\"}").message.contains("surrogate"));
        assert!(error("{\"a\": 01}").message.contains("`,` or `}`"));
        assert!(error("{'a': 1}").message.contains("double quotes"));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let found = error("{\"a\": 1,\n \"a\": 2}");
        assert_eq!(place(&found), (Some(2), Some(2)));
        let mut text: String = String::from("{");
        for index in 0..100 {
            text.push_str(&format!("\"k{index}\": {index},"));
        }
        text.push_str("\"k7\": 0}");
        assert!(error(&text).message.contains("duplicate key `k7`"));
    }

    #[test]
    fn depth_is_bounded() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(error(&text).message.contains("nesting"));
    }

    #[test]
    fn big_integers_become_floats() {
        let tree = parse("[123456789012345678901234567890]").expect("valid");
        let items = tree.as_list().expect("list");
        assert!(matches!(items[0].value, Value::Float(_)));
    }
}

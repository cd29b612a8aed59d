//! A curl command that re-sends a request exactly, with secrets as environment variables.

use crate::client::Request;
use crate::redact::{Secrets, Segment};

/// `curl` for `request`; every secret in it becomes `"${VARIABLE}"`.
pub fn command(request: &Request, secrets: &Secrets) -> String {
    let mut words = vec![
        "curl".to_string(),
        "-sS".to_string(),
        "-i".to_string(),
        "-X".to_string(),
        word(request.method.as_bytes(), secrets),
        word(request.url.as_bytes(), secrets),
    ];
    for (name, value) in &request.headers {
        words.push("-H".into());
        words.push(word(format!("{name}: {value}").as_bytes(), secrets));
    }
    if !request.body.is_empty() {
        words.push("--data-binary".into());
        // curl reads a file for a value starting with `@`: escape it.
        let body = word(&request.body, secrets);
        words.push(match body.strip_prefix("'@") {
            Some(rest) => format!("$'\\x40{}", rest.replace('\\', "\\\\")),
            None => body,
        });
    }
    words.join(" ")
}

/// One shell word: plain runs quoted, secrets expanded from the environment.
fn word(bytes: &[u8], secrets: &Secrets) -> String {
    let mut word = String::new();
    for segment in secrets.split(bytes) {
        match segment {
            Segment::Plain(plain) => word.push_str(&quote(plain)),
            Segment::Secret(variable) => word.push_str(&format!("\"${{{variable}}}\"")),
        }
    }
    if word.is_empty() {
        word.push_str("''");
    }
    word
}

/// Single quotes when the bytes are printable UTF-8 without `'`; otherwise ANSI-C `$'…'`
/// quoting with `\xNN` escapes, which reproduces any bytes, invalid UTF-8 included.
fn quote(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !text.contains('\'') && !text.chars().any(char::is_control) {
            return format!("'{text}'");
        }
    }
    let mut quoted = String::from("$'");
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, invalid) = match std::str::from_utf8(rest) {
            Ok(text) => (text, &[][..]),
            Err(error) => {
                let (valid, invalid) = rest.split_at(error.valid_up_to());
                (std::str::from_utf8(valid).unwrap_or_default(), invalid)
            }
        };
        for c in valid.chars() {
            match c {
                '\'' => quoted.push_str("\\'"),
                '\\' => quoted.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buffer = [0u8; 4];
                    for byte in c.encode_utf8(&mut buffer).bytes() {
                        quoted.push_str(&format!("\\x{byte:02x}"));
                    }
                }
                c => quoted.push(c),
            }
        }
        match invalid.split_first() {
            Some((byte, tail)) => {
                quoted.push_str(&format!("\\x{byte:02x}"));
                rest = tail;
            }
            None => rest = &[],
        }
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &[u8]) -> Request {
        Request {
            method: "PUT".into(),
            url: "http://127.0.0.1:8080/users/alice/password".into(),
            headers: vec![("authorization".into(), "Bearer s3cret".into())],
            body: body.to_vec(),
        }
    }

    fn secrets() -> Secrets {
        let mut secrets = Secrets::default();
        secrets.add("s3cret", "SPECGATE_TOKEN_USER");
        secrets.add("pw", "SPECGATE_PASSWORD");
        secrets
    }

    #[test]
    fn secrets_become_variables() {
        let command = command(&request(br#"{"current_password":"pw"}"#), &secrets());
        assert_eq!(
            command,
            r#"curl -sS -i -X 'PUT' 'http://127.0.0.1:8080/users/alice/password' -H 'authorization: Bearer '"${SPECGATE_TOKEN_USER}" --data-binary '{"current_password":"'"${SPECGATE_PASSWORD}"'"}'"#
        );
    }

    #[test]
    fn invalid_utf8_and_quotes_are_escaped() {
        let command = command(&request(b"{\"a\":\"it's\xff\"}"), &Secrets::default());
        assert!(
            command.ends_with(r#"--data-binary $'{"a":"it\'s\xff"}'"#),
            "{command}"
        );
    }

    #[test]
    fn at_sign_does_not_read_a_file() {
        let command = command(&request(b"@/etc/passwd"), &Secrets::default());
        assert!(
            command.ends_with(r"--data-binary $'\x40/etc/passwd'"),
            "{command}"
        );
    }
}

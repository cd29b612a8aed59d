//! Secrets and scrubbing: every string that leaves the process passes through `Secrets`.
//!
//! A secret is a value the user supplied (a token, the test account's password). Each is
//! replaced by a placeholder naming the environment variable it can be given in, so that a
//! reproduction command still works: `${SPECGATE_TOKEN_USER}`. Passwords that the run made up
//! are test inputs and stay visible.

/// The set of secret values and their placeholders.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// (value, variable name), longest value first so that a secret that contains another is
    /// replaced whole.
    entries: Vec<(String, String)>,
}

impl Secrets {
    /// Adds a secret; `variable` is the environment variable that can carry it.
    pub fn add(&mut self, value: &str, variable: &str) {
        if value.is_empty() {
            return;
        }
        // A secret also travels JSON-escaped inside request bodies.
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(value);
        for form in [value, escaped] {
            if !self.entries.iter().any(|(known, _)| known == form) {
                self.entries.push((form.to_string(), variable.to_string()));
            }
        }
        self.entries
            .sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
    }

    /// `text` with every secret replaced by `${VARIABLE}`.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (value, variable) in &self.entries {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), &placeholder(variable));
            }
        }
        text
    }

    /// `bytes` cut into runs of plain bytes and secrets, in order, so that a writer can render
    /// each its own way (a shell command quotes the plain runs and expands the secrets).
    pub fn split<'a>(&self, bytes: &'a [u8]) -> Vec<Segment<'a>> {
        let mut segments = Vec::new();
        let mut plain_start = 0;
        let mut at = 0;
        while at < bytes.len() {
            let found = self
                .entries
                .iter()
                .find(|(value, _)| bytes[at..].starts_with(value.as_bytes()));
            match found {
                Some((value, variable)) => {
                    if plain_start < at {
                        segments.push(Segment::Plain(&bytes[plain_start..at]));
                    }
                    segments.push(Segment::Secret(variable.clone()));
                    at += value.len();
                    plain_start = at;
                }
                None => at += 1,
            }
        }
        if plain_start < bytes.len() {
            segments.push(Segment::Plain(&bytes[plain_start..]));
        }
        segments
    }

    /// Whether `text` holds any secret (for tests and self-checks).
    pub fn leaks_in(&self, text: &str) -> bool {
        self.entries
            .iter()
            .any(|(value, _)| text.contains(value.as_str()))
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Plain(&'a [u8]),
    /// The environment variable that holds the secret.
    Secret(String),
}

pub fn placeholder(variable: &str) -> String {
    format!("${{{variable}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        let mut secrets = Secrets::default();
        secrets.add("tok", "SPECGATE_TOKEN_USER");
        secrets.add("pa\"ss", "SPECGATE_PASSWORD");
        secrets
    }

    #[test]
    fn scrub_replaces_raw_and_json_escaped_forms() {
        let scrubbed = secrets().scrub(r#"Bearer tok {"current_password":"pa\"ss"} pa"ss"#);
        assert_eq!(
            scrubbed,
            r#"Bearer ${SPECGATE_TOKEN_USER} {"current_password":"${SPECGATE_PASSWORD}"} ${SPECGATE_PASSWORD}"#
        );
    }

    #[test]
    fn split_marks_secrets_between_plain_runs() {
        let segments = secrets().split(b"a tok b");
        assert_eq!(
            segments,
            vec![
                Segment::Plain(b"a "),
                Segment::Secret("SPECGATE_TOKEN_USER".into()),
                Segment::Plain(b" b"),
            ]
        );
    }

    #[test]
    fn empty_secret_is_ignored() {
        let mut secrets = Secrets::default();
        secrets.add("", "X");
        assert_eq!(secrets.scrub("abc"), "abc");
    }
}

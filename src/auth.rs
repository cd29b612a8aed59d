//! Credentials: which bearer token a request carries, and where each token comes from.
//!
//! A run tests every scope of the operation's security scheme, plus no token and a token the
//! server cannot know. Tokens come per scope from `--token SCOPE=TOKEN` or the environment
//! variable `SPECGATE_TOKEN_<SCOPE>` (scope upper-cased), or from the embedded server.

use std::collections::BTreeMap;
use std::fmt;

/// What a request presents to the target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Credential {
    /// No Authorization header.
    Anonymous,
    /// A bearer token that no server issued.
    Unknown,
    /// A token holding exactly this one scope.
    Scope(String),
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("no-token"),
            Credential::Unknown => f.write_str("unknown-token"),
            Credential::Scope(scope) => f.write_str(scope),
        }
    }
}

/// The environment variable that carries the token of `scope`: upper-cased, with every
/// character a variable name cannot hold (`inventory.read`) as `_`.
pub fn token_variable(scope: &str) -> String {
    let name: String = scope
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SPECGATE_TOKEN_{name}")
}

/// Tokens by scope.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    by_scope: BTreeMap<String, String>,
}

impl Tokens {
    pub fn insert(&mut self, scope: &str, token: &str) {
        self.by_scope.insert(scope.to_string(), token.to_string());
    }

    pub fn get(&self, scope: &str) -> Option<&str> {
        self.by_scope.get(scope).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_scope.iter().map(|(s, t)| (s.as_str(), t.as_str()))
    }

    /// The bearer token `credential` sends, if any. `unknown` is the made-up token.
    pub fn bearer<'a>(&'a self, credential: &Credential, unknown: &'a str) -> Option<&'a str> {
        match credential {
            Credential::Anonymous => None,
            Credential::Unknown => Some(unknown),
            Credential::Scope(scope) => self.get(scope),
        }
    }
}

//! The spec as specgate uses it: operations with compiled schemas, and security schemes.
//!
//! `load` reads an OpenAPI 3.0 document (YAML or JSON) with `openapiv3`, resolves the
//! references an operation needs and compiles every schema once with `jsonschema`. Nothing
//! after loading reads the document again. Linting a document (`specgate validate`) is not
//! done here.

pub mod lint;
mod load;
mod schema;

use std::collections::BTreeMap;

pub use load::{load, load_checked, load_str, EMBEDDED_NAME, EMBEDDED_SPEC};
pub use schema::{Schema, Violation};

/// A loaded, compiled spec.
#[derive(Debug)]
pub struct Spec {
    /// Where the document came from: a path, or the embedded spec's name.
    pub source: String,
    /// SHA-256 of the document's text, hex: which spec a report was made against.
    pub sha256: String,
    pub title: String,
    pub operations: Vec<Operation>,
    /// Security schemes by name, in document order.
    pub security_schemes: Vec<SecurityScheme>,
}

#[derive(Debug)]
pub struct Operation {
    /// The operationId, or `METHOD path` when the document gives none.
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// The path template, for example `/users/{user_id}/password`.
    pub path: String,
    /// Names of the path parameters, in template order.
    pub path_params: Vec<String>,
    /// Path, query and header parameters with their schemas (cookies are not sent).
    pub parameters: Vec<Parameter>,
    pub request_body: Option<RequestBody>,
    pub responses: Vec<ResponseSpec>,
    /// Alternatives (OR) of requirements (AND): scheme name to scopes. Empty means no security.
    pub security: Vec<BTreeMap<String, Vec<String>>>,
}

#[derive(Debug)]
pub struct Parameter {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub schema: Option<Schema>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
}

#[derive(Debug)]
pub struct RequestBody {
    pub required: bool,
    pub media_type: String,
    pub schema: Option<Schema>,
}

/// Which statuses a documented response covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusKey {
    Exact(u16),
    /// `4XX`: the hundreds digit.
    Range(u16),
    Default,
}

impl StatusKey {
    fn covers(self, status: u16) -> bool {
        match self {
            StatusKey::Exact(code) => code == status,
            StatusKey::Range(hundreds) => status / 100 == hundreds,
            StatusKey::Default => true,
        }
    }
}

#[derive(Debug)]
pub struct ResponseSpec {
    pub key: StatusKey,
    /// Documented media types and their schemas; empty when the response has no body.
    pub content: Vec<MediaType>,
}

#[derive(Debug)]
pub struct MediaType {
    pub name: String,
    pub schema: Option<Schema>,
}

#[derive(Debug)]
pub struct SecurityScheme {
    pub name: String,
    /// Scopes an OAuth2 scheme declares, over all its flows, in document order. Empty for
    /// schemes without scopes.
    pub scopes: Vec<String>,
    /// An OAuth2 scheme's flows (their token and authorize URLs), for getting tokens.
    pub flows: Option<openapiv3::OAuth2Flows>,
}

impl Operation {
    /// The response documented for `status`: the exact code first, then its range, then
    /// `default`, as OpenAPI says.
    pub fn response_for(&self, status: u16) -> Option<&ResponseSpec> {
        [
            StatusKey::Exact(status),
            StatusKey::Range(status / 100),
            StatusKey::Default,
        ]
        .into_iter()
        .find_map(|key| {
            self.responses
                .iter()
                .find(|response| response.key == key && key.covers(status))
        })
    }

    /// Whether a token holding exactly `scopes` of `scheme` meets the operation's security.
    pub fn allows(&self, scheme: &str, scopes: &[&str]) -> bool {
        self.security.is_empty()
            || self.security.iter().any(|requirement| {
                requirement.iter().all(|(name, needed)| {
                    name == scheme && needed.iter().all(|scope| scopes.contains(&scope.as_str()))
                })
            })
    }

    /// The scopes of `scheme` that the operation's first satisfiable requirement names.
    pub fn required_scopes(&self, scheme: &str) -> Vec<String> {
        self.security
            .iter()
            .find(|requirement| requirement.keys().all(|name| name == scheme))
            .and_then(|requirement| requirement.get(scheme).cloned())
            .unwrap_or_default()
    }
}

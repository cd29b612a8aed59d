//! The plan: which requests a run sends, and what each is for.
//!
//! A `Case` is one request with its purpose (`Intent`) and credential. The plan is built
//! before anything is sent, from the spec and a seed alone, so the same seed and spec give the
//! same plan. State probes are not planned: the runner adds them after each case, because what
//! they send depends on the answer.

use serde_json::Value;

use crate::auth::Credential;
use crate::case::{Declared, Expectation};
use crate::generate::{self, Encoding, Generator};
use crate::spec::{Operation, Spec};

/// The property names of an operation that changes a password: the runner tracks the
/// account's password across such an operation and verifies each change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordContract {
    /// The path parameter that names the account.
    pub user_param: String,
    pub current: String,
    pub new: String,
}

impl PasswordContract {
    /// Recognises `PUT …/{user}/password`-like operations: one path parameter and a JSON body
    /// whose schema has string properties `current_password` and `new_password`.
    pub fn detect(operation: &Operation) -> Option<PasswordContract> {
        let [user_param] = operation.path_params.as_slice() else {
            return None;
        };
        let schema = operation.request_body.as_ref()?.schema.as_ref()?;
        let properties = schema.resolve(&schema.json).get("properties")?;
        let is_string = |name: &str| {
            properties
                .get(name)
                .map(|property| schema.resolve(property))
                .and_then(|property| property.get("type"))
                == Some(&Value::String("string".into()))
        };
        (is_string("current_password") && is_string("new_password")).then(|| PasswordContract {
            user_param: user_param.clone(),
            current: "current_password".into(),
            new: "new_password".into(),
        })
    }
}

/// What a request is for, which decides what the checks expect of its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// A schema-valid body for the caller's own account with its current password.
    Valid,
    /// A body that breaks the named rule of the request schema, in the named top-level
    /// properties (none for body-level breakage).
    InvalidBody {
        rule: &'static str,
        properties: Vec<String>,
    },
    /// A valid body whose current password is wrong.
    WrongPassword,
    /// A valid body sent to another existing user's account.
    OtherUser,
    /// A valid body sent to an account that does not exist.
    UnknownUser,
    /// A request the runner sends to learn the account's state.
    Probe(Probe),
    /// A declarative case from cases/, with what it expects.
    Declared(Box<Expectation>),
}

/// State probes: each changes the password from a candidate to a fresh one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// After a change was accepted: the old password must no longer work.
    OldRejected,
    /// After a change was accepted: the new password must work.
    NewWorks,
    /// After a request that must change nothing: the password must still work.
    StillWorks,
    /// Finding the password again after a probe failed; expects nothing.
    Recover,
}

/// Whose account the path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathUser {
    Own,
    Other,
    Unknown,
    /// An id a declarative case names literally.
    Literal(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    pub value: Option<Value>,
    pub encoding: Encoding,
    pub content_type: Option<String>,
    /// Top-level properties the runner must send as they are (not replace with the account's
    /// current password).
    pub keep: Vec<String>,
    /// The value holds declarative-case variables (`$password`, …) to fill in at send time,
    /// instead of a generated current password to replace.
    pub template: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// Stable within a plan: `c0001`, …; probes get `c0001.1`, ….
    pub id: String,
    pub operation: usize,
    pub label: String,
    pub credential: Credential,
    pub path_user: PathUser,
    pub body: Option<Body>,
    pub intent: Intent,
}

/// How much to generate.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Valid bodies per operation for each credential the operation accepts.
    pub cases: usize,
    /// Valid bodies for each credential the operation must reject.
    pub rejected_cases: usize,
}

/// Builds the plan for every operation of `spec`, under each credential in `credentials`, then
/// the declarative cases that can run (those whose credential has a token, and that name
/// another user only when there is one).
pub fn build(
    spec: &Spec,
    credentials: &[Credential],
    scheme: Option<&str>,
    has_other_user: bool,
    declared: &[Declared],
    budget: &Budget,
    generator: &mut Generator,
) -> Vec<Case> {
    let mut cases = Vec::new();
    generated(
        spec,
        credentials,
        scheme,
        has_other_user,
        budget,
        generator,
        &mut cases,
    );
    for case in declared {
        if !credentials.contains(&case.credential) || (case.needs_other_user() && !has_other_user) {
            continue;
        }
        let path_user = match case.path_user.as_str() {
            "$user_id" => PathUser::Own,
            "$other_user_id" => PathUser::Other,
            literal => PathUser::Literal(literal.strip_prefix('$').unwrap_or(literal).to_string()),
        };
        let media_type = spec.operations[case.operation]
            .request_body
            .as_ref()
            .map_or("application/json", |body| body.media_type.as_str());
        let body = case.body.as_ref().map(|value| Body {
            value: Some(value.clone()),
            encoding: Encoding::Json,
            content_type: Some(media_type.to_string()),
            keep: Vec::new(),
            template: true,
        });
        cases.push(Case {
            id: format!("c{:04}", cases.len() + 1),
            operation: case.operation,
            label: case.name.clone(),
            credential: case.credential.clone(),
            path_user,
            body,
            intent: Intent::Declared(Box::new(case.expect.clone())),
        });
    }
    cases
}

/// The generated cases: valid and invalid bodies per credential, and the password contract's
/// own cases.
fn generated(
    spec: &Spec,
    credentials: &[Credential],
    scheme: Option<&str>,
    has_other_user: bool,
    budget: &Budget,
    generator: &mut Generator,
    cases: &mut Vec<Case>,
) {
    for (index, operation) in spec.operations.iter().enumerate() {
        let mut push = |label: String, credential: &Credential, path_user, body, intent| {
            cases.push(Case {
                id: format!("c{:04}", cases.len() + 1),
                operation: index,
                label,
                credential: credential.clone(),
                path_user,
                body,
                intent,
            });
        };
        let request = operation.request_body.as_ref();
        let schema = request.and_then(|body| body.schema.as_ref());
        let media_type = request.map_or("application/json", |body| body.media_type.as_str());
        let json_body = |value: Value, keep: Vec<String>| {
            Some(Body {
                value: Some(value),
                encoding: Encoding::Json,
                content_type: Some(media_type.to_string()),
                keep,
                template: false,
            })
        };
        let valid = |generator: &mut Generator| match schema {
            Some(schema) => generator
                .valid(schema)
                .map(|value| json_body(value, Vec::new())),
            None => Some(None),
        };
        let contract = PasswordContract::detect(operation);
        for credential in credentials {
            let allowed = accepts(operation, scheme, credential);
            let count = if allowed {
                budget.cases
            } else {
                budget.rejected_cases
            };
            for _ in 0..count {
                if let Some(body) = valid(generator) {
                    push(
                        "valid body".into(),
                        credential,
                        PathUser::Own,
                        body,
                        Intent::Valid,
                    );
                }
            }
            let Some(schema) = schema else { continue };
            let Some(sample) = generator.valid(schema) else {
                continue;
            };
            for mutation in generate::mutations(schema, &sample, media_type) {
                let body = Body {
                    value: mutation.value,
                    encoding: mutation.encoding,
                    content_type: mutation.content_type,
                    keep: mutation.properties.clone(),
                    template: false,
                };
                let intent = Intent::InvalidBody {
                    rule: mutation.rule,
                    properties: mutation.properties,
                };
                push(
                    mutation.label,
                    credential,
                    PathUser::Own,
                    Some(body),
                    intent,
                );
            }
            if let (true, Some(contract)) = (allowed, &contract) {
                for _ in 0..2 {
                    let Some(Some(mut body)) = valid(generator) else {
                        continue;
                    };
                    if let Some(Value::Object(object)) = body.value.as_mut() {
                        let wrong = generator.fresh_password();
                        object.insert(contract.current.clone(), Value::String(wrong));
                    }
                    body.keep = vec![contract.current.clone()];
                    let label = "wrong current password".to_string();
                    push(
                        label,
                        credential,
                        PathUser::Own,
                        Some(body),
                        Intent::WrongPassword,
                    );
                }
                let mut others = vec![(PathUser::Unknown, Intent::UnknownUser, "unknown user")];
                if has_other_user {
                    others.push((PathUser::Other, Intent::OtherUser, "another user's account"));
                }
                for (path_user, intent, label) in others {
                    if let Some(body) = valid(generator) {
                        push(label.into(), credential, path_user, body, intent);
                    }
                }
            }
        }
    }
}

/// Whether `operation` accepts `credential` (a token with only that scope of `scheme`).
pub fn accepts(operation: &Operation, scheme: Option<&str>, credential: &Credential) -> bool {
    match (credential, scheme) {
        _ if operation.security.is_empty() => true,
        (Credential::Scope(scope), Some(scheme)) => operation.allows(scheme, &[scope.as_str()]),
        _ => false,
    }
}

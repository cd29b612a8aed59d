//! Reading an OpenAPI 3.0 document into a `Spec`.

use std::collections::BTreeMap;
use std::path::Path;

use openapiv3::{OpenAPI, ReferenceOr};
use serde_json::Value;

use super::schema::{self, Schema};
use super::{
    Location, MediaType, Operation, Parameter, RequestBody, ResponseSpec, SecurityScheme, Spec,
    StatusKey,
};
use crate::error::{Error, Result};

/// The shipped spec, built into the binary so that `specgate run` works from any directory.
pub const EMBEDDED_SPEC: &str = include_str!("../../specs/privx-local-user-store.yaml");
pub const EMBEDDED_NAME: &str = "specs/privx-local-user-store.yaml (embedded)";

/// Lints the spec at `path` (or the embedded one) first and refuses it if the linter finds an
/// error: `specgate run` must not test against a spec whose holes would weaken every check.
pub fn load_checked(path: Option<&Path>) -> Result<Spec> {
    let (bytes, shown) = match path {
        None => (EMBEDDED_SPEC.as_bytes().to_vec(), EMBEDDED_NAME.to_string()),
        Some(path) => {
            let shown = path.display().to_string();
            let bytes = std::fs::read(path).map_err(|error| Error::SpecRead {
                path: shown.clone(),
                reason: error.to_string().to_lowercase(),
            })?;
            (bytes, shown)
        }
    };
    let linted = super::lint::lint(&bytes, &shown);
    let errors = match &linted.result {
        Err(error) => {
            return Err(Error::SpecParse {
                path: shown,
                reason: match (error.line, error.column) {
                    (Some(line), Some(column)) => {
                        format!("{} (line {line}, column {column})", error.message)
                    }
                    _ => error.message.clone(),
                },
            })
        }
        Ok(found) => found
            .iter()
            .filter(|diagnostic| diagnostic.severity == super::lint::Severity::Error)
            .count(),
    };
    if errors > 0 {
        let mut rendered = Vec::new();
        let _ = super::lint::render(
            std::slice::from_ref(&linted),
            super::lint::Format::Human,
            &mut rendered,
        );
        return Err(Error::SpecLint {
            path: shown,
            errors,
            diagnostics: String::from_utf8_lossy(&rendered).into_owned(),
        });
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => load_str(text, &shown),
        Err(_) => load(path),
    }
}

/// Loads the spec at `path`, or the embedded one when `path` is `None`.
pub fn load(path: Option<&Path>) -> Result<Spec> {
    let Some(path) = path else {
        return load_str(EMBEDDED_SPEC, EMBEDDED_NAME);
    };
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| Error::SpecRead {
        path: shown.clone(),
        reason: error.to_string().to_lowercase(),
    })?;
    let text = String::from_utf8(bytes).map_err(|error| Error::SpecParse {
        path: shown.clone(),
        reason: format!(
            "not UTF-8 (invalid byte at offset {})",
            error.utf8_error().valid_up_to()
        ),
    })?;
    load_str(&text, &shown)
}

/// Loads a spec from its text; `source` names it in messages.
pub fn load_str(text: &str, source: &str) -> Result<Spec> {
    let parse_error = |reason: String| Error::SpecParse {
        path: source.to_string(),
        reason,
    };
    let invalid = |reason: String| Error::SpecInvalid {
        path: source.to_string(),
        reason,
    };
    if text.trim().is_empty() {
        return Err(parse_error("the file is empty".into()));
    }
    let document: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|error| parse_error(error.to_string()))?
    } else {
        serde_saphyr::from_str(text).map_err(|error| parse_error(first_line(&error.to_string())))?
    };
    let version = document
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !version.starts_with("3.0.") {
        return Err(invalid(format!(
            "only OpenAPI 3.0.x documents are supported (`openapi` is {})",
            if version.is_empty() {
                "missing"
            } else {
                version
            }
        )));
    }
    let api: OpenAPI = serde_json::from_value(document.clone())
        .map_err(|error| invalid(format!("not an OpenAPI 3.0 document: {error}")))?;
    let components_schemas = document
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    let definitions = schema::definitions(&components_schemas);
    let components = schema::Components::new(&definitions).map_err(invalid)?;

    let mut operations = Vec::new();
    for (path, item) in api.paths.iter() {
        let item = match item {
            ReferenceOr::Item(item) => item,
            ReferenceOr::Reference { reference } => {
                return Err(invalid(format!(
                    "path {path}: references to path items are not supported ({reference})"
                )))
            }
        };
        for (method, operation) in item.iter() {
            let context = format!("{} {path}", method.to_uppercase());
            let build = Builder {
                api: &api,
                definitions: &definitions,
                components: &components,
                context: &context,
            };
            operations.push(
                build
                    .operation(path, method, operation, &item.parameters)
                    .map_err(invalid)?,
            );
        }
    }
    if operations.is_empty() {
        return Err(invalid("the document has no operations".into()));
    }

    let security_schemes = api
        .components
        .iter()
        .flat_map(|components| components.security_schemes.iter())
        .map(|(name, scheme)| SecurityScheme {
            name: name.clone(),
            scopes: match scheme {
                ReferenceOr::Item(scheme) => scopes_of(scheme),
                ReferenceOr::Reference { .. } => Vec::new(),
            },
            flows: match scheme {
                ReferenceOr::Item(openapiv3::SecurityScheme::OAuth2 { flows, .. }) => {
                    Some(flows.clone())
                }
                _ => None,
            },
        })
        .collect();

    Ok(Spec {
        sha256: {
            use sha2::Digest;
            sha2::Sha256::digest(text.as_bytes())
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect()
        },
        source: source.to_string(),
        title: api.info.title.clone(),
        operations,
        security_schemes,
    })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

/// Every scope an OAuth2 scheme declares, over all its flows, without repeats.
fn scopes_of(scheme: &openapiv3::SecurityScheme) -> Vec<String> {
    let openapiv3::SecurityScheme::OAuth2 { flows, .. } = scheme else {
        return Vec::new();
    };
    let flow_scopes = [
        flows.implicit.as_ref().map(|flow| &flow.scopes),
        flows.password.as_ref().map(|flow| &flow.scopes),
        flows.client_credentials.as_ref().map(|flow| &flow.scopes),
        flows.authorization_code.as_ref().map(|flow| &flow.scopes),
    ];
    let mut scopes: Vec<String> = Vec::new();
    for scope in flow_scopes.into_iter().flatten().flat_map(|map| map.keys()) {
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    scopes
}

/// Builds one `Operation`, resolving the references it uses.
struct Builder<'a> {
    api: &'a OpenAPI,
    definitions: &'a std::sync::Arc<Value>,
    components: &'a schema::Components,
    context: &'a str,
}

impl Builder<'_> {
    fn operation(
        &self,
        path: &str,
        method: &str,
        operation: &openapiv3::Operation,
        shared_parameters: &[ReferenceOr<openapiv3::Parameter>],
    ) -> Result<Operation, String> {
        let components = self.api.components.as_ref();
        let mut path_params = Vec::new();
        let mut parameters: Vec<Parameter> = Vec::new();
        // Operation parameters come last and override shared ones of the same name and place.
        for parameter in shared_parameters.iter().chain(&operation.parameters) {
            let parameter = resolve(
                parameter,
                components.map(|c| &c.parameters),
                "parameters",
                self.context,
            )?;
            let (location, data) = match parameter {
                openapiv3::Parameter::Path { parameter_data, .. } => {
                    (Location::Path, parameter_data)
                }
                openapiv3::Parameter::Query { parameter_data, .. } => {
                    (Location::Query, parameter_data)
                }
                openapiv3::Parameter::Header { parameter_data, .. } => {
                    (Location::Header, parameter_data)
                }
                openapiv3::Parameter::Cookie { .. } => continue,
            };
            if location == Location::Path && !path_params.contains(&data.name) {
                path_params.push(data.name.clone());
            }
            let schema = match &data.format {
                openapiv3::ParameterSchemaOrContent::Schema(schema) => {
                    let value = serde_json::to_value(schema).map_err(|error| {
                        format!("{}: parameter {}: {error}", self.context, data.name)
                    })?;
                    Some(
                        Schema::compile_in(&value, self.definitions, self.components).map_err(
                            |error| format!("{}: parameter {}: {error}", self.context, data.name),
                        )?,
                    )
                }
                openapiv3::ParameterSchemaOrContent::Content(_) => None,
            };
            parameters.retain(|known| !(known.name == data.name && known.location == location));
            parameters.push(Parameter {
                name: data.name.clone(),
                location,
                required: data.required || location == Location::Path,
                schema,
            });
        }
        // Template order, so that callers can fill the path left to right.
        path_params.sort_by_key(|name| path.find(&format!("{{{name}}}")));

        let request_body = match &operation.request_body {
            None => None,
            Some(body) => {
                let body = resolve(
                    body,
                    components.map(|c| &c.request_bodies),
                    "requestBodies",
                    self.context,
                )?;
                let (media_type, schema) = match body.content.iter().find(|(name, _)| is_json(name))
                {
                    Some((name, media)) => (name.clone(), self.schema(media, "request body")?),
                    None => match body.content.first() {
                        Some((name, media)) => (name.clone(), self.schema(media, "request body")?),
                        None => (String::new(), None),
                    },
                };
                Some(RequestBody {
                    required: body.required,
                    media_type,
                    schema,
                })
            }
        };

        let mut responses = Vec::new();
        let documented = operation
            .responses
            .responses
            .iter()
            .map(|(code, response)| {
                let key = match code {
                    openapiv3::StatusCode::Code(code) => StatusKey::Exact(*code),
                    openapiv3::StatusCode::Range(hundreds) => StatusKey::Range(*hundreds),
                };
                (key, response)
            })
            .chain(
                operation
                    .responses
                    .default
                    .iter()
                    .map(|response| (StatusKey::Default, response)),
            );
        for (key, response) in documented {
            let response = resolve(
                response,
                components.map(|c| &c.responses),
                "responses",
                self.context,
            )?;
            let mut content = Vec::new();
            for (name, media) in &response.content {
                content.push(MediaType {
                    name: name.clone(),
                    schema: self.schema(media, &format!("response {key:?}"))?,
                });
            }
            responses.push(ResponseSpec { key, content });
        }

        let security = operation
            .security
            .as_ref()
            .or(self.api.security.as_ref())
            .map(|alternatives| {
                alternatives
                    .iter()
                    .map(|requirement| {
                        requirement
                            .iter()
                            .map(|(name, scopes)| (name.clone(), scopes.clone()))
                            .collect::<BTreeMap<_, _>>()
                    })
                    .collect()
            })
            .unwrap_or_default();

        Ok(Operation {
            id: operation
                .operation_id
                .clone()
                .unwrap_or_else(|| self.context.to_string()),
            method: method.to_uppercase(),
            path: path.to_string(),
            path_params,
            parameters,
            request_body,
            responses,
            security,
        })
    }

    fn schema(&self, media: &openapiv3::MediaType, what: &str) -> Result<Option<Schema>, String> {
        let Some(schema) = &media.schema else {
            return Ok(None);
        };
        let value = serde_json::to_value(schema)
            .map_err(|error| format!("{}: {what}: {error}", self.context))?;
        Schema::compile_in(&value, self.definitions, self.components)
            .map(Some)
            .map_err(|error| format!("{}: {what}: {error}", self.context))
    }
}

/// Whether a media type name is JSON (`application/json`, `application/problem+json`, ...).
pub(crate) fn is_json(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Follows `#/components/<kind>/<name>` references, a bounded number of times.
fn resolve<'a, T>(
    item: &'a ReferenceOr<T>,
    map: Option<&'a indexmap::IndexMap<String, ReferenceOr<T>>>,
    kind: &str,
    context: &str,
) -> Result<&'a T, String> {
    let mut current = item;
    for _ in 0..32 {
        match current {
            ReferenceOr::Item(item) => return Ok(item),
            ReferenceOr::Reference { reference } => {
                let prefix = format!("#/components/{kind}/");
                current = reference
                    .strip_prefix(&prefix)
                    .and_then(|name| map?.get(name))
                    .ok_or_else(|| format!("{context}: unresolved reference {reference}"))?;
            }
        }
    }
    Err(format!("{context}: reference cycle in components/{kind}"))
}

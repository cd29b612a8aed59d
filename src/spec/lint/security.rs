//! Security requirements against the schemes `components.securitySchemes` defines: every
//! scheme named exists, an oauth2 scope named exists in every flow of its scheme, and schemes
//! without scopes (apiKey, http) are given none.
//!
//! OpenID Connect scopes are not declared in the document (the provider's discovery document
//! lists them), so they are never checked.

use super::refs::follow;
use super::tree::{clip, join, join_index, Node};
use super::walk::{diagnostic, Site};
use super::{Diagnostic, Severity};

pub fn check(root: &Node, requirements: &[Site<'_>], out: &mut Vec<Diagnostic>) {
    let schemes = root
        .get("components")
        .and_then(|components| components.get("securitySchemes"));
    for requirement in requirements {
        let Some(entries) = requirement.node.entries() else {
            continue;
        };
        for entry in entries {
            let pointer = join(&requirement.pointer, &entry.key);
            let Some(scheme) = schemes
                .and_then(|schemes| schemes.get(&entry.key))
                .and_then(|scheme| follow(root, scheme))
                .map(|(scheme, _)| scheme)
            else {
                let message = format!(
                    "security requirement names `{}`, which `components.securitySchemes` does \
                     not define",
                    clip(&entry.key)
                );
                out.push(diagnostic(
                    Severity::Error,
                    "security-scheme-undefined",
                    pointer,
                    entry.key_at,
                    message,
                ));
                continue;
            };
            let scopes = entry.value.as_list().unwrap_or_default();
            match scheme.get("type").and_then(Node::as_str) {
                Some("oauth2") => {
                    for (index, scope) in scopes.iter().enumerate() {
                        let Some(name) = scope.as_str() else {
                            continue;
                        };
                        let missing = missing_flows(scheme, name);
                        if missing.is_empty() {
                            continue;
                        }
                        let message = format!(
                            "scope `{}` of `{}` is not defined in its {} flow{}",
                            clip(name),
                            clip(&entry.key),
                            missing.join(", "),
                            if missing.len() > 1 { "s" } else { "" }
                        );
                        out.push(diagnostic(
                            Severity::Error,
                            "oauth-scope-undefined",
                            join_index(&pointer, index),
                            scope.at,
                            message,
                        ));
                    }
                }
                Some("apiKey" | "http") if !scopes.is_empty() => {
                    let message = format!(
                        "`{}` is not an oauth2 or openIdConnect scheme: its scope list must be \
                         empty",
                        clip(&entry.key)
                    );
                    out.push(diagnostic(
                        Severity::Error,
                        "security-scope-not-allowed",
                        pointer,
                        entry.value.at,
                        message,
                    ));
                }
                // openIdConnect scopes live with the provider, not in the document.
                _ => {}
            }
        }
    }
}

/// The flows of an oauth2 scheme that do not declare `scope`. A scheme without flows is
/// reported by the structural rules; it has nothing to compare here.
fn missing_flows<'a>(scheme: &'a Node, scope: &str) -> Vec<&'a str> {
    let Some(flows) = scheme.get("flows").and_then(Node::entries) else {
        return Vec::new();
    };
    flows
        .iter()
        .filter(|flow| !flow.key.starts_with("x-"))
        .filter(|flow| {
            flow.value
                .get("scopes")
                .and_then(|scopes| scopes.get(scope))
                .is_none()
        })
        .map(|flow| flow.key.as_str())
        .collect()
}

//! What a run says about itself beyond the checks: the scope matrix and the setup warnings,
//! both from what the valid cases got, gathered as their answers come.

use std::collections::{BTreeMap, HashMap};

use super::{is_success, Settings};
use crate::auth::Credential;
use crate::plan;
use crate::report::{Expected, MatrixRow};
use crate::spec::Spec;

/// What the valid cases (not their probes) got, by operation and credential.
#[derive(Debug, Default)]
pub(super) struct Answers {
    /// Status (or `no answer`) counts, by (operation, credential).
    statuses: HashMap<(usize, Credential), BTreeMap<String, usize>>,
    /// Under credentials their operation accepts, per credential in the order first seen.
    accepted: Vec<(Credential, Accepted)>,
}

/// The answers valid requests got under one credential their operation accepts.
#[derive(Debug, Default)]
struct Accepted {
    answered: usize,
    /// Refused with 401 or 403.
    denied: usize,
    /// Password changes answered, and how many of them were refused.
    changes: usize,
    changes_refused: usize,
}

impl Answers {
    /// Counts the answer to a valid case of `operation` under `credential`: `status` is `None`
    /// when none came; `accepted` says whether the operation accepts the credential.
    pub(super) fn add(
        &mut self,
        operation: usize,
        credential: &Credential,
        status: Option<u16>,
        accepted: bool,
        changes_password: bool,
    ) {
        let key = status.map_or_else(|| "no answer".to_string(), |status| status.to_string());
        *self
            .statuses
            .entry((operation, credential.clone()))
            .or_default()
            .entry(key)
            .or_insert(0) += 1;
        let (true, Some(status)) = (accepted, status) else {
            return;
        };
        let index = match self
            .accepted
            .iter()
            .position(|(known, _)| known == credential)
        {
            Some(index) => index,
            None => {
                self.accepted
                    .push((credential.clone(), Accepted::default()));
                self.accepted.len() - 1
            }
        };
        let counts = &mut self.accepted[index].1;
        counts.answered += 1;
        if matches!(status, 401 | 403) {
            counts.denied += 1;
        }
        if changes_password {
            counts.changes += 1;
            if !is_success(status) {
                counts.changes_refused += 1;
            }
        }
    }
}

/// The scope matrix: for each credential, what the spec expects and what valid requests got.
pub(super) fn matrix(
    spec: &Spec,
    scheme: Option<&crate::spec::SecurityScheme>,
    settings: &Settings,
    answers: &Answers,
) -> Vec<MatrixRow> {
    let scheme_name = scheme.map(|scheme| scheme.name.as_str());
    let mut rows = Vec::new();
    for (index, operation) in spec.operations.iter().enumerate() {
        if operation.security.is_empty() {
            continue;
        }
        let mut credentials = vec![Credential::Anonymous, Credential::Unknown];
        credentials.extend(
            scheme
                .iter()
                .flat_map(|scheme| &scheme.scopes)
                .map(|scope| Credential::Scope(scope.clone())),
        );
        for credential in credentials {
            let has_token = match &credential {
                Credential::Scope(scope) => settings.tokens.get(scope).is_some(),
                _ => true,
            };
            let expected = match (
                has_token,
                plan::accepts(operation, scheme_name, &credential),
            ) {
                (false, _) => Expected::NoToken,
                (true, true) => Expected::Accepted,
                (true, false) => Expected::Refused,
            };
            let observed = answers
                .statuses
                .get(&(index, credential.clone()))
                .cloned()
                .unwrap_or_default();
            rows.push(MatrixRow {
                operation: operation.id.clone(),
                credential,
                expected,
                observed,
            });
        }
    }
    rows
}

/// Signs that the run's setup, not the target, is at fault: said at the top of the report
/// instead of burying the reader in failures.
pub(super) fn setup_warnings(answers: &Answers) -> Vec<String> {
    let mut warnings = Vec::new();
    for (credential, counts) in &answers.accepted {
        let (total, denied) = (counts.answered, counts.denied);
        // Refusals say something about the account only where a password is changed: elsewhere
        // a valid request may well find nothing (a 404 for an id made up).
        let (changes, refused) = (counts.changes, counts.changes_refused);
        if total > 0 && denied * 2 > total {
            warnings.push(format!(
                "the `{credential}` token looks invalid or expired: {denied} of {total} valid requests with it were refused with 401/403"
            ));
        } else if changes > 0 && refused * 2 > changes {
            warnings.push(format!(
                "most valid password changes with `{credential}` were refused ({refused} of {changes}): check the test account's password and the server's password policy"
            ));
        }
    }
    warnings
}

//! What a run says about itself beyond the checks: the scope matrix and the setup warnings.

use std::collections::BTreeMap;

use super::{is_success, Settings};
use crate::auth::Credential;
use crate::plan::{self, Case, Intent, PasswordContract};
use crate::report::{Expected, MatrixRow, Record};
use crate::spec::Spec;

/// The scope matrix: for each credential, what the spec expects and what valid requests got.
pub(super) fn matrix(
    spec: &Spec,
    scheme: Option<&crate::spec::SecurityScheme>,
    settings: &Settings,
    records: &[Record],
    cases: &[Case],
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
            let mut observed = BTreeMap::new();
            let valid_ids: std::collections::HashSet<&str> = cases
                .iter()
                .filter(|case| {
                    case.operation == index
                        && case.credential == credential
                        && case.intent == Intent::Valid
                })
                .map(|case| case.id.as_str())
                .collect();
            for record in records
                .iter()
                .filter(|r| valid_ids.contains(&r.id.as_str()))
            {
                let key = match &record.exchange.response {
                    Ok(response) => response.status.to_string(),
                    Err(_) => "no answer".to_string(),
                };
                *observed.entry(key).or_insert(0) += 1;
            }
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
pub(super) fn setup_warnings(
    records: &[Record],
    cases: &[Case],
    spec: &Spec,
    scheme: Option<&str>,
) -> Vec<String> {
    // Valid cases under a credential their operation accepts, by id.
    let accepted: BTreeMap<&str, &Case> = cases
        .iter()
        .filter(|case| {
            case.intent == Intent::Valid
                && plan::accepts(&spec.operations[case.operation], scheme, &case.credential)
        })
        .map(|case| (case.id.as_str(), case))
        .collect();
    let mut credentials: Vec<&Credential> = Vec::new();
    for case in accepted.values() {
        if !credentials.contains(&&case.credential) {
            credentials.push(&case.credential);
        }
    }
    let mut warnings = Vec::new();
    for credential in credentials {
        // (status, whether the operation changes a password)
        let answers: Vec<(u16, bool)> = records
            .iter()
            .filter_map(|record| {
                let case = accepted.get(record.id.as_str())?;
                let status = record.exchange.response.as_ref().ok()?.status;
                let password = PasswordContract::detect(&spec.operations[case.operation]);
                (&case.credential == credential).then_some((status, password.is_some()))
            })
            .collect();
        let total = answers.len();
        let denied = answers
            .iter()
            .filter(|(s, _)| matches!(s, 401 | 403))
            .count();
        // Refusals say something about the account only where a password is changed: elsewhere
        // a valid request may well find nothing (a 404 for an id made up).
        let changes: Vec<u16> = answers
            .iter()
            .filter(|(_, p)| *p)
            .map(|(s, _)| *s)
            .collect();
        let refused = changes.iter().filter(|s| !is_success(**s)).count();
        if total > 0 && denied * 2 > total {
            warnings.push(format!(
                "the `{credential}` token looks invalid or expired: {denied} of {total} valid requests with it were refused with 401/403"
            ));
        } else if !changes.is_empty() && refused * 2 > changes.len() {
            warnings.push(format!(
                "most valid password changes with `{credential}` were refused ({refused} of {}): check the test account's password and the server's password policy",
                changes.len()
            ));
        }
    }
    warnings
}

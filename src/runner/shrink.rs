//! Shrinking: the first failure of each check that the answer alone shows is sent again, smaller,
//! against the live target, until the smallest request that still fails is found. Every step is
//! a real request; the account is put back in a known state after each, and the class of the
//! exact bytes sent (valid, or invalid by its rule) is checked again before a step counts.

use serde_json::Value;

use super::{is_success, Runner};
use crate::checks::{self, Check, Observation, Verdict};
use crate::generate::{self, Encoding, Generator};
use crate::pacing::Sent;
use crate::plan::{self, Body, Case, Intent, Origin, PasswordContract};
use crate::spec::Operation;

/// Checks that judge the answer alone, so that a smaller request can still provoke the same
/// failure: these are shrunk.
const SHRINKABLE: [&str; 7] = [
    "timeout",
    "server_error",
    "status_documented",
    "content_type",
    "response_schema",
    "positive_accepted",
    "no_secret_echo",
];

impl Runner<'_> {
    /// Shrinks the first failure of each check that a smaller input may still provoke, against
    /// the live target, keeping the account in a known state at every step; the smallest
    /// failing request is recorded as `<case>.min`. The case's record is among the records
    /// from `since` on.
    pub(super) async fn shrink_failure(&mut self, case: &Case, since: usize) {
        if self.settings.max_shrink_steps == 0 || self.client.is_none() {
            return;
        }
        let recent = self.records.get(since..).unwrap_or_default();
        let Some(record) = recent.iter().find(|record| record.id == case.id) else {
            return;
        };
        let Some(check) = record
            .verdicts
            .iter()
            .filter(|(_, verdict)| matches!(verdict, Verdict::Fail(_)))
            .map(|(id, _)| *id)
            .find(|id| SHRINKABLE.contains(id) && !self.shrunk.contains(id))
        else {
            return;
        };
        let Some(check) = checks::find(check) else {
            return;
        };
        let found = match &case.origin {
            Origin::Drawn => self.shrink_drawn(case, check).await,
            Origin::Boundary { property } => self.shrink_boundary(case, check, property).await,
            Origin::Fixed => return,
        };
        self.shrunk.push(check.id);
        if let Some((sent, steps)) = found {
            let label = format!("{} (shrunk in {steps} steps)", case.label);
            self.record(
                case,
                &format!("{}.min", case.id),
                &label,
                &case.intent,
                sent,
            );
        }
    }

    /// proptest's shrinking of the case's drawn body, each candidate sent for real.
    async fn shrink_drawn(&mut self, case: &Case, check: &Check) -> Option<(Sent, usize)> {
        let operation = &self.spec.operations[case.operation];
        let schema = operation.request_body.as_ref()?.schema.as_ref()?;
        let contract = PasswordContract::detect(operation);
        let strategy = generate::body_strategy(schema, contract.as_ref());
        let mut tree = Generator::new(case.seed).tree(&strategy)?;
        let (mut best, mut steps) = (None, 0);
        let mut more = tree.simplify();
        while more && steps < self.settings.max_shrink_steps {
            steps += 1;
            match self.try_body(case, check, tree.current()).await {
                Some(sent) => {
                    best = Some((sent, steps));
                    more = tree.simplify();
                }
                None => more = tree.complicate(),
            }
        }
        best
    }

    /// The shortest prefix of a boundary string that still fails, then the shortest suffix of
    /// that, by bisection: boundary values are long, and what they test is their length or a
    /// character in them.
    async fn shrink_boundary(
        &mut self,
        case: &Case,
        check: &Check,
        property: &str,
    ) -> Option<(Sent, usize)> {
        let value = case.body.as_ref()?.value.clone()?;
        let text: Vec<char> = value.get(property)?.as_str()?.chars().collect();
        let with = |chars: &[char]| {
            let mut candidate = value.clone();
            if let Some(object) = candidate.as_object_mut() {
                object.insert(property.into(), Value::String(chars.iter().collect()));
            }
            candidate
        };
        let (mut best, mut steps) = (None, 0);
        // The shortest failing prefix: text[..end].
        let (mut low, mut end) = (0, text.len());
        while low < end && steps < self.settings.max_shrink_steps {
            steps += 1;
            let middle = (low + end) / 2;
            match self.try_body(case, check, with(&text[..middle])).await {
                Some(sent) => {
                    best = Some((sent, steps));
                    end = middle;
                }
                None => low = middle + 1,
            }
        }
        // Then the latest start that still fails: text[start..end].
        let (mut start, mut high) = (0, end);
        while start < high && steps < self.settings.max_shrink_steps {
            steps += 1;
            let middle = (start + high).div_ceil(2);
            match self.try_body(case, check, with(&text[middle..end])).await {
                Some(sent) => {
                    best = Some((sent, steps));
                    start = middle;
                }
                None => high = middle - 1,
            }
        }
        best
    }

    /// Sends `value` as the case's body and says whether `check` still fails on the answer,
    /// after checking that the bytes sent are still of the case's class; then puts the
    /// account back in a known state. Nothing is recorded.
    async fn try_body(&mut self, case: &Case, check: &Check, value: Value) -> Option<Sent> {
        let operation = &self.spec.operations[case.operation];
        let contract = PasswordContract::detect(operation);
        let template = case.body.as_ref()?;
        let body = Body {
            value: Some(value),
            ..template.clone()
        };
        let body = self.bind(&body, contract.as_ref());
        let request = self.request(
            operation,
            &case.credential,
            &case.path_user,
            Some(&body),
            &case.params,
        );
        let sent = self.send(request).await;
        let class_kept = match (&case.intent, operation.request_body.as_ref()) {
            (Intent::Valid, Some(request)) => {
                body.encoding == Encoding::LoneSurrogate
                    || request.schema.as_ref().is_none_or(|schema| {
                        serde_json::from_slice(&sent.exchange.request.body)
                            .is_ok_and(|sent: Value| schema.is_valid(&sent))
                    })
            }
            _ => true,
        };
        let observation = Observation {
            operation,
            intent: &case.intent,
            credential: &case.credential,
            allowed: plan::accepts(operation, self.scheme, &case.credential),
            exchange: &sent.exchange,
            extra_statuses: self
                .settings
                .overrides
                .get(&operation.id)
                .map_or(&[], |a| a.extra_statuses.as_slice()),
        };
        let fails = class_kept && matches!((check.evaluate)(&observation), Verdict::Fail(_));
        if let Some(contract) = &contract {
            let attempted = body
                .value
                .as_ref()
                .and_then(|value| value.get(&contract.new))
                .and_then(Value::as_str)
                .map(str::to_string);
            let accepted = sent
                .exchange
                .response
                .as_ref()
                .is_ok_and(|r| is_success(r.status));
            self.settle(operation, contract, attempted, accepted).await;
        }
        fails.then_some(sent)
    }

    /// Finds the account's password after an unrecorded request, most likely first, and moves
    /// it to a fresh one the run knows.
    async fn settle(
        &mut self,
        operation: &Operation,
        contract: &PasswordContract,
        attempted: Option<String>,
        accepted: bool,
    ) {
        let Some(index) = self
            .spec
            .operations
            .iter()
            .position(|o| std::ptr::eq(o, operation))
        else {
            return;
        };
        let Some(credential) = self.owner_credential(operation) else {
            return;
        };
        let current: Vec<String> = self.password.iter().cloned().collect();
        let mut candidates: Vec<String> = Vec::new();
        for candidate in if accepted {
            [attempted, current.first().cloned()]
        } else {
            [current.first().cloned(), attempted]
        }
        .into_iter()
        .flatten()
        {
            if !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
        for candidate in candidates {
            let fresh = self.generator.fresh_password();
            if let Ok(status) = self
                .change(index, contract, &credential, &candidate, &fresh)
                .await
            {
                if is_success(status) {
                    self.remember(&fresh);
                    self.password = Some(fresh);
                    self.changed = true;
                    return;
                }
            }
        }
        self.password = None;
    }
}

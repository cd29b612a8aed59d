//! The run: plan → requests → checks → `Outcome`.
//!
//! Requests on one account are sent in order, because a password change must know the
//! current password. After every request that could have touched the account the runner sends
//! probes that prove what state it is in (the old password fails, the new one works, or the
//! password is as it was) and keeps track of the password, which it puts back at the end.

mod shrink;
mod summary;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::Value;

use crate::auth::{Credential, Tokens};
use crate::case::{self, Declared, PasswordState};
use crate::checks::{self, Check, Observation, Severity, Verdict};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::client::{Client, Exchange, Request};
use crate::config::Override;
use crate::error::{Error, Result};
use crate::generate::{Encoding, Generator};
use crate::pacing::{Pacer, Sent};
use crate::plan::{self, Body, Budget, Case, Intent, PasswordContract, PathUser, Probe};
use crate::report::passed::Passed;
use crate::report::{Latency, Outcome, Record, Restore};
use crate::spec::{Location, Operation, SecurityScheme, Spec};

/// After this many transport failures in a row the target is taken to be down.
const MAX_CONSECUTIVE_TRANSPORT_FAILURES: usize = 3;
/// At most this many remembered passwords are tried when the account's state is lost.
const MAX_RECOVERY_ATTEMPTS: usize = 8;
/// Passwords remembered for recovery: the newest few are the likely ones, and a long run
/// neither grows nor slows with the number of changes it made.
const HISTORY: usize = 4 * MAX_RECOVERY_ATTEMPTS;

/// The test account the run may change.
#[derive(Clone, Debug)]
pub struct Account {
    pub user_id: String,
    pub password: String,
    pub other_user_id: Option<String>,
    /// The other account's password and `user` token: with them the run proves that a
    /// refused change left that account's password as it was (and puts it back if not).
    pub other_password: Option<String>,
    pub other_token: Option<String>,
}

/// What the runner needs, validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub base_url: Url,
    pub target_label: String,
    pub embedded: bool,
    pub tokens: Tokens,
    /// The made-up token sent as `Credential::Unknown`.
    pub unknown_token: String,
    pub account: Account,
    pub seed: u64,
    pub budget: Budget,
    /// The checks to apply, in catalogue order.
    pub checks: Vec<&'static Check>,
    /// Warnings count as failures.
    pub strict: bool,
    /// Declarative cases to send after the generated ones.
    pub declared: Vec<Declared>,
    /// Per-operation adjustments, by operationId.
    pub overrides: BTreeMap<String, Override>,
    /// Headers sent with every request (`--header`), values secret.
    pub headers: Vec<(String, String)>,
    /// Requests per second at most.
    pub rate_limit: Option<f64>,
    /// Cases of operations that change no password sent at the same time, at most (1: one
    /// after another). Password changes on the account are always sent in order.
    pub concurrency: usize,
    /// Wrong current passwords the run may send, so that a lockout policy is never tripped.
    pub max_wrong_passwords: usize,
    /// Put the original password back at the end.
    pub restore: bool,
    /// Only these cases (`--only`, `specgate replay`).
    pub only: Option<Vec<String>>,
    /// Stop starting new cases after this long.
    pub time_budget: Option<Duration>,
    /// Requests one shrink may send (0: no shrinking).
    pub max_shrink_steps: usize,
    /// (K, N): only cases whose number is K modulo N.
    pub partition: Option<(usize, usize)>,
    /// Told of each finished case: (cases done, cases planned, failures so far).
    pub progress: Option<Progress>,
    /// OAuth2 grants to refresh expired tokens with.
    pub oauth: Option<OAuthState>,
    /// Notes from before the run (scopes the identity provider refused).
    pub notes: Vec<String>,
}

/// The OAuth2 client and the grants the run's tokens came from.
#[derive(Clone, Debug)]
pub struct OAuthState {
    pub config: crate::oauth::OAuthConfig,
    pub grants: BTreeMap<String, crate::oauth::Grant>,
}

/// A progress callback; the caller draws what it likes.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(usize, usize, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// The credentials a run tests: no token, an unknown token, and each scope of the first
/// scoped security scheme that has a token.
fn credentials<'a>(
    spec: &'a Spec,
    settings: &Settings,
) -> (Option<&'a SecurityScheme>, Vec<Credential>) {
    let scheme = spec
        .security_schemes
        .iter()
        .find(|scheme| !scheme.scopes.is_empty());
    let mut credentials = vec![Credential::Anonymous, Credential::Unknown];
    credentials.extend(
        scheme
            .iter()
            .flat_map(|scheme| &scheme.scopes)
            .filter(|scope| settings.tokens.get(scope).is_some())
            .map(|scope| Credential::Scope(scope.clone())),
    );
    (scheme, credentials)
}

/// The cases a run sends, in order (probes aside), drawn as they are taken.
pub struct Planned<'a> {
    pub cases: Box<dyn Iterator<Item = Case> + 'a>,
    /// How many at most (a body the generator cannot draw is left out).
    pub len: usize,
    /// How many of them send a current password known to be wrong.
    pub wrong_passwords: usize,
}

/// The cases a run with `settings` sends, and the generator that makes the run's fresh
/// passwords.
pub fn plan<'a>(spec: &'a Spec, settings: &'a Settings) -> (Planned<'a>, Generator) {
    let (scheme, credentials) = credentials(spec, settings);
    let plan = plan::build(plan::Context {
        spec,
        credentials,
        scheme: scheme.map(|scheme| scheme.name.as_str()),
        has_other_user: settings.account.other_user_id.is_some(),
        declared: &settings.declared,
        budget: &settings.budget,
        seed: settings.seed,
    });
    let keep = |index: usize, id: &str| {
        settings
            .partition
            .is_none_or(|(part, parts)| index % parts == part - 1)
            && settings
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|known| known == id))
    };
    let wrong_passwords = plan
        .wrong_passwords()
        .iter()
        .filter(|index| keep(**index, &plan::case_id(**index + 1)))
        .count();
    let total = plan.len();
    let kept = plan
        .enumerate()
        .filter(move |(index, case)| keep(*index, &case.id))
        .map(|(_, case)| case);
    let planned = match (&settings.only, settings.partition) {
        // A few named cases: drawn now, counted exactly.
        (Some(_), _) => {
            let cases: Vec<Case> = kept.collect();
            Planned {
                len: cases.len(),
                cases: Box::new(cases.into_iter()),
                wrong_passwords,
            }
        }
        (None, partition) => Planned {
            len: partition.map_or(total, |(part, parts)| partition_len(total, part, parts)),
            cases: Box::new(kept),
            wrong_passwords,
        },
    };
    // Probes and restoring draw their fresh passwords from a stream of their own, so that the
    // cases' requests do not depend on how many probes came before.
    (planned, Generator::new(settings.seed ^ PROBE_STREAM))
}

/// How many of `total` cases, numbered from 0, are `index % parts == part - 1`.
fn partition_len(total: usize, part: usize, parts: usize) -> usize {
    if total >= part {
        (total - part) / parts + 1
    } else {
        0
    }
}

/// Salt of the probes' random stream.
const PROBE_STREAM: u64 = 0x5EED_0F9E_0BE5;

/// The requests of `cases` as they would be sent with the account's password as it is now,
/// for `--dry-run`. Nothing is sent.
pub fn requests(spec: &Spec, settings: &Settings) -> Vec<(Case, Request)> {
    let (planned, generator) = plan(spec, settings);
    let mut runner = Runner::new(spec, settings, None, generator);
    planned
        .cases
        .map(|case| {
            let operation = &spec.operations[case.operation];
            let contract = PasswordContract::detect(operation);
            let body = case
                .body
                .as_ref()
                .map(|body| runner.bind(body, contract.as_ref()));
            let request = runner.request(
                operation,
                &case.credential,
                &case.path_user,
                body.as_ref(),
                &case.params,
            );
            (case, request)
        })
        .collect()
}

/// Runs every case of the plan against the target. `stop` is raised (by a signal) to end the
/// run early: the case in flight finishes, then the password is restored.
pub async fn run(
    spec: &Spec,
    settings: &Settings,
    client: &Client,
    stop: &AtomicBool,
) -> Result<Outcome> {
    let started = Instant::now();
    let (scheme, _) = credentials(spec, settings);
    let (planned, generator) = off_the_io_path(|| plan(spec, settings));
    let Planned {
        mut cases,
        len,
        wrong_passwords,
    } = planned;
    let mut runner = Runner::new(spec, settings, Some(client), generator);
    runner.reserved = wrong_passwords;
    let concurrency = settings.concurrency.max(1);
    let mut ahead: VecDeque<Case> = VecDeque::new();
    let mut aborted = None;
    let mut index = 0;
    loop {
        if ahead.len() < concurrency {
            off_the_io_path(|| ahead.extend(cases.by_ref().take(DRAW_AHEAD.max(concurrency))));
        }
        let Some(next) = ahead.front() else {
            break;
        };
        if stop.load(Ordering::SeqCst) {
            aborted = Some(format!("interrupted before case {}", next.id));
            break;
        }
        if settings
            .time_budget
            .is_some_and(|budget| started.elapsed() >= budget)
        {
            runner.notes.push(format!(
                "the time budget ran out before case {}: {} planned cases were not sent",
                next.id,
                len.saturating_sub(index)
            ));
            break;
        }
        // The first case goes alone: its answer decides whether the target is usable at all.
        let width = if index == 0 {
            1
        } else {
            batch_width(ahead.make_contiguous(), &runner.stateful, concurrency)
        };
        let batch: Vec<Case> = ahead.drain(..width).collect();
        let done = if let [case] = batch.as_slice() {
            let since = runner.records.len();
            runner.case(case).await;
            runner.shrink_failure(case, since).await;
            1
        } else {
            runner.independent_cases(&batch).await
        };
        index += done;
        if let Some(progress) = &settings.progress {
            (progress.0)(index, len.max(index), runner.failures);
        }
        if let Some(reason) = runner.first_error.take().filter(|_| index == 1) {
            return Err(Error::Target {
                url: settings.target_label.clone(),
                reason,
            });
        }
        if runner.transport_failures >= MAX_CONSECUTIVE_TRANSPORT_FAILURES {
            aborted = Some(format!(
                "the target stopped answering after case {}: {} requests in a row failed",
                batch[done - 1].id,
                runner.transport_failures
            ));
            break;
        }
    }
    let restore = if settings.restore {
        runner.restore().await
    } else {
        Restore::Skipped(runner.password.clone())
    };
    let restore = match (restore, runner.other_unrestored.take()) {
        (Restore::Failed(reason), _) => Restore::Failed(reason),
        (_, Some(reason)) => Restore::Failed(reason),
        (restore, None) => restore,
    };
    let matrix = summary::matrix(spec, scheme, settings, &runner.answers);
    let warnings = summary::setup_warnings(&runner.answers);
    runner.passed.seal();
    if let Some(reason) = runner.passed.in_memory() {
        runner.notes.push(format!(
            "passing exchanges were kept in memory for the JUnit report: {reason}; set TMPDIR to a writable directory for long runs"
        ));
    }
    Ok(Outcome {
        checks: settings.checks.iter().map(|check| check.id).collect(),
        warnings,
        notes: runner.notes,
        refreshed: runner.refreshed,
        throttled: runner.pacer.throttled(),
        interrupted: stop.load(Ordering::SeqCst),
        spec_source: spec.source.clone(),
        spec_sha256: spec.sha256.clone(),
        target: settings.target_label.clone(),
        embedded: settings.embedded,
        account: settings.account.user_id.clone(),
        seed: settings.seed,
        records: runner.records,
        passed: runner.passed,
        cases: runner.cases_sent,
        latency: runner.latency,
        matrix,
        aborted,
        restore,
        elapsed: started.elapsed(),
    })
}

/// Cases drawn ahead of the one being sent, at a time.
const DRAW_AHEAD: usize = 64;

/// Runs CPU-bound work (drawing cases) so that it does not hold up the async workers: on a
/// multi-threaded runtime the worker hands its other tasks (the embedded server's among them)
/// to another thread meanwhile.
fn off_the_io_path<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// How many of the leading `cases` may be sent at the same time: those of operations that
/// change no password (`stateful` says which do, by operation), at most `concurrency`, and at
/// least one.
fn batch_width(cases: &[Case], stateful: &[bool], concurrency: usize) -> usize {
    cases
        .iter()
        .take(concurrency)
        .take_while(|case| !stateful[case.operation] && !case.uses_wrong_password())
        .count()
        .max(1)
}

struct Runner<'a> {
    spec: &'a Spec,
    settings: &'a Settings,
    /// `None` when only planning (`--dry-run`).
    client: Option<&'a Client>,
    pacer: Pacer,
    scheme: Option<&'a str>,
    generator: Generator,
    /// Whether each operation changes the account's password (by index): its cases are sent
    /// one by one.
    stateful: Vec<bool>,
    /// Exchanges with a failed verdict, in full.
    records: Vec<Record>,
    /// Every other exchange, spooled.
    passed: Passed,
    /// Exchanges recorded so far.
    seq: u64,
    /// Records made since the current case's own: numbers its probes.
    since_case: usize,
    /// Cases sent (probes and shrinking aside).
    cases_sent: usize,
    /// Why the run's first request got no answer, if it got none.
    first_error: Option<String>,
    /// What valid cases got: the scope matrix and the setup warnings.
    answers: summary::Answers,
    latency: Latency,
    /// The account's password as far as the run knows; `None` once it is lost.
    password: Option<String>,
    /// The newest passwords the account may have had, oldest first (at most `HISTORY`).
    history: VecDeque<String>,
    /// Whether any request may have changed the password.
    changed: bool,
    transport_failures: usize,
    /// Wrong-password attempts the run may still make.
    wrong_left: usize,
    /// Planned cases still to come that need a wrong-password attempt: probes leave them theirs.
    reserved: usize,
    /// What the report should mention that is neither a failure nor a setup warning.
    notes: Vec<String>,
    /// Checks whose failure has been shrunk once already.
    shrunk: Vec<&'static str>,
    /// Failed verdicts so far, for progress.
    failures: usize,
    /// Why the other account's password could not be put back, if it could not.
    other_unrestored: Option<String>,
    /// The tokens requests carry: the settings' own, as refreshed during the run.
    tokens: Tokens,
    /// OAuth2 grants by scope, for refreshing.
    grants: BTreeMap<String, crate::oauth::Grant>,
    /// Scopes refreshed whose new token no answer has accepted yet.
    unproven: std::collections::BTreeSet<String>,
    /// Tokens replaced by a refresh, with their scope: an answer to a request that still
    /// carried one is sent again with the new token.
    replaced: BTreeMap<String, String>,
    /// Tokens got by refreshing: (scope, token), so that reports can scrub them.
    refreshed: Vec<(String, String)>,
}

impl<'a> Runner<'a> {
    fn new(
        spec: &'a Spec,
        settings: &'a Settings,
        client: Option<&'a Client>,
        generator: Generator,
    ) -> Runner<'a> {
        let (scheme, _) = credentials(spec, settings);
        Runner {
            spec,
            settings,
            client,
            pacer: Pacer::new(settings.rate_limit),
            scheme: scheme.map(|scheme| scheme.name.as_str()),
            generator,
            stateful: spec
                .operations
                .iter()
                .map(|operation| PasswordContract::detect(operation).is_some())
                .collect(),
            records: Vec::new(),
            passed: Passed::default(),
            seq: 0,
            since_case: 0,
            cases_sent: 0,
            first_error: None,
            answers: Default::default(),
            latency: Latency::default(),
            password: Some(settings.account.password.clone()),
            history: [settings.account.password.clone()].into(),
            changed: false,
            transport_failures: 0,
            wrong_left: settings.max_wrong_passwords,
            reserved: 0,
            shrunk: Vec::new(),
            failures: 0,
            other_unrestored: None,
            tokens: settings.tokens.clone(),
            grants: settings
                .oauth
                .as_ref()
                .map(|oauth| oauth.grants.clone())
                .unwrap_or_default(),
            unproven: Default::default(),
            replaced: BTreeMap::new(),
            refreshed: Vec::new(),
            notes: settings.notes.clone(),
        }
    }

    /// Sends at the agreed pace, retrying throttled answers. Without a client (planning only)
    /// nothing is sent and the exchange says so.
    async fn send(&mut self, request: Request) -> Sent {
        let Some(client) = self.client else {
            return not_sent(request);
        };
        let sent = self.pacer.send(client, request).await;
        self.retry_refreshed(sent).await
    }

    /// `sent` again with a refreshed token if its token was refused and could be refreshed,
    /// else `sent` itself.
    async fn retry_refreshed(&mut self, sent: Sent) -> Sent {
        let (Some(client), Some(request)) = (self.client, self.refresh_for(&sent).await) else {
            return sent;
        };
        let retried = self.pacer.send(client, request).await;
        // The answer to the new token says whether it works, as any other answer would.
        if let Some(scope) = self.accepted_scope(&retried) {
            self.unproven.remove(&scope);
        }
        retried
    }

    /// The scope of the current token `sent` carried, if an answer came that did not refuse
    /// it with 401.
    fn accepted_scope(&self, sent: &Sent) -> Option<String> {
        let status = sent.exchange.response.as_ref().ok()?.status;
        let bearer = bearer_of(&sent.exchange.request)?;
        (status != 401).then(|| self.scope_of(bearer))?
    }

    /// The scope whose current token is `bearer`.
    fn scope_of(&self, bearer: &str) -> Option<String> {
        self.tokens
            .iter()
            .find(|(_, token)| *token == bearer)
            .map(|(scope, _)| scope.to_string())
    }

    /// Cases of operations that change no password, sent at the same time, then recorded (and
    /// shrunk) in their order as if sent one by one. Returns how many were recorded: answers
    /// after the transport-failure limit are not judged, as a run sending one by one would
    /// have stopped there.
    async fn independent_cases(&mut self, batch: &[Case]) -> usize {
        let requests: Vec<Request> = batch
            .iter()
            .map(|case| {
                let operation = &self.spec.operations[case.operation];
                let body = case.body.as_ref().map(|body| self.bind(body, None));
                self.request(
                    operation,
                    &case.credential,
                    &case.path_user,
                    body.as_ref(),
                    &case.params,
                )
            })
            .collect();
        let answers: Vec<Sent> = match self.client {
            Some(client) => {
                let pacer = &self.pacer;
                futures_util::future::join_all(
                    requests
                        .into_iter()
                        .map(|request| pacer.send(client, request)),
                )
                .await
            }
            None => requests.into_iter().map(not_sent).collect(),
        };
        let mut recorded = 0;
        for (case, sent) in batch.iter().zip(answers) {
            let sent = self.retry_refreshed(sent).await;
            let since = self.records.len();
            self.record(case, &case.id, &case.label, &case.intent, sent);
            self.shrink_failure(case, since).await;
            recorded += 1;
            if self.transport_failures >= MAX_CONSECUTIVE_TRANSPORT_FAILURES {
                break;
            }
        }
        recorded
    }

    /// After a 401 to a request whose token came from an OAuth2 grant: refreshes that grant
    /// and returns the request with the new token, to send once more. A token is refreshed
    /// again only once its last refresh has been accepted somewhere, so that a scope the server
    /// always refuses with 401 does not hammer the identity provider.
    async fn refresh_for(&mut self, sent: &Sent) -> Option<Request> {
        let status = sent.exchange.response.as_ref().ok()?.status;
        let oauth = self.settings.oauth.as_ref()?;
        let request = &sent.exchange.request;
        let bearer = bearer_of(request)?;
        let Some(scope) = self.scope_of(bearer) else {
            // Sent, with others at the same time, before its token was refreshed: once more
            // with the token that replaced it, without refreshing again.
            let scope = self.replaced.get(bearer).filter(|_| status == 401)?;
            let token = self.tokens.get(scope)?;
            return Some(with_bearer(request, token));
        };
        if status != 401 {
            self.unproven.remove(&scope);
            return None;
        }
        let grant = self.grants.get(&scope)?.clone();
        if !self.unproven.insert(scope.clone()) {
            return None;
        }
        match crate::oauth::refresh(&oauth.config, &grant).await {
            Ok(fresh) => {
                if !self.refreshed.iter().any(|(known, _)| *known == scope) {
                    self.notes.push(format!(
                        "the `{scope}` token was refused with 401 during the run and was refreshed"
                    ));
                }
                self.replaced.insert(bearer.to_string(), scope.clone());
                self.tokens.insert(&scope, &fresh.access_token);
                self.refreshed
                    .push((scope.clone(), fresh.access_token.clone()));
                if let Some(token) = &fresh.refresh_token {
                    self.refreshed
                        .push((format!("refresh-{scope}"), token.clone()));
                }
                let retry = with_bearer(request, &fresh.access_token);
                self.grants.insert(scope, fresh);
                Some(retry)
            }
            Err(error) => {
                self.notes.push(format!(
                    "the `{scope}` token was refused (401) and could not be refreshed: {error}"
                ));
                None
            }
        }
    }

    /// Takes one wrong-password attempt from the budget, if the budget allows it; `probe`
    /// attempts leave the reserved share to planned cases.
    fn spend_wrong_password(&mut self, probe: bool) -> bool {
        let floor = if probe { self.reserved } else { 0 };
        if self.wrong_left > floor {
            self.wrong_left -= 1;
            true
        } else {
            false
        }
    }

    async fn case(&mut self, case: &Case) {
        let operation = &self.spec.operations[case.operation];
        if case.uses_wrong_password() {
            self.reserved = self.reserved.saturating_sub(1);
            if !self.spend_wrong_password(false) {
                self.notes.push(format!(
                    "case {} ({}) not sent: the wrong-password budget (--max-wrong-passwords {}) is spent",
                    case.id, case.label, self.settings.max_wrong_passwords
                ));
                return;
            }
        }
        let contract = PasswordContract::detect(operation);
        let mut body = case
            .body
            .as_ref()
            .map(|body| self.bind(body, contract.as_ref()));
        let other_password = self.settings.account.other_password.clone();
        // With the other account's real password, a server that skips the ownership check
        // really changes it, and the probe below sees that.
        if let (PathUser::Other, Some(contract), Some(password)) =
            (&case.path_user, &contract, &other_password)
        {
            if let Some(Value::Object(object)) = body.as_mut().and_then(|b| b.value.as_mut()) {
                object.insert(contract.current.clone(), Value::String(password.clone()));
            }
        }
        let request = self.request(
            operation,
            &case.credential,
            &case.path_user,
            body.as_ref(),
            &case.params,
        );
        let sent = self.send(request).await;
        let status = sent.exchange.response.as_ref().ok().map(|r| r.status);
        let first = self.seq == 0;
        self.record(case, &case.id, &case.label, &case.intent, sent);
        if first && status.is_none() {
            // The first answer decides whether the target is usable at all; probing a target
            // that did not answer would only wait again.
            return;
        }
        if let (PathUser::Other, Some(contract)) = (&case.path_user, &contract) {
            let attempted = body
                .as_ref()
                .and_then(|body| body.value.as_ref())
                .and_then(|value| value.get(&contract.new))
                .and_then(Value::as_str)
                .map(str::to_string);
            let accepted = status.is_some_and(is_success);
            self.verify_other(case, contract, attempted, accepted).await;
            return;
        }

        let (Some(contract), PathUser::Own) = (contract, &case.path_user) else {
            return;
        };
        let attempted = body
            .as_ref()
            .and_then(|body| body.value.as_ref())
            .and_then(|value| value.get(&contract.new))
            .and_then(Value::as_str)
            .map(str::to_string);
        let accepted = status.is_some_and(is_success);
        if let Some(new) = attempted.as_ref().filter(|_| accepted) {
            self.remember(new);
            self.changed = true;
        }
        let expected_change = match &case.intent {
            Intent::Valid => plan::accepts(operation, self.scheme, &case.credential),
            Intent::Declared(expect) => expect.password != Some(PasswordState::Unchanged),
            _ => false,
        };
        match (accepted && expected_change, attempted) {
            (true, Some(new)) => self.verify_changed(case, &contract, new).await,
            (_, attempted) => self.verify_unchanged(case, &contract, attempted).await,
        }
    }

    /// After an accepted change from the known password to `new`.
    async fn verify_changed(&mut self, case: &Case, contract: &PasswordContract, new: String) {
        let Some(old) = self.password.clone() else {
            return;
        };
        // The old password is wrong now, if the server is right: trying it spends the budget.
        if self.spend_wrong_password(true) {
            let probe = self.probe(case, contract, Probe::OldRejected, &old).await;
            if probe.is_some_and(is_success) {
                // The old password still worked, so the probe itself changed it.
                return;
            }
        }
        self.password = Some(new.clone());
        let probe = self.probe(case, contract, Probe::NewWorks, &new).await;
        if !probe.is_some_and(is_success) {
            self.recover(case, contract, &[]).await;
        }
    }

    /// After a request that must not have changed the password.
    async fn verify_unchanged(
        &mut self,
        case: &Case,
        contract: &PasswordContract,
        attempted: Option<String>,
    ) {
        let Some(current) = self.password.clone() else {
            return;
        };
        let probe = self
            .probe(case, contract, Probe::StillWorks, &current)
            .await;
        if !probe.is_some_and(is_success) {
            let first: Vec<String> = attempted.into_iter().collect();
            self.recover(case, contract, &first).await;
        }
    }

    /// After a change aimed at another user's account: with that account's password and token,
    /// prove its password still works (a recorded probe, judged by `own_resource_only`), then
    /// put it back.
    async fn verify_other(
        &mut self,
        case: &Case,
        contract: &PasswordContract,
        attempted: Option<String>,
        accepted: bool,
    ) {
        let account = &self.settings.account;
        let (Some(password), Some(token)) =
            (account.other_password.clone(), account.other_token.clone())
        else {
            return;
        };
        let operation = &self.spec.operations[case.operation];
        let fresh = self.generator.fresh_password();
        let request = self.other_change(operation, contract, &token, &password, &fresh);
        let sent = self.send(request).await;
        let status = sent.exchange.response.as_ref().ok().map(|r| r.status);
        let id = format!("{}.1", case.id);
        let label = format!(
            "probe: the other account's password still works (after {}, with its own token)",
            case.id
        );
        self.record(
            case,
            &id,
            &label,
            &Intent::Probe(Probe::OtherUnchanged),
            sent,
        );
        // Put the other account's password back: from the probe's fresh one, or from what the
        // faulty change set.
        let from = if status.is_some_and(is_success) {
            Some(fresh)
        } else if accepted {
            attempted
        } else {
            None
        };
        let Some(from) = from else {
            return;
        };
        // A server that kept no change still takes the original password: restored too.
        let mut restored = false;
        for from in [from, password.clone()] {
            let request = self.other_change(operation, contract, &token, &from, &password);
            let sent = self.send(request).await;
            if sent
                .exchange
                .response
                .as_ref()
                .is_ok_and(|r| is_success(r.status))
            {
                restored = true;
                break;
            }
        }
        if !restored {
            self.other_unrestored = Some(format!(
                "the other account's password could not be put back after {}",
                case.id
            ));
        }
    }

    /// A password change on the other account from `from` to `to`, with that account's token.
    fn other_change(
        &self,
        operation: &Operation,
        contract: &PasswordContract,
        token: &str,
        from: &str,
        to: &str,
    ) -> Request {
        let body = change_body(operation, contract, from, to);
        let mut request = self.request(
            operation,
            &Credential::Anonymous,
            &PathUser::Other,
            Some(&body),
            &[],
        );
        request
            .headers
            .push(("authorization".into(), format!("Bearer {token}")));
        request
    }

    /// Tries `first`, then remembered passwords, newest first, until one works.
    async fn recover(&mut self, case: &Case, contract: &PasswordContract, first: &[String]) {
        let failed = self.password.take();
        let candidates = self.candidates(first, failed.as_ref());
        for candidate in candidates {
            let status = self.probe(case, contract, Probe::Recover, &candidate).await;
            if status.is_some_and(is_success) {
                return;
            }
        }
    }

    /// Changes the password from `current` to a fresh one; on a 2xx the fresh one becomes
    /// the known password. Returns the status.
    async fn probe(
        &mut self,
        case: &Case,
        contract: &PasswordContract,
        probe: Probe,
        current: &str,
    ) -> Option<u16> {
        let operation = &self.spec.operations[case.operation];
        let credential = self.owner_credential(operation)?;
        let fresh = self.generator.fresh_password();
        let body = change_body(operation, contract, current, &fresh);
        let request = self.request(operation, &credential, &PathUser::Own, Some(&body), &[]);
        let sent = self.send(request).await;
        let status = sent.exchange.response.as_ref().ok().map(|r| r.status);
        if status.is_some_and(is_success) {
            self.remember(&fresh);
            self.password = Some(fresh);
            self.changed = true;
        }
        let id = format!("{}.{}", case.id, self.since_case + 1);
        let label = format!("{} (after {})", probe_label(&probe), case.id);
        let probe_case = Case {
            credential,
            ..case.clone()
        };
        self.record(&probe_case, &id, &label, &Intent::Probe(probe), sent);
        status
    }

    /// Passwords the account may have now, most likely first: `first`, the original, then
    /// remembered ones newest first; never `except`, and at most `MAX_RECOVERY_ATTEMPTS`.
    fn candidates(&self, first: &[String], except: Option<&String>) -> Vec<String> {
        let mut candidates: Vec<String> = Vec::new();
        let original = &self.settings.account.password;
        for password in first
            .iter()
            .chain([original])
            .chain(self.history.iter().rev())
        {
            if !candidates.contains(password) && Some(password) != except {
                candidates.push(password.clone());
            }
        }
        candidates.truncate(MAX_RECOVERY_ATTEMPTS);
        candidates
    }

    fn remember(&mut self, password: &str) {
        if !self.history.iter().any(|known| known == password) {
            if self.history.len() == HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(password.to_string());
        }
    }

    /// The credential probes use: the first scope with a token that the operation accepts.
    fn owner_credential(&self, operation: &Operation) -> Option<Credential> {
        self.settings
            .tokens
            .iter()
            .map(|(scope, _)| Credential::Scope(scope.to_string()))
            .find(|credential| plan::accepts(operation, self.scheme, credential))
    }

    /// The case's body with the account's current password filled in (and, for a declarative
    /// case, every variable).
    fn bind(&mut self, body: &Body, contract: Option<&PasswordContract>) -> Body {
        let mut body = body.clone();
        if body.template {
            let account = &self.settings.account;
            let values = [
                ("$user_id", account.user_id.clone()),
                (
                    "$other_user_id",
                    account.other_user_id.clone().unwrap_or_default(),
                ),
                (
                    "$password",
                    self.password
                        .clone()
                        .unwrap_or_else(|| account.password.clone()),
                ),
                ("$wrong_password", self.generator.fresh_password()),
                ("$fresh_password", self.generator.fresh_password()),
            ];
            let lookup = |name: &str| {
                values
                    .iter()
                    .find(|(variable, _)| *variable == name)
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default()
            };
            body.value = body
                .value
                .as_ref()
                .map(|value| case::substitute(value, &lookup));
            return body;
        }
        let (Some(contract), Some(Value::Object(object)), Some(current)) =
            (contract, body.value.as_mut(), self.password.as_ref())
        else {
            return body;
        };
        // Replace, never add: a body that lacks the property lacks it on purpose.
        let kept = body.keep.contains(&contract.current);
        if let (false, Some(slot)) = (kept, object.get_mut(&contract.current)) {
            *slot = Value::String(current.clone());
        }
        body
    }

    fn request(
        &self,
        operation: &Operation,
        credential: &Credential,
        path_user: &PathUser,
        body: Option<&Body>,
        params: &[(Location, String, String)],
    ) -> Request {
        let account = &self.settings.account;
        let user = match path_user {
            PathUser::Literal(id) => id.clone(),
            PathUser::Own => account.user_id.clone(),
            PathUser::Other => account.other_user_id.clone().unwrap_or_default(),
            PathUser::Unknown => format!("specgate-no-such-user-{:x}", self.settings.seed),
        };
        let drawn = |location: Location, name: &str| {
            params
                .iter()
                .find(|(at, known, _)| *at == location && known == name)
                .map(|(_, _, value)| value.clone())
        };
        let mut url = url_for(&self.settings.base_url, &operation.path, |name| {
            drawn(Location::Path, name).unwrap_or_else(|| user.clone())
        });
        let query: Vec<&(Location, String, String)> = params
            .iter()
            .filter(|(location, _, _)| *location == Location::Query)
            .collect();
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (_, name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        let mut headers = self.settings.headers.clone();
        for (location, name, value) in params {
            if *location == Location::Header {
                headers.push((name.to_lowercase(), value.clone()));
            }
        }
        if let Some(token) = self.tokens.bearer(credential, &self.settings.unknown_token) {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        let mut bytes = Vec::new();
        if let Some(body) = body {
            if let Some(content_type) = &body.content_type {
                headers.push(("content-type".into(), content_type.clone()));
            }
            bytes = body.encoding.encode(body.value.as_ref());
        }
        Request {
            method: operation.method.clone(),
            url: url.to_string(),
            headers,
            body: bytes,
        }
    }

    fn record(&mut self, case: &Case, id: &str, label: &str, intent: &Intent, sent: Sent) {
        let Sent {
            exchange,
            throttled,
        } = sent;
        let operation = &self.spec.operations[case.operation];
        if exchange.response.is_err() {
            self.transport_failures += 1;
        } else {
            self.transport_failures = 0;
        }
        let adjustment = self.settings.overrides.get(&operation.id);
        let observation = Observation {
            operation,
            intent,
            credential: &case.credential,
            allowed: plan::accepts(operation, self.scheme, &case.credential),
            exchange: &exchange,
            extra_statuses: adjustment.map_or(&[], |a| a.extra_statuses.as_slice()),
        };
        let strict = self.settings.strict;
        let verdicts: Vec<(&'static str, Verdict)> = self
            .settings
            .checks
            .iter()
            .filter(|check| {
                adjustment.is_none_or(|a| !a.skip_checks.iter().any(|id| id == check.id))
            })
            .map(|check| {
                let mut verdict = (check.evaluate)(&observation);
                if let Verdict::Fail(finding) = &mut verdict {
                    finding.severity = if strict {
                        Severity::Error
                    } else {
                        check.severity
                    };
                }
                (check.id, verdict)
            })
            // A server still busy after every retry did not do the work: nothing to judge.
            .filter(|(_, verdict)| *verdict != Verdict::Skip && !throttled)
            .collect();
        let policy_refusal = checks::is_policy_refusal(&observation);
        let failed = verdicts
            .iter()
            .filter(|(_, verdict)| matches!(verdict, Verdict::Fail(_)))
            .count();
        self.failures += failed;
        let seq = self.seq;
        self.seq += 1;
        self.latency.record(exchange.elapsed);
        let status = exchange.response.as_ref().ok().map(|r| r.status);
        if seq == 0 {
            self.first_error = exchange.response.as_ref().err().map(ToString::to_string);
        }
        if id == case.id {
            self.since_case = 0;
            self.cases_sent += 1;
            if *intent == Intent::Valid {
                self.answers.add(
                    case.operation,
                    &case.credential,
                    status,
                    observation.allowed,
                    self.stateful[case.operation],
                );
            }
        } else {
            self.since_case += 1;
        }
        if failed == 0 {
            // Reports count and time a passing exchange (a policy refusal too) but never show
            // it: it goes to the spool, so that a long run's memory does not grow with it.
            let name = crate::report::junit::case_name(id, &operation.id, &case.credential, label);
            let checks = verdicts.iter().map(|(check, _)| *check);
            self.passed
                .push(seq, &name, exchange.elapsed, checks, policy_refusal);
            return;
        }
        self.records.push(Record {
            seq,
            id: id.to_string(),
            operation: operation.id.clone(),
            credential: case.credential.clone(),
            label: label.to_string(),
            exchange,
            verdicts,
            policy_refusal,
        });
    }

    /// Puts the original password back, trying what the account may have now.
    async fn restore(&mut self) -> Restore {
        if !self.changed {
            return Restore::NotNeeded;
        }
        let original = self.settings.account.password.clone();
        let Some((index, operation)) = self
            .spec
            .operations
            .iter()
            .enumerate()
            .find(|(_, operation)| PasswordContract::detect(operation).is_some())
        else {
            return Restore::NotNeeded;
        };
        let Some(contract) = PasswordContract::detect(operation) else {
            return Restore::NotNeeded;
        };
        let Some(credential) = self.owner_credential(operation) else {
            return Restore::Failed("no token accepted by the operation".into());
        };
        let known: Vec<String> = self.password.iter().cloned().collect();
        let mut last = String::from("nothing was tried");
        for candidate in self.candidates(&known, None) {
            let outcome = if candidate == original {
                // Confirmed by a round trip, since servers may refuse a change to the same
                // password; a server that takes the original but keeps no change has it still.
                let detour = self.generator.fresh_password();
                match self
                    .change(index, &contract, &credential, &original, &detour)
                    .await
                {
                    Ok(status) if is_success(status) => {
                        match self
                            .change(index, &contract, &credential, &detour, &original)
                            .await
                        {
                            Ok(status) if is_success(status) => Ok(status),
                            _ => {
                                self.change(index, &contract, &credential, &original, &original)
                                    .await
                            }
                        }
                    }
                    other => other,
                }
            } else {
                self.change(index, &contract, &credential, &candidate, &original)
                    .await
            };
            match outcome {
                Ok(status) if is_success(status) => {
                    self.password = Some(original);
                    return Restore::Restored;
                }
                Ok(status) => last = format!("the target answered {status}"),
                Err(reason) => last = reason,
            }
        }
        Restore::Failed(last)
    }

    /// One password change outside the plan (restoring); not checked, not recorded.
    async fn change(
        &mut self,
        operation: usize,
        contract: &PasswordContract,
        credential: &Credential,
        from: &str,
        to: &str,
    ) -> std::result::Result<u16, String> {
        let operation = &self.spec.operations[operation];
        let body = change_body(operation, contract, from, to);
        let request = self.request(operation, credential, &PathUser::Own, Some(&body), &[]);
        self.send(request)
            .await
            .exchange
            .response
            .map(|response| response.status)
            .map_err(|error| error.to_string())
    }
}

/// The bearer token `request` carries.
fn bearer_of(request: &Request) -> Option<&str> {
    request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.strip_prefix("Bearer "))
}

/// `request` with its bearer token replaced by `token`.
fn with_bearer(request: &Request, token: &str) -> Request {
    let mut request = request.clone();
    for (name, value) in &mut request.headers {
        if name.eq_ignore_ascii_case("authorization") {
            *value = format!("Bearer {token}");
        }
    }
    request
}

/// What stands for an answer when there is no client (planning only).
fn not_sent(request: Request) -> Sent {
    Sent {
        exchange: Exchange {
            request,
            response: Err(crate::client::TransportError::Connect("not sent".into())),
            elapsed: Default::default(),
        },
        throttled: false,
    }
}

/// The body of a plain password change from `from` to `to`.
fn change_body(operation: &Operation, contract: &PasswordContract, from: &str, to: &str) -> Body {
    let mut value = serde_json::Map::new();
    value.insert(contract.current.clone(), Value::String(from.to_string()));
    value.insert(contract.new.clone(), Value::String(to.to_string()));
    Body {
        value: Some(Value::Object(value)),
        encoding: Encoding::Json,
        content_type: operation
            .request_body
            .as_ref()
            .map(|b| b.media_type.clone()),
        keep: Vec::new(),
        template: false,
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn probe_label(probe: &Probe) -> &'static str {
    match probe {
        Probe::OldRejected => "probe: old password refused",
        Probe::NewWorks => "probe: new password works",
        Probe::StillWorks => "probe: password unchanged",
        Probe::Recover => "probe: find the password",
        Probe::OtherUnchanged => "probe: the other account's password still works",
    }
}

/// `base` joined with `template`, each `{param}` replaced by `value(param)`, percent-encoded.
pub fn url_for(base: &Url, template: &str, value: impl Fn(&str) -> String) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
        for segment in template.split('/').filter(|s| !s.is_empty()) {
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => segments.push(&value(param)),
                None => segments.push(segment),
            };
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_lengths_add_up() {
        for total in 0..40 {
            for parts in 1..6 {
                let mut sum = 0;
                for part in 1..=parts {
                    let counted = (0..total).filter(|i| i % parts == part - 1).count();
                    assert_eq!(
                        partition_len(total, part, parts),
                        counted,
                        "{total} {part}/{parts}"
                    );
                    sum += counted;
                }
                assert_eq!(sum, total);
            }
        }
    }
}

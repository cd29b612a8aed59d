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
use crate::spec::{Location, Operation, Spec};

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
    /// After a change aimed at another user: that user's password must still work (sent with
    /// that user's own token).
    OtherUnchanged,
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
    pub phase: Phase,
    /// Parameter values drawn from their schemas: (where, name, value). The password
    /// contract's account parameter is not among them: the runner fills it in.
    pub params: Vec<(Location, String, String)>,
    /// The case's own seed: its body is drawn from it alone, so that it can be drawn again to
    /// shrink or replay it, whatever the other cases are.
    pub seed: u64,
    pub origin: Origin,
}

impl Case {
    /// Whether the case sends a current password known to be wrong: such cases spend the
    /// budget that keeps a server's lockout policy from tripping.
    pub fn uses_wrong_password(&self) -> bool {
        match &self.intent {
            Intent::WrongPassword => true,
            Intent::Declared(_) => self
                .body
                .as_ref()
                .and_then(|body| body.value.as_ref())
                .is_some_and(|value| value.to_string().contains("\"$wrong_password\"")),
            _ => false,
        }
    }
}

/// The id of the case numbered `number` (from 1).
pub fn case_id(number: usize) -> String {
    format!("c{number:04}")
}

/// The phases of a run, in the order they run (`--phases` picks some).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Phase {
    /// Hand-written cases: the declarative cases of cases/ and `--cases-dir`.
    Examples,
    /// Deterministic cases: boundary values, bodies that break one rule each, wrong
    /// passwords, other accounts.
    Coverage,
    /// Valid bodies drawn at random from the schema.
    Fuzz,
}

/// How a case's body was made, which says how it can be shrunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Written out (declared, or a fixed mutation): sent as it is.
    Fixed,
    /// Drawn from the request schema with the case's seed (`generate::body_strategy`).
    Drawn,
    /// A boundary value in the named top-level string property.
    Boundary { property: String },
}

/// How much to generate.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Valid bodies per operation for each credential the operation accepts.
    pub cases: usize,
    /// Valid bodies for each credential the operation must reject.
    pub rejected_cases: usize,
    pub phases: Vec<Phase>,
}

/// A case's seed: the run's seed and the case's number, mixed (splitmix64) so that
/// neighbouring cases draw unrelated values.
pub fn case_seed(seed: u64, number: usize) -> u64 {
    let mut z = seed ^ (number as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What the planner knows of the run.
pub struct Context<'a> {
    pub spec: &'a Spec,
    pub credentials: Vec<Credential>,
    pub scheme: Option<&'a str>,
    pub has_other_user: bool,
    pub declared: &'a [Declared],
    pub budget: &'a Budget,
    pub seed: u64,
}

/// Builds the plan: the examples phase (declarative cases that can run: their credential has
/// a token, and they name another user only when there is one), then coverage, then fuzz, each
/// over every operation and credential.
pub fn build(context: Context<'_>) -> Plan<'_> {
    let phases = &context.budget.phases;
    let mut planner = Planner {
        context: &context,
        cases: Vec::new(),
        base: 0,
    };
    if phases.contains(&Phase::Examples) {
        planner.examples();
    }
    let examples = planner.cases;
    // Positions (from 0) of `cases`, numbered after `base` others, that send a wrong password.
    let wrong = |cases: &[Case], base: usize| -> Vec<usize> {
        (base..)
            .zip(cases)
            .filter(|(_, case)| case.uses_wrong_password())
            .map(|(index, _)| index)
            .collect()
    };
    let mut wrong_passwords = wrong(&examples, 0);
    // The coverage groups are drawn once here to be counted, then again as the run takes
    // them: a spec of hundreds of operations never holds all their bodies at once.
    let mut groups = Vec::new();
    let mut number = examples.len();
    if phases.contains(&Phase::Coverage) {
        for operation in 0..context.spec.operations.len() {
            for credential in 0..context.credentials.len() {
                let cases = coverage_group(&context, number, operation, credential);
                wrong_passwords.extend(wrong(&cases, number));
                number += cases.len();
                groups.push((operation, credential));
            }
        }
    }
    // The fuzz phase: `budget.cases` valid bodies per operation for each credential it
    // accepts, `budget.rejected_cases` for each it refuses.
    let mut pairs = Vec::new();
    if phases.contains(&Phase::Fuzz) {
        for (index, operation) in context.spec.operations.iter().enumerate() {
            for (credential, which) in context.credentials.iter().enumerate() {
                let count = if accepts(operation, context.scheme, which) {
                    context.budget.cases
                } else {
                    context.budget.rejected_cases
                };
                pairs.push((index, credential, count));
            }
        }
    }
    Plan {
        len: number + pairs.iter().map(|(_, _, count)| count).sum::<usize>(),
        number: examples.len(),
        ready: examples.into(),
        groups: groups.into_iter(),
        wrong_passwords,
        pairs: pairs.into_iter(),
        current: None,
        context,
    }
}

/// The coverage phase's cases for one operation and credential (by index), numbered after
/// the `base` cases before them.
fn coverage_group(
    context: &Context,
    base: usize,
    operation: usize,
    credential: usize,
) -> Vec<Case> {
    let mut planner = Planner {
        context,
        cases: Vec::new(),
        base,
    };
    planner.coverage(
        operation,
        &context.spec.operations[operation],
        &context.credentials[credential],
    );
    planner.cases
}

/// The plan of a run: its cases in order, drawn as the run asks for them, so that a long run
/// or a large spec never holds all its cases at once. The examples are drawn up front, the
/// coverage phase an operation and credential at a time (a few dozen cases each), the fuzz
/// phase, as long as `--cases` makes it, one case at a time.
pub struct Plan<'a> {
    context: Context<'a>,
    /// Drawn and not yet taken.
    ready: std::collections::VecDeque<Case>,
    /// Coverage groups still to draw: (operation, credential index).
    groups: std::vec::IntoIter<(usize, usize)>,
    /// Positions (from 0) of the cases that send a wrong current password.
    wrong_passwords: Vec<usize>,
    /// Fuzz draws still to make: (operation, credential index, count), in order.
    pairs: std::vec::IntoIter<(usize, usize, usize)>,
    /// The pair being drawn, with its draws left.
    current: Option<(usize, usize, usize)>,
    /// Cases numbered so far.
    number: usize,
    len: usize,
}

impl Plan<'_> {
    /// Cases in the plan: at most this many (a body the generator cannot draw is left out).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Positions (from 0) of the cases that send a current password known to be wrong.
    pub fn wrong_passwords(&self) -> &[usize] {
        &self.wrong_passwords
    }

    fn next_fuzz(&mut self) -> Option<Case> {
        loop {
            let (operation, credential) = match &mut self.current {
                Some((operation, credential, left)) if *left > 0 => {
                    *left -= 1;
                    (*operation, *credential)
                }
                _ => {
                    self.current = Some(self.pairs.next()?);
                    continue;
                }
            };
            let context = &self.context;
            let number = self.number + 1;
            let own = |label: &str, body, origin| Draft {
                label: label.to_string(),
                credential: context.credentials[credential].clone(),
                path_user: PathUser::Own,
                body,
                intent: Intent::Valid,
                origin,
            };
            let spec_operation = &context.spec.operations[operation];
            let draft = match draw(spec_operation, case_seed(context.seed, number)) {
                None => own("no body", None, Origin::Fixed),
                Some(Some(body)) => own("valid body", Some(body), Origin::Drawn),
                // The same seed would fail again: the draw is left out.
                Some(None) => continue,
            };
            self.number = number;
            return Some(numbered(context, Phase::Fuzz, operation, number, draft));
        }
    }
}

impl Iterator for Plan<'_> {
    type Item = Case;

    fn next(&mut self) -> Option<Case> {
        loop {
            if let Some(case) = self.ready.pop_front() {
                return Some(case);
            }
            let Some((operation, credential)) = self.groups.next() else {
                return self.next_fuzz();
            };
            let cases = coverage_group(&self.context, self.number, operation, credential);
            self.number += cases.len();
            self.ready.extend(cases);
        }
    }
}

struct Planner<'a> {
    context: &'a Context<'a>,
    cases: Vec<Case>,
    /// Cases numbered before these.
    base: usize,
}

/// A case before it is numbered.
struct Draft {
    label: String,
    credential: Credential,
    path_user: PathUser,
    body: Option<Body>,
    intent: Intent,
    origin: Origin,
}

/// The case numbered `number` (from 1), with its parameters drawn from its own seed.
fn numbered(
    context: &Context,
    phase: Phase,
    operation: usize,
    number: usize,
    draft: Draft,
) -> Case {
    let seed = case_seed(context.seed, number);
    Case {
        params: draw_params(&context.spec.operations[operation], seed ^ PARAM_STREAM),
        id: case_id(number),
        operation,
        label: draft.label,
        credential: draft.credential,
        path_user: draft.path_user,
        body: draft.body,
        intent: draft.intent,
        phase,
        seed,
        origin: draft.origin,
    }
}

/// A valid body drawn with `seed` (`None`: the operation takes no body; `Some(None)`: the
/// schema could not be satisfied).
fn draw(operation: &Operation, seed: u64) -> Option<Option<Body>> {
    let request = operation.request_body.as_ref()?;
    let Some(schema) = request.schema.as_ref() else {
        return Some(None);
    };
    let contract = PasswordContract::detect(operation);
    let mut generator = Generator::new(seed);
    Some(generator.body(schema, contract.as_ref()).map(|value| Body {
        value: Some(value),
        encoding: Encoding::Json,
        content_type: Some(request.media_type.clone()),
        keep: Vec::new(),
        template: false,
    }))
}

impl Planner<'_> {
    /// The seed the next case will have.
    fn next_seed(&self) -> u64 {
        case_seed(self.context.seed, self.base + self.cases.len() + 1)
    }

    fn push(&mut self, phase: Phase, operation: usize, draft: Draft) {
        let number = self.base + self.cases.len() + 1;
        let case = numbered(self.context, phase, operation, number, draft);
        self.cases.push(case);
    }

    fn examples(&mut self) {
        let context = self.context;
        for case in context.declared {
            if !context.credentials.contains(&case.credential)
                || (case.needs_other_user() && !context.has_other_user)
            {
                continue;
            }
            let path_user = match case.path_user.as_str() {
                "$user_id" => PathUser::Own,
                "$other_user_id" => PathUser::Other,
                literal => {
                    PathUser::Literal(literal.strip_prefix('$').unwrap_or(literal).to_string())
                }
            };
            let media_type = media_type(&context.spec.operations[case.operation]);
            let body = case.body.as_ref().map(|value| Body {
                value: Some(value.clone()),
                encoding: Encoding::Json,
                content_type: Some(media_type.to_string()),
                keep: Vec::new(),
                template: true,
            });
            let draft = Draft {
                label: case.name.clone(),
                credential: case.credential.clone(),
                path_user,
                body,
                intent: Intent::Declared(Box::new(case.expect.clone())),
                origin: Origin::Fixed,
            };
            self.push(Phase::Examples, case.operation, draft);
        }
    }

    /// A valid body drawn with the next case's seed.
    fn draw(&self, operation: &Operation) -> Option<Option<Body>> {
        draw(operation, self.next_seed())
    }

    /// The coverage phase's cases for one operation and credential.
    fn coverage(&mut self, index: usize, operation: &Operation, credential: &Credential) {
        let phase = Phase::Coverage;
        let context = self.context;
        let allowed = accepts(operation, context.scheme, credential);
        let own = |label: &str, body: Option<Body>, intent: Intent, origin: Origin| Draft {
            label: label.to_string(),
            credential: credential.clone(),
            path_user: PathUser::Own,
            body,
            intent,
            origin,
        };
        let request = operation.request_body.as_ref();
        let (Some(schema), Some(Some(sample))) = (
            request.and_then(|body| body.schema.as_ref()),
            self.draw(operation),
        ) else {
            return;
        };
        let Some(sample_value) = sample.value.clone() else {
            return;
        };
        let contract = PasswordContract::detect(operation);
        // Boundary values matter where the body is read: under a credential the operation
        // accepts.
        if allowed {
            for boundary in generate::boundaries(schema, &sample_value) {
                if contract
                    .as_ref()
                    .is_some_and(|c| c.current == boundary.property)
                {
                    continue;
                }
                // A lone surrogate is a string to the schema, though no UTF-8 text holds it.
                let valid = boundary.encoding == Encoding::LoneSurrogate
                    || schema.is_valid(&boundary.value);
                let intent = if valid {
                    Intent::Valid
                } else {
                    Intent::InvalidBody {
                        rule: "bounds",
                        properties: vec![boundary.property.clone()],
                    }
                };
                let body = Body {
                    value: Some(boundary.value),
                    encoding: boundary.encoding,
                    content_type: sample.content_type.clone(),
                    keep: Vec::new(),
                    template: false,
                };
                let origin = Origin::Boundary {
                    property: boundary.property.clone(),
                };
                let label = format!("`{}` {}", boundary.property, boundary.label);
                self.push(phase, index, own(&label, Some(body), intent, origin));
            }
        }
        let media_type = media_type(operation);
        let mut mutations = generate::mutations(schema, &sample_value, media_type);
        // One body far over any sane size limit, where the body is read.
        if allowed {
            mutations.push(generate::oversized(&sample_value, media_type));
        }
        for mutation in mutations {
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
            self.push(
                phase,
                index,
                own(&mutation.label, Some(body), intent, Origin::Fixed),
            );
        }
        let (true, Some(contract)) = (allowed, contract) else {
            return;
        };
        for _ in 0..2 {
            let Some(Some(mut body)) = self.draw(operation) else {
                continue;
            };
            if let Some(Value::Object(object)) = body.value.as_mut() {
                let wrong = Generator::new(self.next_seed() ^ 1).fresh_password();
                object.insert(contract.current.clone(), Value::String(wrong));
            }
            body.keep = vec![contract.current.clone()];
            let draft = own(
                "wrong current password",
                Some(body),
                Intent::WrongPassword,
                Origin::Fixed,
            );
            self.push(phase, index, draft);
        }
        let mut others = vec![(PathUser::Unknown, Intent::UnknownUser, "unknown user")];
        if context.has_other_user {
            others.push((PathUser::Other, Intent::OtherUser, "another user's account"));
        }
        for (path_user, intent, label) in others {
            if let Some(Some(body)) = self.draw(operation) {
                let draft = Draft {
                    path_user,
                    ..own(label, Some(body), intent, Origin::Fixed)
                };
                self.push(phase, index, draft);
            }
        }
        // Path parameters that break servers: none of them names the test account, so a
        // conformant server refuses each with a 4xx (which one depends on its routing).
        for (label, user) in path_values() {
            if let Some(Some(body)) = self.draw(operation) {
                let intent = Intent::InvalidBody {
                    rule: "path",
                    properties: Vec::new(),
                };
                let draft = Draft {
                    path_user: PathUser::Literal(user),
                    ..own(&format!("path: {label}"), Some(body), intent, Origin::Fixed)
                };
                self.push(phase, index, draft);
            }
        }
    }
}

/// Odd values of the account's path parameter, with their labels.
fn path_values() -> [(&'static str, String); 6] {
    [
        ("empty user id", String::new()),
        ("user id of 2048 characters", "x".repeat(2048)),
        ("user id with an encoded slash", "alice/../bob".into()),
        ("user id `..`", "..".into()),
        ("user id with a percent-encoded dot-dot", "%2e%2e".into()),
        ("unicode user id", "ålice-🔑-\u{202E}".into()),
    ]
}

/// Salt of the parameters' random stream, apart from the body's.
const PARAM_STREAM: u64 = 0x0009_A4A3_5EED;

/// Valid values for the operation's parameters: every required one, and each optional one
/// half the time. A parameter whose schema cannot be satisfied is left out.
fn draw_params(operation: &Operation, seed: u64) -> Vec<(Location, String, String)> {
    let contract = PasswordContract::detect(operation);
    let mut generator = Generator::new(seed);
    let mut params = Vec::new();
    for parameter in &operation.parameters {
        if contract
            .as_ref()
            .is_some_and(|c| c.user_param == parameter.name)
            && parameter.location == Location::Path
        {
            continue;
        }
        let Some(schema) = &parameter.schema else {
            continue;
        };
        if !parameter.required && !generator.coin() {
            continue;
        }
        if let Some(value) = generator.valid(schema) {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            params.push((parameter.location, parameter.name.clone(), text));
        }
    }
    params
}

fn media_type(operation: &Operation) -> &str {
    operation
        .request_body
        .as_ref()
        .map_or("application/json", |body| body.media_type.as_str())
}

/// Whether `operation` accepts `credential` (a token with only that scope of `scheme`).
pub fn accepts(operation: &Operation, scheme: Option<&str>, credential: &Credential) -> bool {
    match (credential, scheme) {
        _ if operation.security.is_empty() => true,
        (Credential::Scope(scope), Some(scheme)) => operation.allows(scheme, &[scope.as_str()]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'a>(spec: &'a Spec, budget: &'a Budget, seed: u64) -> Context<'a> {
        Context {
            spec,
            credentials: vec![
                Credential::Anonymous,
                Credential::Scope("admin".into()),
                Credential::Scope("user".into()),
            ],
            scheme: Some("oauth"),
            has_other_user: true,
            declared: &[],
            budget,
            seed,
        }
    }

    #[test]
    fn the_plan_is_numbered_in_phase_order_and_drawn_the_same_each_time() {
        let spec = crate::spec::load(None).expect("the shipped spec");
        let budget = Budget {
            cases: 30,
            rejected_cases: 2,
            phases: vec![Phase::Examples, Phase::Coverage, Phase::Fuzz],
        };
        let plan = build(context(&spec, &budget, 9));
        let len = plan.len();
        let wrong_passwords = plan.wrong_passwords().to_vec();
        let fixed = len - 30 - 2 * 2;
        let cases: Vec<Case> = plan.collect();
        // Every body of the shipped spec can be drawn: the upper bound is exact.
        assert_eq!(cases.len(), len);
        let drawn: Vec<usize> = cases
            .iter()
            .enumerate()
            .filter(|(_, case)| case.uses_wrong_password())
            .map(|(index, _)| index)
            .collect();
        assert!(!drawn.is_empty());
        assert_eq!(wrong_passwords, drawn);
        for (index, case) in cases.iter().enumerate() {
            assert_eq!(case.id, format!("c{:04}", index + 1));
            assert_eq!(case.seed, case_seed(9, index + 1));
        }
        assert!(cases.windows(2).all(|pair| pair[0].phase <= pair[1].phase));
        let fuzz: Vec<&Case> = cases.iter().filter(|c| c.phase == Phase::Fuzz).collect();
        assert_eq!(fuzz.len(), len - fixed);
        assert!(fuzz
            .iter()
            .all(|case| case.intent == Intent::Valid && case.body.is_some()));
        let again: Vec<Case> = build(context(&spec, &budget, 9)).collect();
        assert_eq!(cases, again);
        let other: Vec<Case> = build(context(&spec, &budget, 10)).collect();
        assert_ne!(cases, other);
    }
}

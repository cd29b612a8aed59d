//! The HTTP side of the reference server: the password route, its checks in contract order, and
//! the Error bodies; the OAuth2 routes are mounted here but live in `oauth.rs`.
//!
//! Every answer, including for unknown paths, wrong methods and undecodable paths, is built here,
//! so no plain-text rejection of axum's ever reaches a client. Faults bend the behaviour at the
//! exact step they name and nowhere else. This file does not bind sockets or own the data: see
//! `mod.rs` and `store.rs`.

use std::pin::Pin;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Map, Value};

use super::oauth;
use super::store::AppState;
use super::Fault;

/// The operation's path, in axum's template syntax.
const ROUTE: &str = "/local-user-store/api/v1/users/{user_id}/password";

/// Larger request bodies are refused before they are parsed.
const BODY_LIMIT: usize = 64 * 1024;

/// How long `Fault::Hang` keeps a request: longer than any client will wait.
const HANG: Duration = Duration::from_secs(60 * 60);

/// The password policy, counted in characters, not bytes.
const NEW_PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 1..=1024;

pub(super) fn app(state: AppState) -> Router {
    Router::new()
        .route(ROUTE, put(update_password).fallback(method_not_allowed))
        .route(
            oauth::TOKEN_PATH,
            post(oauth::token).fallback(oauth::token_method_not_allowed),
        )
        .route(
            oauth::AUTHORIZE_PATH,
            get(oauth::authorize).fallback(oauth::authorize_method_not_allowed),
        )
        .fallback(not_found)
        // The handler enforces the limit itself while reading, so that an oversize body gets the
        // contract's 400 Error rather than axum's plain-text 413. This layer only keeps any body
        // extractor added later on the same limit.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// One Error object of the contract, before faults decide how it is laid out.
#[derive(Debug)]
struct Problem {
    code: &'static str,
    message: String,
    property: Option<&'static str>,
}

impl Problem {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            property: None,
        }
    }

    fn field(code: &'static str, property: &'static str, message: String) -> Self {
        Problem {
            code,
            message,
            property: Some(property),
        }
    }

    fn into_json(self) -> Value {
        let mut error = Map::new();
        error.insert("error_code".to_owned(), json!(self.code));
        error.insert("error_message".to_owned(), json!(self.message));
        if let Some(property) = self.property {
            error.insert("property".to_owned(), json!(property));
        }
        Value::Object(error)
    }
}

/// An error answer: a status and the Error body to send with it.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    body: Value,
}

impl Failure {
    fn new(status: StatusCode, problem: Problem) -> Self {
        Failure {
            status,
            body: problem.into_json(),
        }
    }

    fn unauthorized() -> Self {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            Problem::new("PERMISSION_DENIED", "missing or invalid bearer token"),
        )
    }

    /// Applies the faults that depend only on the status, then renders.
    fn render(mut self, state: Option<&AppState>) -> Response {
        let has = |fault| state.is_some_and(|state| state.has(fault));
        if let (StatusCode::UNAUTHORIZED, true, Value::Object(error)) =
            (self.status, has(Fault::WrongErrorCode), &mut self.body)
        {
            error.insert("error_code".to_owned(), json!("NOT_A_CODE"));
        }
        let content_type = if self.status == StatusCode::BAD_REQUEST && has(Fault::TextPlainErrors)
        {
            "text/plain"
        } else {
            "application/json"
        };
        let mut response = (
            self.status,
            [(CONTENT_TYPE, content_type)],
            self.body.to_string(),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

async fn not_found() -> Response {
    Failure::new(
        StatusCode::NOT_FOUND,
        Problem::new("GENERAL_ERROR", "not found"),
    )
    .render(None)
}

async fn method_not_allowed() -> Response {
    let mut response = Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        Problem::new("GENERAL_ERROR", "method not allowed"),
    )
    .render(None);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("PUT"));
    response
}

/// The path is taken as a `Result` so that a segment axum cannot decode becomes our own 404,
/// and only after authentication, like any other unknown user.
async fn update_password(
    State(state): State<AppState>,
    user_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if state.has(Fault::Throttle) && state.third_request() {
        let mut response = Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            Problem::new("MAX_LOAD", "busy, try again"),
        )
        .render(Some(&state));
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("0"));
        return response;
    }
    match change_password(&state, user_id, &headers, body).await {
        Ok(response) => response,
        Err(failure) => failure.render(Some(&state)),
    }
}

async fn change_password(
    state: &AppState,
    user_id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let caller = match authenticate(state, headers) {
        Ok(caller) => caller,
        Err(failure) => return Err(apply_despite_refusal(state, headers, body, failure).await),
    };
    let target = authorize(state, &caller, user_id)?;
    let object = read_object(state, headers, body).await?;
    let (current, new) = match password_fields(&object, state.has(Fault::WrongErrorSemantics)) {
        Ok(fields) => fields,
        Err(problems)
            if state.has(Fault::InvalidBodyAccepted)
                && problems
                    .iter()
                    .all(|problem| problem.property == Some("new_password")) =>
        {
            return Ok(success(state));
        }
        Err(problems) => return Err(field_failure(state, problems)),
    };
    let outcome = state.store().update(&target, |stored| {
        let retired =
            state.has(Fault::OldPasswordStillWorks) && state.store().was(&target, current);
        if *stored != current && !retired && !state.has(Fault::WrongPasswordAccepted) {
            if state.has(Fault::WrongPasswordForbidden) {
                return Err(Failure::new(
                    StatusCode::FORBIDDEN,
                    Problem::new("PERMISSION_DENIED", "current password is incorrect"),
                ));
            }
            let message = if state.has(Fault::SecretEcho) {
                format!("current password '{current}' is incorrect")
            } else {
                "current password is incorrect".to_owned()
            };
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                Problem::field("INVALID_REQUEST_DATA", "current_password", message),
            ));
        }
        let long = state.has(Fault::ServerErrorOnLong) && new.chars().count() > 64;
        if long || (state.has(Fault::ServerErrorOnUnicode) && !new.is_ascii()) {
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                Problem::new("GENERAL_ERROR", "internal server error"),
            ));
        }
        if state.has(Fault::ValidRefused) && (new.contains(' ') || new.chars().count() < 8) {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                Problem::new("PERMISSION_DENIED", "this password is not allowed"),
            ));
        }
        if !NEW_PASSWORD_CHARS.contains(&new.chars().count()) {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                Problem::field(
                    "VALUE_OUT_OF_BOUNDS",
                    "new_password",
                    "new password must have 1 to 1024 characters".to_owned(),
                ),
            ));
        }
        if !state.has(Fault::ChangeNotPersisted) {
            // Old passwords matter only to the fault that keeps them working.
            if state.has(Fault::OldPasswordStillWorks) {
                state.store().retire(&target, stored);
            }
            new.clone_into(stored);
        }
        Ok(())
    });
    match outcome {
        Some(Ok(())) => Ok(success(state)),
        Some(Err(failure)) => Err(failure),
        // Users are never removed, but the lookup in `authorize` and this one are separate locks.
        None => Err(user_not_found()),
    }
}

/// Under `Fault::ChangeDespiteRefusal`, a scope refusal still applies a well-formed change with
/// the right current password to the token's own user. Returns the refusal either way.
async fn apply_despite_refusal(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    refusal: Failure,
) -> Failure {
    let token = bearer_token(headers).and_then(|value| state.token(value));
    let (true, Some(token)) = (state.has(Fault::ChangeDespiteRefusal), token) else {
        return refusal;
    };
    let user = token.user_id.clone();
    if let Ok(object) = read_object(state, headers, body).await {
        if let Ok((current, new)) = password_fields(&object, false) {
            state.store().update(&user, |stored| {
                if *stored == current {
                    new.clone_into(stored);
                }
            });
        }
    }
    refusal
}

/// Steps 2 and 3: the bearer token and its scope. Returns the id of the user the caller acts as.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, Failure> {
    let token = bearer_token(headers).and_then(|value| state.token(value));
    let Some(token) = token else {
        return match state.first_user() {
            Some(first) if state.has(Fault::NoAuth) => Ok(first.to_owned()),
            _ => Err(Failure::unauthorized()),
        };
    };
    if !token.scopes.iter().any(|scope| scope == "user") && !state.has(Fault::ScopeNotEnforced) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            Problem::new("PERMISSION_DENIED", "token lacks the required scope `user`"),
        ));
    }
    Ok(token.user_id.clone())
}

/// The token of a single, well-formed `Authorization: Bearer <token>` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    // Two Authorization headers are ambiguous; refusing them beats guessing which one counts.
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let (scheme, token) = value.to_str().ok()?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Step 4: the target user exists and the caller may change its password.
fn authorize(
    state: &AppState,
    caller: &str,
    user_id: Result<Path<String>, PathRejection>,
) -> Result<String, Failure> {
    let Ok(Path(target)) = user_id else {
        return Err(user_not_found());
    };
    if !state.store().contains(&target) {
        return Err(user_not_found());
    }
    if target != caller && !state.has(Fault::OtherUserChangeable) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            Problem::new(
                "PERMISSION_DENIED",
                "a token may only change the password of its own user",
            ),
        ));
    }
    Ok(target)
}

fn user_not_found() -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        Problem::new("GENERAL_ERROR", "user not found"),
    )
}

/// Step 5: size, content type, JSON, object.
async fn read_object(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Map<String, Value>, Failure> {
    let status = body_status(state);
    let bytes = read_limited(body)
        .await
        .map_err(|problem| Failure::new(status, problem))?;
    if !is_json(headers) {
        return Err(Failure::new(
            status,
            Problem::new("BAD_REQUEST", "content type must be application/json"),
        ));
    }
    let parsed = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    let Some(value) = parsed else {
        if state.has(Fault::Hang) {
            tokio::select! {
                () = tokio::time::sleep(HANG) => {}
                () = state.stopped() => {}
            }
        }
        return Err(Failure::new(
            status,
            Problem::new("BAD_REQUEST", "malformed JSON"),
        ));
    };
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(Failure::new(
            status,
            Problem::new("INVALID_REQUEST_DATA", "request body must be a JSON object"),
        )),
    }
}

/// Reads the whole body, refusing it as soon as it grows past `BODY_LIMIT`, whatever
/// Content-Length claimed.
async fn read_limited(mut body: Body) -> Result<Vec<u8>, Problem> {
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(frame) = frame else {
            return Err(Problem::new(
                "BAD_REQUEST",
                "the request body could not be read",
            ));
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > BODY_LIMIT {
                return Err(Problem::new(
                    "INVALID_REQUEST_DATA",
                    "request body too large",
                ));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// Whether the media type essence, parameters aside, is `application/json`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The status for a body the contract rejects (steps 5 and 6).
fn body_status(state: &AppState) -> StatusCode {
    if state.has(Fault::UndocumentedStatus) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// Step 6: both fields present and strings, or every problem found.
/// `vague` (`Fault::WrongErrorSemantics`) reports a missing field as a type error without
/// naming it.
fn password_fields(object: &Map<String, Value>, vague: bool) -> Result<(&str, &str), Vec<Problem>> {
    match (
        string_field(object, "current_password", vague),
        string_field(object, "new_password", vague),
    ) {
        (Ok(current), Ok(new)) => Ok((current, new)),
        (current, new) => Err([current.err(), new.err()].into_iter().flatten().collect()),
    }
}

fn string_field<'a>(
    object: &'a Map<String, Value>,
    name: &'static str,
    vague: bool,
) -> Result<&'a str, Problem> {
    match object.get(name) {
        None if vague => Err(Problem::new("VALUE_INCORRECT_TYPE", "invalid request body")),
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(Problem::field(
            "VALUE_INCORRECT_TYPE",
            name,
            format!("{name} must be a string"),
        )),
        None => Err(Problem::field(
            "REQUIRED_VALUE_MISSING",
            name,
            format!("{name} is required"),
        )),
    }
}

/// The Error for the field problems of step 6, laid out as the faults say.
fn field_failure(state: &AppState, mut problems: Vec<Problem>) -> Failure {
    let status = body_status(state);
    let deep = state.has(Fault::DeepErrorMissingCode);
    if problems.len() == 1 && !deep {
        if let Some(problem) = problems.pop() {
            return Failure::new(status, problem);
        }
    }
    let summary = match problems.len() {
        1 => "the request body has 1 problem".to_owned(),
        count => format!("the request body has {count} problems"),
    };
    let several = problems.len() > 1;
    let entries = problems.into_iter().enumerate().map(|(index, problem)| {
        let key = problem
            .property
            .map_or_else(|| index.to_string(), str::to_owned);
        let mut error = problem.into_json();
        if let (true, Value::Object(fields)) = (deep, &mut error) {
            fields.remove("error_code");
        }
        (key, error)
    });
    let details = if several && state.has(Fault::DetailsNotArray) {
        Value::Object(entries.collect())
    } else {
        Value::Array(entries.map(|(_, error)| error).collect())
    };
    let details = if deep {
        json!([{ "error_code": "INVALID_REQUEST_DATA", "details": details }])
    } else {
        details
    };
    Failure {
        status,
        body: json!({
            "error_code": "INVALID_REQUEST_DATA",
            "error_message": summary,
            "details": details,
        }),
    }
}

/// Step 9's answer: 200 with no body, so no Content-Type either.
fn success(state: &AppState) -> Response {
    if state.has(Fault::BodyOn200) {
        (
            StatusCode::OK,
            [(CONTENT_TYPE, "application/json")],
            json!({ "status": "ok" }).to_string(),
        )
            .into_response()
    } else {
        StatusCode::OK.into_response()
    }
}

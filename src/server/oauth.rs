//! The reference server's OAuth2 authorization server: `POST /oauth/token` (RFC 6749, with PKCE
//! from RFC 7636) and a test-only `GET /oauth/authorize`.
//!
//! The token endpoint serves the registered confidential clients (authenticated by HTTP Basic or by
//! form fields) with four grants: client_credentials (acting as the fixture's first user),
//! password (acting as that user), authorization_code (PKCE S256 only) and refresh_token (the
//! refresh token is rotated). Every access token it issues holds exactly the scopes granted, is
//! bound to one user, and expires after the configured lifetime; the password route accepts it
//! through `AppState::token`. The authorize endpoint consents at once, on behalf of the fixture's
//! first user, and redirects only to loopback URIs: it exists so that the authorization-code flow
//! runs for real in tests, not to model a login page.
//!
//! Error descriptions are fixed text: no answer repeats a secret, a token or a parameter value it
//! was sent. This file does not decide what a token may do on the password route (`routes.rs`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use url::{form_urlencoded, Host, Url};

use super::store::AppState;
use super::{OAuthClient, Token, SCOPES};

pub(super) const TOKEN_PATH: &str = "/oauth/token";
pub(super) const AUTHORIZE_PATH: &str = "/oauth/authorize";

/// RFC 6749 4.1.2 recommends that a code live at most ten minutes.
const CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// A token request is a few short parameters; a larger body is refused unread.
const FORM_LIMIT: usize = 64 * 1024;

/// Randomness in every access token, refresh token and code: 256 bits.
const RANDOM_BYTES: usize = 32;

/// RFC 7636 4.1: a code verifier (and so an S256 challenge) is 43 to 128 unreserved characters.
const PKCE_CHARS: std::ops::RangeInclusive<usize> = 43..=128;

/// A client acting for a user with a set of scopes: what a code or a refresh token stands for.
#[derive(Clone, Debug)]
struct Authority {
    client_id: String,
    user_id: String,
    scopes: Vec<String>,
}

struct Access {
    user_id: String,
    scopes: Vec<String>,
    /// `None` when the lifetime is too long for the clock to represent: it never expires.
    expires: Option<Instant>,
    /// Requests it may still authorise (`None`: any number).
    uses_left: Option<u32>,
}

struct Code {
    authority: Authority,
    redirect_uri: String,
    challenge: String,
    expires: Option<Instant>,
}

fn alive(expires: Option<Instant>, now: Instant) -> bool {
    expires.is_none_or(|expires| now < expires)
}

#[derive(Default)]
struct Issued {
    access: HashMap<String, Access>,
    refresh: HashMap<String, Authority>,
    codes: HashMap<String, Code>,
}

impl Issued {
    /// Forgets what can no longer be used, so that a long run does not grow the tables forever.
    fn prune(&mut self, now: Instant) {
        self.access.retain(|_, access| alive(access.expires, now));
        self.codes.retain(|_, code| alive(code.expires, now));
    }
}

/// The OAuth2 side of the shared state: the clients, the lifetime, and what was issued.
pub(super) struct Grants {
    clients: Vec<OAuthClient>,
    lifetime: Mutex<Duration>,
    /// Requests each access token issued from now on may authorise (`None`: any number).
    uses: Mutex<Option<u32>>,
    issued: Mutex<Issued>,
}

impl fmt::Debug for Grants {
    // The tables hold live secrets; their sizes are all a debug print needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issued = lock(&self.issued);
        f.debug_struct("Grants")
            .field("clients", &self.clients.len())
            .field("access_tokens", &issued.access.len())
            .field("refresh_tokens", &issued.refresh.len())
            .field("codes", &issued.codes.len())
            .finish()
    }
}

/// No code holding one of these locks can panic on request data, and every update is a single
/// map operation, so a poisoned lock still holds usable data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Grants {
    pub(super) fn new(clients: Vec<OAuthClient>, lifetime: Duration) -> Self {
        Grants {
            clients,
            lifetime: Mutex::new(lifetime),
            uses: Mutex::new(None),
            issued: Mutex::default(),
        }
    }

    pub(super) fn set_lifetime(&self, lifetime: Duration) {
        *lock(&self.lifetime) = lifetime;
    }

    pub(super) fn set_uses(&self, uses: Option<u32>) {
        *lock(&self.uses) = uses;
    }

    /// The issued access token of that value, unless it has expired or is used up (a use is
    /// taken).
    pub(super) fn access_token(&self, value: &str) -> Option<Token> {
        let mut issued = lock(&self.issued);
        let access = issued.access.get_mut(value)?;
        match &mut access.uses_left {
            Some(0) => return None,
            Some(left) => *left -= 1,
            None => {}
        }
        alive(access.expires, Instant::now()).then(|| Token {
            value: value.to_owned(),
            user_id: access.user_id.clone(),
            scopes: access.scopes.clone(),
        })
    }

    fn client(&self, id: &str) -> Option<&OAuthClient> {
        self.clients.iter().find(|client| client.id == id)
    }

    /// Issues an access token for `authority`, and a refresh token with it when `refreshable`.
    fn issue(&self, authority: Authority, refreshable: bool) -> Result<Issue, Failure> {
        let access_token = random_value("sg-at-")?;
        let refresh_token = if refreshable {
            Some(random_value("sg-rt-")?)
        } else {
            None
        };
        let lifetime = *lock(&self.lifetime);
        let uses_left = *lock(&self.uses);
        let now = Instant::now();
        let mut issued = lock(&self.issued);
        issued.prune(now);
        issued.access.insert(
            access_token.clone(),
            Access {
                user_id: authority.user_id.clone(),
                scopes: authority.scopes.clone(),
                expires: now.checked_add(lifetime),
                uses_left,
            },
        );
        if let Some(refresh_token) = &refresh_token {
            issued
                .refresh
                .insert(refresh_token.clone(), authority.clone());
        }
        Ok(Issue {
            access_token,
            expires_in: lifetime.as_secs(),
            scopes: authority.scopes,
            refresh_token,
        })
    }

    fn insert_code(&self, code: String, grant: Code) {
        lock(&self.issued).codes.insert(code, grant);
    }

    /// Removes the code whatever happens next: a code is good for one attempt only.
    fn take_code(&self, code: &str) -> Option<Code> {
        lock(&self.issued).codes.remove(code)
    }

    /// Checks a refresh token against the client and the narrower scopes it may ask for, then
    /// retires it (it is rotated). A refusal leaves it usable by its rightful client.
    fn take_refresh(
        &self,
        value: &str,
        client_id: &str,
        scopes: Option<Vec<String>>,
    ) -> Result<Authority, Failure> {
        let mut issued = lock(&self.issued);
        let Some(authority) = issued.refresh.get(value) else {
            return Err(Failure::bad(
                "invalid_grant",
                "the refresh token is unknown or was already used",
            ));
        };
        if authority.client_id != client_id {
            return Err(Failure::bad(
                "invalid_grant",
                "the refresh token was issued to another client",
            ));
        }
        let mut authority = authority.clone();
        if let Some(scopes) = scopes {
            if !scopes.iter().all(|scope| authority.scopes.contains(scope)) {
                return Err(Failure::bad(
                    "invalid_scope",
                    "a refresh may only narrow the scopes first granted",
                ));
            }
            authority.scopes = scopes;
        }
        issued.refresh.remove(value);
        Ok(authority)
    }
}

/// A random value with a prefix that tells what it is: base64url of `RANDOM_BYTES` bytes.
fn random_value(prefix: &str) -> Result<String, Failure> {
    let mut bytes = [0u8; RANDOM_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|_| Failure::server_error("no random value could be drawn"))?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// A successful token response (RFC 6749 5.1).
struct Issue {
    access_token: String,
    expires_in: u64,
    scopes: Vec<String>,
    refresh_token: Option<String>,
}

impl Issue {
    fn render(self) -> Response {
        let mut body = Map::new();
        body.insert("access_token".to_owned(), json!(self.access_token));
        body.insert("token_type".to_owned(), json!("Bearer"));
        body.insert("expires_in".to_owned(), json!(self.expires_in));
        body.insert("scope".to_owned(), json!(self.scopes.join(" ")));
        if let Some(refresh_token) = self.refresh_token {
            body.insert("refresh_token".to_owned(), json!(refresh_token));
        }
        no_store(StatusCode::OK, Value::Object(body))
    }
}

/// An error answer (RFC 6749 5.2). The description is always fixed text or a parameter name of
/// ours, never a value a client sent.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Failure {
    fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Failure {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Failure::bad("invalid_request", description)
    }

    fn invalid_client() -> Self {
        Failure {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed".to_owned(),
        }
    }

    fn server_error(description: &'static str) -> Self {
        Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: description.to_owned(),
        }
    }

    fn render(self) -> Response {
        let mut response = no_store(
            self.status,
            json!({ "error": self.error, "error_description": self.description }),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6749 5.2: a 401 for client authentication names the scheme to use.
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"specgate\""),
            );
        }
        response
    }
}

/// A JSON answer that no cache may keep (RFC 6749 5.1): it holds tokens or refers to them.
fn no_store(status: StatusCode, body: Value) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-store"),
            (PRAGMA, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = Failure {
        status: StatusCode::METHOD_NOT_ALLOWED,
        error: "invalid_request",
        description: "method not allowed".to_owned(),
    }
    .render();
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

pub(super) async fn token_method_not_allowed() -> Response {
    method_not_allowed("POST")
}

pub(super) async fn authorize_method_not_allowed() -> Response {
    method_not_allowed("GET, HEAD")
}

/// Request parameters, each at most once (RFC 6749 3.1).
#[derive(Debug)]
struct Params(BTreeMap<String, String>);

impl Params {
    fn parse(encoded: &[u8]) -> Result<Params, Failure> {
        let mut params = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(encoded) {
            // RFC 6749 3.1: a parameter sent without a value is treated as omitted.
            if value.is_empty() {
                continue;
            }
            if params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                return Err(Failure::invalid_request("a parameter is repeated"));
            }
        }
        Ok(Params(params))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn require(&self, name: &'static str) -> Result<&str, Failure> {
        self.get(name)
            .ok_or_else(|| Failure::invalid_request(format!("{name} is required")))
    }
}

/// `POST /oauth/token`.
pub(super) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match grant(&state, &headers, body).await {
        Ok(issue) => issue.render(),
        Err(failure) => failure.render(),
    }
}

async fn grant(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Issue, Failure> {
    if !is_form(headers) {
        return Err(Failure::invalid_request(
            "the content type must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| Failure::invalid_request("the request body is too large or unreadable"))?;
    let params = Params::parse(&bytes)?;
    let client = authenticate_client(state, headers, &params)?;
    match params.require("grant_type")? {
        "client_credentials" => {
            let user_id = state
                .first_user()
                .ok_or_else(|| Failure::bad("invalid_grant", "there is no user to act as"))?;
            let authority = Authority {
                client_id: client.id.clone(),
                user_id: user_id.to_owned(),
                scopes: requested_scopes(&params)?,
            };
            // RFC 6749 4.4.3: no refresh token for client credentials; the client asks again.
            state.grants().issue(authority, false)
        }
        "password" => {
            let username = params.require("username")?;
            let password = params.require("password")?;
            let scopes = requested_scopes(&params)?;
            if state.store().password_of(username).as_deref() != Some(password) {
                return Err(Failure::bad(
                    "invalid_grant",
                    "the username or password is incorrect",
                ));
            }
            let authority = Authority {
                client_id: client.id.clone(),
                user_id: username.to_owned(),
                scopes,
            };
            state.grants().issue(authority, true)
        }
        "authorization_code" => {
            let code = params.require("code")?;
            let redirect_uri = params.require("redirect_uri")?;
            let verifier = params.require("code_verifier")?;
            let refused = || Failure::bad("invalid_grant", "the code is invalid, used or expired");
            let code = state.grants().take_code(code).ok_or_else(refused)?;
            if !alive(code.expires, Instant::now())
                || code.authority.client_id != client.id
                || code.redirect_uri != redirect_uri
            {
                return Err(refused());
            }
            if !is_pkce_value(verifier) || s256(verifier) != code.challenge {
                return Err(Failure::bad(
                    "invalid_grant",
                    "the code verifier does not match the code challenge",
                ));
            }
            state.grants().issue(code.authority, true)
        }
        "refresh_token" => {
            let refresh_token = params.require("refresh_token")?;
            let scopes = params.get("scope").map(parse_scopes).transpose()?;
            let authority = state
                .grants()
                .take_refresh(refresh_token, &client.id, scopes)?;
            state.grants().issue(authority, true)
        }
        _ => Err(Failure::bad(
            "unsupported_grant_type",
            "the grant types are client_credentials, password, authorization_code and refresh_token",
        )),
    }
}

/// Whether the media type essence, parameters aside, is `application/x-www-form-urlencoded`.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// RFC 6749 2.3.1: HTTP Basic, or `client_id` and `client_secret` in the form, never both.
fn authenticate_client<'s>(
    state: &'s AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'s OAuthClient, Failure> {
    let (id, secret) = match basic_credentials(headers)? {
        Some((id, secret)) => {
            let other_id = params.get("client_id").is_some_and(|form_id| form_id != id);
            if params.get("client_secret").is_some() || other_id {
                return Err(Failure::invalid_request(
                    "use one client authentication method",
                ));
            }
            (id, Some(secret))
        }
        None => match params.get("client_id") {
            Some(id) => (
                id.to_owned(),
                params.get("client_secret").map(str::to_owned),
            ),
            None => return Err(Failure::invalid_client()),
        },
    };
    state
        .grants()
        .client(&id)
        .filter(|client| secret.as_deref() == Some(client.secret.as_str()))
        .ok_or_else(Failure::invalid_client)
}

/// The client id and secret of an `Authorization: Basic` header, each form-urlencoded before
/// the base64 as RFC 6749 2.3.1 asks. `None` when there is no Basic header.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, Failure> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(value), None) => value,
        (Some(_), Some(_)) => {
            return Err(Failure::invalid_request(
                "more than one Authorization header",
            ))
        }
    };
    let Some((scheme, encoded)) = value
        .to_str()
        .ok()
        .and_then(|value| value.trim().split_once(' '))
    else {
        return Err(Failure::invalid_client());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let credentials = decoded.as_deref().and_then(|text| {
        let (id, secret) = text.split_once(':')?;
        Some((form_decode(id)?, form_decode(secret)?))
    });
    credentials.map(Some).ok_or_else(Failure::invalid_client)
}

/// Undoes `application/x-www-form-urlencoded` encoding of one value; `None` if it is malformed.
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'%' => {
                let hex = bytes.get(index + 1..index + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                decoded.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                index += 3;
            }
            b'+' => {
                decoded.push(b' ');
                index += 1;
            }
            _ => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

/// The `scope` parameter a new grant must carry.
fn requested_scopes(params: &Params) -> Result<Vec<String>, Failure> {
    match params.get("scope") {
        Some(value) => parse_scopes(value),
        // Granting a default scope would hide a client that forgot to ask for the one it needs.
        None => Err(Failure::bad("invalid_scope", "scope is required")),
    }
}

/// Space-separated scopes of the operation's scheme, without repeats.
fn parse_scopes(value: &str) -> Result<Vec<String>, Failure> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in value.split(' ').filter(|scope| !scope.is_empty()) {
        if !SCOPES.contains(&scope) {
            return Err(Failure::bad(
                "invalid_scope",
                "a requested scope is unknown",
            ));
        }
        if !scopes.iter().any(|known| known == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(Failure::bad("invalid_scope", "scope is required"));
    }
    Ok(scopes)
}

/// RFC 7636 4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn is_pkce_value(value: &str) -> bool {
    PKCE_CHARS.contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
}

/// RFC 7636 4.2: the S256 challenge of a verifier.
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `GET /oauth/authorize`: test-only automatic consent for the fixture's first user.
pub(super) async fn authorize(State(state): State<AppState>, uri: Uri) -> Response {
    consent(&state, uri.query().unwrap_or_default())
}

fn consent(state: &AppState, query: &str) -> Response {
    let params = match Params::parse(query.as_bytes()) {
        Ok(params) => params,
        Err(failure) => return failure.render(),
    };
    // RFC 6749 4.1.2.1: with an unknown client or a bad redirect URI the error goes to the user
    // agent, never to the redirect URI, so that the endpoint cannot be used as an open redirect.
    let Some(client) = params
        .get("client_id")
        .and_then(|id| state.grants().client(id))
    else {
        return Failure::invalid_request("the client_id is unknown").render();
    };
    let Some((redirect, redirect_uri)) = params
        .get("redirect_uri")
        .and_then(|uri| Some((loopback_uri(uri)?, uri)))
    else {
        return Failure::invalid_request(
            "redirect_uri must be an http URI on a loopback address, without a fragment",
        )
        .render();
    };
    let csrf = params.get("state");
    let refuse = |error: &str, description: &str| {
        redirect_to(
            &redirect,
            &[("error", error), ("error_description", description)],
            csrf,
        )
    };
    if params.get("response_type") != Some("code") {
        return refuse("unsupported_response_type", "response_type must be code");
    }
    if csrf.is_none() {
        return refuse("invalid_request", "state is required");
    }
    let Some(challenge) = params.get("code_challenge").filter(|c| is_pkce_value(c)) else {
        return refuse("invalid_request", "a valid code_challenge is required");
    };
    if params.get("code_challenge_method") != Some("S256") {
        return refuse("invalid_request", "code_challenge_method must be S256");
    }
    let scopes = match params.get("scope").map(parse_scopes) {
        Some(Ok(scopes)) => scopes,
        Some(Err(failure)) => return refuse(failure.error, &failure.description),
        None => return refuse("invalid_scope", "scope is required"),
    };
    let Some(user_id) = state.first_user() else {
        return refuse("access_denied", "there is no user to consent");
    };
    let code = match random_value("sg-code-") {
        Ok(code) => code,
        Err(failure) => return refuse(failure.error, &failure.description),
    };
    state.grants().insert_code(
        code.clone(),
        Code {
            authority: Authority {
                client_id: client.id.clone(),
                user_id: user_id.to_owned(),
                scopes,
            },
            redirect_uri: redirect_uri.to_owned(),
            challenge: challenge.to_owned(),
            expires: Instant::now().checked_add(CODE_LIFETIME),
        },
    );
    redirect_to(&redirect, &[("code", &code)], csrf)
}

/// RFC 8252 7.3: a native client's redirect URI is plain http on a loopback address, any port.
fn loopback_uri(text: &str) -> Option<Url> {
    let url = Url::parse(text).ok()?;
    let loopback = match url.host()? {
        Host::Ipv4(address) => address.is_loopback(),
        Host::Ipv6(address) => address.is_loopback(),
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
    };
    let plain = url.scheme() == "http"
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    (loopback && plain).then_some(url)
}

/// A 302 to `redirect` with `params` and the client's `state` added to its query.
fn redirect_to(redirect: &Url, params: &[(&str, &str)], state: Option<&str>) -> Response {
    let mut location = redirect.clone();
    {
        let mut query = location.query_pairs_mut();
        query.extend_pairs(params);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    match HeaderValue::from_str(location.as_str()) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (LOCATION, location),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        // A serialized URL is ASCII, so this does not happen; answering beats panicking.
        Err(_) => Failure::server_error("the redirect URI cannot be sent").render(),
    }
}

#[cfg(test)]
mod tests {
    //! The endpoints over real HTTP on 127.0.0.1, checked by hand against RFC 6749 and RFC 7636
    //! (not with specgate's OAuth2 client, which `tests/oauth.rs` runs against them).

    use std::time::Duration;

    use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
    use axum::http::StatusCode;
    use serde_json::{json, Value};
    use url::form_urlencoded;

    use super::s256;
    use crate::server::{
        spawn, OAuthClient, RunningServer, ServerConfig, TEST_CLIENT_ID, TEST_CLIENT_SECRET,
    };

    const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters.~_";
    const REDIRECT: &str = "http://127.0.0.1:9/callback";

    async fn start(config: ServerConfig) -> RunningServer {
        spawn("127.0.0.1:0".parse().expect("address"), config)
            .await
            .expect("server starts")
    }

    fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client")
    }

    fn form(pairs: &[(&str, &str)]) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    struct Answer {
        status: StatusCode,
        headers: reqwest::header::HeaderMap,
        text: String,
    }

    impl Answer {
        async fn of(response: reqwest::Response) -> Answer {
            Answer {
                status: response.status(),
                headers: response.headers().clone(),
                text: response.text().await.expect("body"),
            }
        }

        fn json(&self) -> Value {
            serde_json::from_str(&self.text).expect("a JSON body")
        }

        fn header(&self, name: reqwest::header::HeaderName) -> Option<&str> {
            self.headers.get(name).and_then(|value| value.to_str().ok())
        }

        /// An RFC 6749 5.2 error answer with this status and code.
        fn refused(&self, status: StatusCode, error: &str) {
            assert_eq!(self.status, status, "{}", self.text);
            assert_eq!(self.json()["error"], json!(error), "{}", self.text);
            assert_eq!(self.header(CONTENT_TYPE), Some("application/json"));
        }
    }

    /// `POST /oauth/token` with the test client's Basic credentials.
    async fn token(server: &RunningServer, pairs: &[(&str, &str)]) -> Answer {
        post(server, Some((TEST_CLIENT_ID, TEST_CLIENT_SECRET)), pairs).await
    }

    async fn post(
        server: &RunningServer,
        basic: Option<(&str, &str)>,
        pairs: &[(&str, &str)],
    ) -> Answer {
        let mut request = http()
            .post(format!("http://{}/oauth/token", server.addr))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(pairs));
        if let Some((id, secret)) = basic {
            request = request.basic_auth(encode(id), Some(encode(secret)));
        }
        Answer::of(request.send().await.expect("response")).await
    }

    /// RFC 6749 2.3.1: each part is form-urlencoded before it goes into Basic.
    fn encode(text: &str) -> String {
        form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }

    /// An access token from a successful token answer.
    fn access_token(answer: &Answer) -> String {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.json()["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// The password route's status for `token` on `user_id`, with a change that changes nothing.
    async fn password_route(server: &RunningServer, user_id: &str, token: &str) -> StatusCode {
        let current = server.password_of(user_id).unwrap_or_default();
        http()
            .put(format!(
                "http://{}/local-user-store/api/v1/users/{user_id}/password",
                server.addr
            ))
            .bearer_auth(token)
            .header(CONTENT_TYPE, "application/json")
            .body(json!({ "current_password": current, "new_password": current }).to_string())
            .send()
            .await
            .expect("response")
            .status()
    }

    async fn authorize(server: &RunningServer, pairs: &[(&str, &str)]) -> Answer {
        let url = format!("http://{}/oauth/authorize?{}", server.addr, form(pairs));
        Answer::of(http().get(url).send().await.expect("response")).await
    }

    fn authorize_pairs<'a>(scope: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("response_type", "code"),
            ("client_id", TEST_CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st-1"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]
    }

    /// The query parameters of a redirect's Location.
    fn redirected(answer: &Answer) -> Vec<(String, String)> {
        assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.text);
        let location = answer.header(LOCATION).expect("a Location");
        let url = url::Url::parse(location).expect("an absolute Location");
        assert_eq!(
            format!("{}://{}{}", url.scheme(), url.authority(), url.path()),
            REDIRECT
        );
        url.query_pairs().into_owned().collect()
    }

    fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A fresh code for `scope`, issued to the test client for `REDIRECT` and `VERIFIER`.
    async fn code(server: &RunningServer, scope: &str) -> String {
        let challenge = s256(VERIFIER);
        let answer = authorize(server, &authorize_pairs(scope, &challenge)).await;
        let pairs = redirected(&answer);
        assert_eq!(param(&pairs, "state"), Some("st-1"));
        param(&pairs, "code").expect("a code").to_owned()
    }

    #[tokio::test]
    async fn client_credentials_tokens_act_as_the_first_user_with_exactly_their_scope() {
        let server = start(ServerConfig::standard()).await;
        let answer = token(
            &server,
            &[("grant_type", "client_credentials"), ("scope", "user")],
        )
        .await;
        let user = access_token(&answer);
        let body = answer.json();
        assert_eq!(body["token_type"], json!("Bearer"));
        assert_eq!(body["expires_in"], json!(3600));
        assert_eq!(body["scope"], json!("user"));
        assert_eq!(body.get("refresh_token"), None, "RFC 6749 4.4.3");
        assert_eq!(answer.header(CACHE_CONTROL), Some("no-store"));
        assert_eq!(
            password_route(&server, "alice", &user).await,
            StatusCode::OK
        );
        assert_eq!(
            password_route(&server, "bob", &user).await,
            StatusCode::FORBIDDEN
        );

        let admin = access_token(
            &token(
                &server,
                &[("grant_type", "client_credentials"), ("scope", "admin")],
            )
            .await,
        );
        assert_eq!(
            password_route(&server, "alice", &admin).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            password_route(&server, "alice", "sg-at-not-issued").await,
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn clients_authenticate_by_form_fields_or_basic_but_not_both() {
        let server = start(ServerConfig::standard()).await;
        let grant = [("grant_type", "client_credentials"), ("scope", "user")];
        let in_form = [
            ("grant_type", "client_credentials"),
            ("scope", "user"),
            ("client_id", TEST_CLIENT_ID),
            ("client_secret", TEST_CLIENT_SECRET),
        ];
        access_token(&post(&server, None, &in_form).await);
        post(
            &server,
            Some((TEST_CLIENT_ID, TEST_CLIENT_SECRET)),
            &in_form,
        )
        .await
        .refused(StatusCode::BAD_REQUEST, "invalid_request");

        for basic in [
            Some((TEST_CLIENT_ID, "wrong-Secret-9")),
            Some(("no-such-client", "wrong-Secret-9")),
            None,
        ] {
            let answer = post(&server, basic, &grant).await;
            answer.refused(StatusCode::UNAUTHORIZED, "invalid_client");
            assert_eq!(
                answer.header(WWW_AUTHENTICATE),
                Some("Basic realm=\"specgate\"")
            );
            assert!(!answer.text.contains("wrong-Secret-9"), "{}", answer.text);
        }
        let in_form_wrong = [
            ("grant_type", "client_credentials"),
            ("scope", "user"),
            ("client_id", TEST_CLIENT_ID),
            ("client_secret", "wrong-Secret-9"),
        ];
        post(&server, None, &in_form_wrong)
            .await
            .refused(StatusCode::UNAUTHORIZED, "invalid_client");

        let garbled = http()
            .post(format!("http://{}/oauth/token", server.addr))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("authorization", "Basic %%%not-base64")
            .body(form(&grant))
            .send()
            .await
            .expect("response");
        Answer::of(garbled)
            .await
            .refused(StatusCode::UNAUTHORIZED, "invalid_client");
    }

    #[tokio::test]
    async fn basic_credentials_are_form_decoded() {
        let mut config = ServerConfig::standard();
        config.fixture.clients.push(OAuthClient {
            id: "a client:1".to_owned(),
            secret: "s3cr&t+=%/é".to_owned(),
        });
        let server = start(config).await;
        let answer = post(
            &server,
            Some(("a client:1", "s3cr&t+=%/é")),
            &[("grant_type", "client_credentials"), ("scope", "user")],
        )
        .await;
        access_token(&answer);
    }

    #[tokio::test]
    async fn the_password_grant_binds_the_token_to_that_user() {
        let server = start(ServerConfig::standard()).await;
        let answer = token(
            &server,
            &[
                ("grant_type", "password"),
                ("username", "bob"),
                ("password", "bob-Passw0rd!"),
                ("scope", "user"),
            ],
        )
        .await;
        let bob = access_token(&answer);
        assert!(answer.json()["refresh_token"].is_string());
        assert_eq!(password_route(&server, "bob", &bob).await, StatusCode::OK);
        assert_eq!(
            password_route(&server, "alice", &bob).await,
            StatusCode::FORBIDDEN
        );

        for (username, password) in [("bob", "Wrong-Pw-7"), ("nobody", "Wrong-Pw-7")] {
            let answer = token(
                &server,
                &[
                    ("grant_type", "password"),
                    ("username", username),
                    ("password", password),
                    ("scope", "user"),
                ],
            )
            .await;
            answer.refused(StatusCode::BAD_REQUEST, "invalid_grant");
            assert!(!answer.text.contains("Wrong-Pw-7"), "{}", answer.text);
        }
    }

    #[tokio::test]
    async fn requests_that_break_the_protocol_are_refused_with_rfc_errors() {
        let server = start(ServerConfig::standard()).await;
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("scope", "user")], "invalid_request"),
            (
                &[("grant_type", "implicit"), ("scope", "user")],
                "unsupported_grant_type",
            ),
            (&[("grant_type", "client_credentials")], "invalid_scope"),
            (
                &[("grant_type", "client_credentials"), ("scope", "root user")],
                "invalid_scope",
            ),
            (
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", "user"),
                    ("scope", "admin"),
                ],
                "invalid_request",
            ),
            (
                &[("grant_type", "password"), ("scope", "user")],
                "invalid_request",
            ),
        ];
        for (pairs, error) in cases {
            token(&server, pairs)
                .await
                .refused(StatusCode::BAD_REQUEST, error);
        }

        let url = format!("http://{}/oauth/token", server.addr);
        let bodies: [(&str, Vec<u8>); 3] = [
            (
                "application/json",
                br#"{"grant_type":"client_credentials"}"#.to_vec(),
            ),
            (
                "application/x-www-form-urlencoded",
                vec![b'a'; 64 * 1024 + 1],
            ),
            (
                "application/x-www-form-urlencoded",
                b"grant_type=\xff\xfe&scope=%ZZ".to_vec(),
            ),
        ];
        for (content_type, body) in bodies {
            let response = http()
                .post(&url)
                .basic_auth(TEST_CLIENT_ID, Some(TEST_CLIENT_SECRET))
                .header(CONTENT_TYPE, content_type)
                .body(body)
                .send()
                .await
                .expect("response");
            let answer = Answer::of(response).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
        }

        let answer = Answer::of(http().get(&url).send().await.expect("response")).await;
        answer.refused(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
        assert_eq!(answer.header(reqwest::header::ALLOW), Some("POST"));
    }

    #[tokio::test]
    async fn an_authorization_code_with_pkce_yields_a_token_once() {
        let server = start(ServerConfig::standard()).await;
        let code = code(&server, "user").await;
        let exchange = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let answer = token(&server, &exchange).await;
        let token_value = access_token(&answer);
        assert_eq!(answer.json()["scope"], json!("user"));
        assert!(answer.json()["refresh_token"].is_string());
        assert_eq!(
            password_route(&server, "alice", &token_value).await,
            StatusCode::OK
        );
        token(&server, &exchange)
            .await
            .refused(StatusCode::BAD_REQUEST, "invalid_grant");
    }

    #[tokio::test]
    async fn a_code_needs_its_verifier_its_redirect_uri_and_its_client() {
        let mut config = ServerConfig::standard();
        config.fixture.clients.push(OAuthClient {
            id: "other".to_owned(),
            secret: "other-secret".to_owned(),
        });
        let server = start(config).await;
        let wrong_verifier = "b".repeat(43);
        for (verifier, redirect, client) in [
            (wrong_verifier.as_str(), REDIRECT, TEST_CLIENT_ID),
            ("short", REDIRECT, TEST_CLIENT_ID),
            (VERIFIER, "http://127.0.0.1:10/callback", TEST_CLIENT_ID),
            (VERIFIER, REDIRECT, "other"),
        ] {
            let code = code(&server, "user").await;
            let secret = if client == "other" {
                "other-secret"
            } else {
                TEST_CLIENT_SECRET
            };
            post(
                &server,
                Some((client, secret)),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                ],
            )
            .await
            .refused(StatusCode::BAD_REQUEST, "invalid_grant");
        }
    }

    #[tokio::test]
    async fn authorize_never_redirects_off_loopback_or_for_an_unknown_client() {
        let server = start(ServerConfig::standard()).await;
        let challenge = s256(VERIFIER);
        for (name, value) in [
            ("client_id", "no-such-client"),
            ("redirect_uri", "https://attacker.example/callback"),
            ("redirect_uri", "http://127.0.0.1:9/callback#fragment"),
            ("redirect_uri", "http://user:pw@127.0.0.1:9/callback"),
            ("redirect_uri", "not a url"),
        ] {
            let mut pairs = authorize_pairs("user", &challenge);
            pairs.retain(|(key, _)| *key != name);
            pairs.push((name, value));
            let answer = authorize(&server, &pairs).await;
            answer.refused(StatusCode::BAD_REQUEST, "invalid_request");
            assert_eq!(answer.header(LOCATION), None);
        }
    }

    #[tokio::test]
    async fn authorize_refusals_go_back_to_the_client_with_its_state() {
        let server = start(ServerConfig::standard()).await;
        let challenge = s256(VERIFIER);
        for (name, value, error) in [
            ("response_type", "token", "unsupported_response_type"),
            ("code_challenge_method", "plain", "invalid_request"),
            ("code_challenge", "too-short", "invalid_request"),
            ("scope", "root", "invalid_scope"),
        ] {
            let mut pairs = authorize_pairs("user", &challenge);
            pairs.retain(|(key, _)| *key != name);
            pairs.push((name, value));
            let redirect = redirected(&authorize(&server, &pairs).await);
            assert_eq!(param(&redirect, "error"), Some(error), "{name}={value}");
            assert_eq!(param(&redirect, "state"), Some("st-1"));
            assert_eq!(param(&redirect, "code"), None);
        }
        let mut pairs = authorize_pairs("user", &challenge);
        pairs.retain(|(key, _)| *key != "state");
        let redirect = redirected(&authorize(&server, &pairs).await);
        assert_eq!(param(&redirect, "error"), Some("invalid_request"));
    }

    #[tokio::test]
    async fn refresh_tokens_rotate_and_may_only_narrow_the_scope() {
        let server = start(ServerConfig::standard()).await;
        let answer = token(
            &server,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-Passw0rd!"),
                ("scope", "user usersView"),
            ],
        )
        .await;
        let first = answer.json()["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_owned();
        // Asking for more than was granted is refused, and leaves the refresh token usable.
        token(
            &server,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first.as_str()),
                ("scope", "admin"),
            ],
        )
        .await
        .refused(StatusCode::BAD_REQUEST, "invalid_scope");
        let answer = token(
            &server,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first.as_str()),
                ("scope", "user"),
            ],
        )
        .await;
        let narrowed = access_token(&answer);
        assert_eq!(answer.json()["scope"], json!("user"));
        assert_ne!(answer.json()["refresh_token"], json!(first));
        assert_eq!(
            password_route(&server, "alice", &narrowed).await,
            StatusCode::OK
        );
        token(
            &server,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first.as_str()),
            ],
        )
        .await
        .refused(StatusCode::BAD_REQUEST, "invalid_grant");
    }

    #[tokio::test]
    async fn a_refresh_token_serves_only_its_client() {
        let mut config = ServerConfig::standard();
        config.fixture.clients.push(OAuthClient {
            id: "other".to_owned(),
            secret: "other-secret".to_owned(),
        });
        let server = start(config).await;
        let answer = token(
            &server,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-Passw0rd!"),
                ("scope", "user"),
            ],
        )
        .await;
        let refresh = answer.json()["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_owned();
        let pairs = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        post(&server, Some(("other", "other-secret")), &pairs)
            .await
            .refused(StatusCode::BAD_REQUEST, "invalid_grant");
        access_token(&token(&server, &pairs).await);
    }

    #[tokio::test]
    async fn an_expired_token_is_401_and_its_refresh_token_still_works() {
        let config = ServerConfig {
            token_lifetime: Duration::ZERO,
            ..ServerConfig::standard()
        };
        let server = start(config).await;
        let answer = token(
            &server,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-Passw0rd!"),
                ("scope", "user"),
            ],
        )
        .await;
        let expired = access_token(&answer);
        assert_eq!(answer.json()["expires_in"], json!(0));
        assert_eq!(
            password_route(&server, "alice", &expired).await,
            StatusCode::UNAUTHORIZED
        );
        server.set_token_lifetime(Duration::from_secs(60));
        let refresh = answer.json()["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_owned();
        let renewed = access_token(
            &token(
                &server,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                ],
            )
            .await,
        );
        assert_eq!(
            password_route(&server, "alice", &renewed).await,
            StatusCode::OK
        );
    }

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn form_decoding_refuses_broken_escapes() {
        assert_eq!(super::form_decode("a+b%2Fc").as_deref(), Some("a b/c"));
        assert_eq!(super::form_decode("%zz"), None);
        assert_eq!(super::form_decode("%2"), None);
        assert_eq!(super::form_decode("%FF"), None);
    }
}

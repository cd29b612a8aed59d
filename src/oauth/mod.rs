//! OAuth2 token acquisition for a run: one token per scope, each asked for exactly that scope,
//! through client credentials, the resource-owner password grant, or the authorization-code grant
//! with PKCE through a loopback redirect listener; and renewal of a token that expired.
//!
//! Built on the `oauth2` crate; its HTTP goes through our reqwest client (`http.rs`), so every
//! call has a timeout and follows no redirect. Nothing here prints: the URL a person must open in
//! the authorization-code flow is handed to the caller as a `Prompt` on a channel. No error
//! message carries a secret (client secret, password, token, refresh token, code, state): messages
//! are made of fixed text, HTTP statuses, RFC 6749 error codes and scope names, and an
//! authorization server's free-text `error_description` is never repeated. Which scopes to ask
//! for, and when to renew, is the caller's business.

mod http;
mod loopback;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenResponse, TokenUrl,
};
use tokio::sync::mpsc::UnboundedSender;
use url::{Host, Url};

use http::{Http, HttpError};

/// The time each token request may take, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the authorization-code flow waits for a person to finish in the browser, per scope.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5 * 60);

/// How a token is obtained.
#[derive(Clone)]
pub enum Flow {
    /// RFC 6749 4.4: the client acts on its own behalf.
    ClientCredentials,
    /// RFC 6749 4.3: the client presents a user's name and password (how PrivX API clients get
    /// tokens).
    Password { username: String, password: String },
    /// RFC 6749 4.1 with PKCE (RFC 7636, S256): a person consents in a browser, which comes back
    /// to a listener on 127.0.0.1.
    AuthorizationCode(Interactive),
}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flow::ClientCredentials => f.write_str("ClientCredentials"),
            Flow::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Flow::AuthorizationCode(interactive) => f
                .debug_tuple("AuthorizationCode")
                .field(interactive)
                .finish(),
        }
    }
}

/// The interactive side of the authorization-code flow.
#[derive(Clone, Debug)]
pub struct Interactive {
    /// The port of the redirect listener on 127.0.0.1; 0 picks a free one per authorization.
    pub port: u16,
    /// Receives one `Prompt` per scope: the URL the person must open. The caller shows it (or, in
    /// a test, follows it like a browser).
    pub prompts: UnboundedSender<Prompt>,
    /// How long to wait for the browser to come back, per scope.
    pub wait: Duration,
}

/// An authorization URL to open in a browser, to grant `scope`. It carries no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub scope: String,
    pub url: String,
}

/// How the client authenticates to the token endpoint (RFC 6749 2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic`, the method every server must support.
    #[default]
    BasicHeader,
    /// `client_id` and `client_secret` form fields.
    RequestBody,
}

/// Where and how to get tokens.
#[derive(Clone)]
pub struct OAuthConfig {
    pub token_url: String,
    /// Needed by the authorization-code flow only.
    pub authorize_url: Option<String>,
    /// Where refresh tokens are exchanged (the spec's `refreshUrl`); `None` means `token_url`.
    pub refresh_url: Option<String>,
    pub client_id: String,
    /// `None` for a public client, which sends only its id.
    pub client_secret: Option<String>,
    pub client_auth: ClientAuth,
    pub flow: Flow,
    /// The most each request to the token endpoint may take.
    pub timeout: Duration,
    /// PEM bytes of extra CA certificates to trust (as `--cacert`).
    pub cacert: Option<Vec<u8>>,
    /// Accept any TLS certificate (as `--insecure`).
    pub insecure: bool,
}

impl OAuthConfig {
    /// The given endpoint, client and flow; no secret, Basic authentication, `DEFAULT_TIMEOUT`,
    /// the system's CA certificates.
    pub fn new(token_url: impl Into<String>, client_id: impl Into<String>, flow: Flow) -> Self {
        OAuthConfig {
            token_url: token_url.into(),
            authorize_url: None,
            refresh_url: None,
            client_id: client_id.into(),
            client_secret: None,
            client_auth: ClientAuth::default(),
            flow,
            timeout: DEFAULT_TIMEOUT,
            cacert: None,
            insecure: false,
        }
    }
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("token_url", &self.token_url)
            .field("authorize_url", &self.authorize_url)
            .field("refresh_url", &self.refresh_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_auth", &self.client_auth)
            .field("flow", &self.flow)
            .field("timeout", &self.timeout)
            .field("cacert", &self.cacert.as_ref().map(Vec::len))
            .field("insecure", &self.insecure)
            .finish()
    }
}

/// A token obtained for one scope.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    /// The scope asked for (exactly this one).
    pub scope: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// The lifetime the server announced, counted from when it answered.
    pub expires_in: Option<Duration>,
    /// The scopes the server says it granted, when it says (RFC 6749 5.1 asks it to when they
    /// differ from the request; a caller may warn when they do).
    pub granted_scopes: Option<Vec<String>>,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("scope", &self.scope)
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_in", &self.expires_in)
            .field("granted_scopes", &self.granted_scopes)
            .finish()
    }
}

/// Why no token was obtained. Each message is one line and holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid {what} URL: {reason}")]
    InvalidUrl { what: &'static str, reason: String },
    #[error("the authorization-code flow needs an authorize URL")]
    MissingAuthorizeUrl,
    #[error("cannot build the HTTP client for the token endpoint: {reason}")]
    Client { reason: String },
    #[error("the token endpoint did not answer within {}", seconds(*.timeout))]
    Timeout { timeout: Duration },
    #[error("cannot reach the token endpoint: {reason}")]
    Unreachable { reason: String },
    #[error("the token endpoint refused the request for scope `{scope}` (HTTP {status} {error})")]
    Refused {
        scope: String,
        status: u16,
        /// The RFC 6749 error code, e.g. `invalid_grant`; its description is left out.
        error: String,
    },
    #[error(
        "the token endpoint's answer for scope `{scope}` (HTTP {}) is not a token response: {reason}",
        status.map_or_else(|| "status unknown".to_owned(), |status| status.to_string())
    )]
    BadResponse {
        scope: String,
        status: Option<u16>,
        reason: String,
    },
    #[error("cannot listen for the redirect on 127.0.0.1:{port}: {reason}")]
    Listen { port: u16, reason: String },
    #[error("no redirect reached the loopback listener within {}", seconds(*.wait))]
    NoRedirect { wait: Duration },
    #[error("the redirect's state is not the one sent (a forged or stale redirect); its code was not used")]
    StateMismatch,
    #[error("the authorization server refused the authorization: {error}")]
    AuthorizationRefused { error: String },
    #[error("the redirect is malformed: {reason}")]
    BadRedirect { reason: &'static str },
    #[error("nobody receives the authorization URL to open")]
    NoPromptReceiver,
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

/// A text from elsewhere, made safe for a one-line message: no control characters, bounded.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

/// An RFC 6749 error code from a server: its character set only (5.2), bounded.
pub(crate) fn error_code(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .take(64)
        .collect()
}

/// The token and authorize URLs a spec's OAuth2 scheme declares, for defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemeUrls {
    pub token_url: Option<String>,
    pub authorize_url: Option<String>,
    pub refresh_url: Option<String>,
}

/// The URLs of an OAuth2 scheme's `flows` for `flow`: the token and refresh URLs of the flow of
/// the same kind when the scheme declares it, else of the first that declares one
/// (authorizationCode, password, clientCredentials); the authorize URL of authorizationCode,
/// else of implicit.
pub fn scheme_urls(flows: &openapiv3::OAuth2Flows, flow: &Flow) -> SchemeUrls {
    let code = flows
        .authorization_code
        .as_ref()
        .map(|f| (&f.token_url, &f.refresh_url));
    let password = flows
        .password
        .as_ref()
        .map(|f| (&f.token_url, &f.refresh_url));
    let client = flows
        .client_credentials
        .as_ref()
        .map(|f| (&f.token_url, &f.refresh_url));
    let own = match flow {
        Flow::ClientCredentials => client,
        Flow::Password { .. } => password,
        Flow::AuthorizationCode(_) => code,
    };
    let token = own.or(code).or(password).or(client);
    SchemeUrls {
        token_url: token.map(|(token_url, _)| token_url.clone()),
        refresh_url: token.and_then(|(_, refresh_url)| refresh_url.clone()),
        authorize_url: flows
            .authorization_code
            .as_ref()
            .map(|f| f.authorization_url.clone())
            .or_else(|| flows.implicit.as_ref().map(|f| f.authorization_url.clone())),
    }
}

/// One token per scope, each asked for exactly that scope, in the order given (repeats once).
/// The authorization-code flow sends a `Prompt` per scope and waits for the browser each time.
pub async fn acquire(config: &OAuthConfig, scopes: &[String]) -> Result<Vec<Grant>, OAuthError> {
    let endpoint = Endpoint::new(config, &config.token_url)?;
    let mut grants: Vec<Grant> = Vec::new();
    for scope in scopes {
        if grants.iter().any(|grant| &grant.scope == scope) {
            continue;
        }
        grants.push(endpoint.acquire(config, scope).await?);
    }
    Ok(grants)
}

/// Exchanges the grant's refresh token for a new access token for the same scope. The new grant
/// keeps the old refresh token unless the server rotated it. A grant without a refresh token
/// (client credentials issue none) is obtained again through the configured flow instead.
pub async fn refresh(config: &OAuthConfig, grant: &Grant) -> Result<Grant, OAuthError> {
    let Some(refresh_token) = &grant.refresh_token else {
        let endpoint = Endpoint::new(config, &config.token_url)?;
        return endpoint.acquire(config, &grant.scope).await;
    };
    let url = config.refresh_url.as_deref().unwrap_or(&config.token_url);
    let endpoint = Endpoint::new(config, url)?;
    let refresh_token = RefreshToken::new(refresh_token.clone());
    // No `scope` parameter: RFC 6749 6 then grants the scope first granted, exactly.
    let request = endpoint
        .client
        .exchange_refresh_token(&refresh_token)
        .request_async(&endpoint.http);
    let mut renewed = endpoint.finish(config, &grant.scope, request).await?;
    if renewed.refresh_token.is_none() {
        renewed.refresh_token = grant.refresh_token.clone();
    }
    Ok(renewed)
}

type TokenClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

type TokenError = RequestTokenError<HttpError, BasicErrorResponse>;

/// A token endpoint and the HTTP client that reaches it.
struct Endpoint {
    client: TokenClient,
    http: Http,
}

impl Endpoint {
    fn new(config: &OAuthConfig, url: &str) -> Result<Endpoint, OAuthError> {
        let parsed = http_url(url, "token")?;
        let loopback = match parsed.host() {
            Some(Host::Ipv4(address)) => address.is_loopback(),
            Some(Host::Ipv6(address)) => address.is_loopback(),
            Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        let token_url = TokenUrl::from_url(parsed);
        let mut client = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_token_uri(token_url)
            .set_auth_type(match config.client_auth {
                ClientAuth::BasicHeader => AuthType::BasicAuth,
                ClientAuth::RequestBody => AuthType::RequestBody,
            });
        if let Some(secret) = &config.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(Endpoint {
            client,
            http: Http::new(config, loopback)?,
        })
    }

    async fn acquire(&self, config: &OAuthConfig, scope: &str) -> Result<Grant, OAuthError> {
        let asked = Scope::new(scope.to_owned());
        match &config.flow {
            Flow::ClientCredentials => {
                let request = self
                    .client
                    .exchange_client_credentials()
                    .add_scope(asked)
                    .request_async(&self.http);
                self.finish(config, scope, request).await
            }
            Flow::Password { username, password } => {
                let username = ResourceOwnerUsername::new(username.clone());
                let password = ResourceOwnerPassword::new(password.clone());
                let request = self
                    .client
                    .exchange_password(&username, &password)
                    .add_scope(asked)
                    .request_async(&self.http);
                self.finish(config, scope, request).await
            }
            Flow::AuthorizationCode(interactive) => {
                self.authorization_code(config, interactive, scope).await
            }
        }
    }

    /// One authorization: listen, prompt, wait for the redirect, exchange the code.
    async fn authorization_code(
        &self,
        config: &OAuthConfig,
        interactive: &Interactive,
        scope: &str,
    ) -> Result<Grant, OAuthError> {
        let authorize_url = config
            .authorize_url
            .as_deref()
            .ok_or(OAuthError::MissingAuthorizeUrl)?;
        let authorize_url = AuthUrl::from_url(http_url(authorize_url, "authorize")?);
        // Bound before the URL is shown, so that the browser cannot come back to nobody.
        let listener = loopback::Listener::bind(interactive.port).await?;
        let redirect =
            RedirectUrl::new(listener.redirect_uri()).map_err(|error| OAuthError::InvalidUrl {
                what: "redirect",
                reason: error.to_string(),
            })?;
        let client = self
            .client
            .clone()
            .set_auth_uri(authorize_url)
            .set_redirect_uri(redirect);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new(scope.to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        interactive
            .prompts
            .send(Prompt {
                scope: scope.to_owned(),
                url: url.to_string(),
            })
            .map_err(|_| OAuthError::NoPromptReceiver)?;
        let code = listener.wait(state.secret(), interactive.wait).await?;
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&self.http);
        self.finish(config, scope, request).await
    }

    /// Awaits a token request within the timeout and turns its outcome into a `Grant` or an error.
    async fn finish(
        &self,
        config: &OAuthConfig,
        scope: &str,
        request: impl Future<Output = Result<BasicTokenResponse, TokenError>>,
    ) -> Result<Grant, OAuthError> {
        // reqwest's own timeout bounds each request; this one bounds everything around it too.
        let response = tokio::time::timeout(config.timeout, request)
            .await
            .map_err(|_| OAuthError::Timeout {
                timeout: config.timeout,
            })?
            .map_err(|error| self.explain(config, scope, error))?;
        Ok(Grant {
            scope: scope.to_owned(),
            access_token: response.access_token().secret().clone(),
            refresh_token: response.refresh_token().map(|token| token.secret().clone()),
            expires_in: response.expires_in(),
            granted_scopes: response
                .scopes()
                .map(|scopes| scopes.iter().map(|scope| scope.to_string()).collect()),
        })
    }

    /// An `oauth2` error as an `OAuthError`, keeping only what is safe to show.
    fn explain(&self, config: &OAuthConfig, scope: &str, error: TokenError) -> OAuthError {
        let scope = one_line(scope);
        let status = self.http.last_status();
        match error {
            TokenError::ServerResponse(response) => OAuthError::Refused {
                scope,
                status: status.unwrap_or_default(),
                error: error_code(response.error().as_ref()),
            },
            TokenError::Request(error) if error.is_timeout() => OAuthError::Timeout {
                timeout: config.timeout,
            },
            TokenError::Request(HttpError::Transport(error)) => OAuthError::Unreachable {
                reason: HttpError::Transport(error).to_string(),
            },
            TokenError::Request(error) => OAuthError::BadResponse {
                scope,
                status,
                reason: error.to_string(),
            },
            // Only the kind and the place of the problem: serde's message may quote a value.
            TokenError::Parse(error, _body) => OAuthError::BadResponse {
                scope,
                status,
                reason: format!(
                    "{} at `{}`",
                    match error.inner().classify() {
                        serde_json::error::Category::Data => "unexpected JSON",
                        serde_json::error::Category::Io => "unreadable JSON",
                        serde_json::error::Category::Syntax | serde_json::error::Category::Eof =>
                            "malformed JSON",
                    },
                    one_line(&error.path().to_string())
                ),
            },
            TokenError::Other(reason) => OAuthError::BadResponse {
                scope,
                status,
                reason: one_line(&reason.to_lowercase()),
            },
        }
    }
}

/// `text` as an absolute http or https URL.
fn http_url(text: &str, what: &'static str) -> Result<Url, OAuthError> {
    let url = Url::parse(text).map_err(|error| OAuthError::InvalidUrl {
        what,
        reason: error.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OAuthError::InvalidUrl {
            what,
            reason: "the scheme must be http or https".to_owned(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows(yaml: &str) -> openapiv3::OAuth2Flows {
        serde_json::from_value(serde_saphyr::from_str(yaml).expect("yaml")).expect("flows")
    }

    #[test]
    fn scheme_urls_prefer_the_flow_of_the_same_kind() {
        let flows = flows(
            "authorizationCode:\n  authorizationUrl: https://a.example/authorize\n  \
             tokenUrl: https://a.example/token\n  scopes: {}\n\
             password:\n  tokenUrl: https://p.example/token\n  \
             refreshUrl: https://p.example/refresh\n  scopes: {}\n",
        );
        let password = Flow::Password {
            username: "u".to_owned(),
            password: "p".to_owned(),
        };
        assert_eq!(
            scheme_urls(&flows, &password),
            SchemeUrls {
                token_url: Some("https://p.example/token".to_owned()),
                authorize_url: Some("https://a.example/authorize".to_owned()),
                refresh_url: Some("https://p.example/refresh".to_owned()),
            }
        );
        // No clientCredentials flow: the authorization code flow's token URL is the default.
        let urls = scheme_urls(&flows, &Flow::ClientCredentials);
        assert_eq!(urls.token_url.as_deref(), Some("https://a.example/token"));
        assert_eq!(urls.refresh_url, None);
    }

    #[test]
    fn scheme_urls_of_the_shipped_spec() {
        let document: serde_json::Value =
            serde_saphyr::from_str(crate::spec::EMBEDDED_SPEC).expect("yaml");
        let flows = flows(
            &serde_json::to_string(&document["components"]["securitySchemes"]["oauth"]["flows"])
                .expect("json"),
        );
        let urls = scheme_urls(&flows, &Flow::ClientCredentials);
        assert_eq!(
            urls.token_url.as_deref(),
            Some("https://api.x.com/v1/auth/auth")
        );
        assert_eq!(
            urls.authorize_url.as_deref(),
            Some("https://api.x.com/v1/auth/auth")
        );
    }

    #[test]
    fn debug_output_hides_every_secret() {
        let mut config = OAuthConfig::new(
            "http://127.0.0.1:1/oauth/token",
            "client",
            Flow::Password {
                username: "alice".to_owned(),
                password: "pw-SECRET-1".to_owned(),
            },
        );
        config.client_secret = Some("cs-SECRET-2".to_owned());
        let grant = Grant {
            scope: "user".to_owned(),
            access_token: "at-SECRET-3".to_owned(),
            refresh_token: Some("rt-SECRET-4".to_owned()),
            expires_in: None,
            granted_scopes: None,
        };
        let shown = format!("{config:?} {grant:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("alice") && shown.contains("user"), "{shown}");
    }

    #[test]
    fn error_codes_from_a_server_keep_to_their_character_set() {
        assert_eq!(error_code("invalid_grant"), "invalid_grant");
        assert_eq!(error_code("bad\"\\\ncode"), "bad???code");
        assert_eq!(error_code(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(matches!(
            http_url("/oauth/token", "token"),
            Err(OAuthError::InvalidUrl { what: "token", .. })
        ));
        assert!(matches!(
            http_url("ftp://example.com/token", "token"),
            Err(OAuthError::InvalidUrl { .. })
        ));
        assert!(http_url("https://example.com/token", "token").is_ok());
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_one_line_without_secrets() {
        // A port just released: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut config = OAuthConfig::new(
            format!("http://127.0.0.1:{port}/oauth/token"),
            "client",
            Flow::Password {
                username: "alice".to_owned(),
                password: "pw-SECRET-1".to_owned(),
            },
        );
        config.client_secret = Some("cs-SECRET-2".to_owned());
        let error = acquire(&config, &["user".to_owned()])
            .await
            .expect_err("nothing listens");
        let message = error.to_string();
        assert!(matches!(error, OAuthError::Unreachable { .. }), "{message}");
        assert!(
            !message.contains("SECRET") && !message.contains('\n'),
            "{message}"
        );
    }

    #[test]
    fn acquiring_and_refreshing_can_run_on_any_task() {
        fn send<T: Send>(_: &T) {}
        let config = OAuthConfig::new("http://127.0.0.1:1/", "client", Flow::ClientCredentials);
        let scopes = vec!["user".to_owned()];
        send(&acquire(&config, &scopes));
        let grant = Grant {
            scope: "user".to_owned(),
            access_token: "a".to_owned(),
            refresh_token: None,
            expires_in: None,
            granted_scopes: None,
        };
        send(&refresh(&config, &grant));
    }

    #[tokio::test]
    async fn the_authorization_code_flow_needs_an_authorize_url() {
        let (prompts, _receiver) = tokio::sync::mpsc::unbounded_channel();
        let config = OAuthConfig::new(
            "http://127.0.0.1:1/oauth/token",
            "client",
            Flow::AuthorizationCode(Interactive {
                port: 0,
                prompts,
                wait: Duration::from_secs(1),
            }),
        );
        assert_eq!(
            acquire(&config, &["user".to_owned()]).await,
            Err(OAuthError::MissingAuthorizeUrl)
        );
    }
}

//! The embedded reference server: a hand-written implementation of the password operation.
//!
//! It never imports the checks, the generators or the spec loader, so that a mistake cannot hide
//! on both sides at once. Faults (`Fault`) switch on one deviation each, to prove the checks find
//! it. This file holds the public face (fixture, config, spawning and stopping); the behaviour is
//! in `routes.rs`, the OAuth2 token and authorize endpoints in `oauth.rs`, the shared data in
//! `store.rs`. The server never prints: callers report the address themselves.

mod faults;
mod oauth;
mod routes;
mod store;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use faults::Fault;

use store::AppState;

/// The operation's OAuth2 scopes, in the spec's order; `user` is the one it requires.
pub const SCOPES: [&str; 5] = ["admin", "service", "user", "usersManage", "usersView"];

/// How long `RunningServer::shutdown` lets open requests finish before it stops waiting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How long an access token issued by `POST /oauth/token` is accepted, unless configured.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// The test-only OAuth2 client every standard fixture registers.
pub const TEST_CLIENT_ID: &str = "specgate-test";
pub const TEST_CLIENT_SECRET: &str = "test-client-secret";

/// A user of the in-memory store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub password: String,
}

impl User {
    pub fn new(id: impl Into<String>, password: impl Into<String>) -> Self {
        User {
            id: id.into(),
            password: password.into(),
        }
    }
}

/// A test-only bearer token, bound to one user, holding a set of scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    pub user_id: String,
    pub scopes: Vec<String>,
}

/// A confidential OAuth2 client registered with the token and authorize endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthClient {
    pub id: String,
    pub secret: String,
}

impl OAuthClient {
    /// `TEST_CLIENT_ID` with `TEST_CLIENT_SECRET`.
    pub fn test() -> Self {
        OAuthClient {
            id: TEST_CLIENT_ID.to_owned(),
            secret: TEST_CLIENT_SECRET.to_owned(),
        }
    }
}

/// The users, static tokens and OAuth2 clients a server starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fixture {
    pub users: Vec<User>,
    pub tokens: Vec<Token>,
    pub clients: Vec<OAuthClient>,
}

impl Fixture {
    /// Two users: "alice" (password "alice-Passw0rd!") and "bob" (password "bob-Passw0rd!").
    /// Tokens: for alice, one token per scope holding only that scope, value
    /// "test-token-alice-<scope>"; for bob one `user` token "test-token-bob-user".
    pub fn standard() -> Fixture {
        Fixture::with_users(vec![
            User::new("alice", "alice-Passw0rd!"),
            User::new("bob", "bob-Passw0rd!"),
        ])
    }

    /// One single-scope token per scope for the first user, so every scope can be tried alone,
    /// and a `user` token for every other user, so a second caller exists. Token values are
    /// "test-token-<id>-<scope>". The test OAuth2 client (`OAuthClient::test`) is registered.
    pub fn with_users(users: Vec<User>) -> Fixture {
        let mut tokens = Vec::new();
        for (index, user) in users.iter().enumerate() {
            let scopes: &[&str] = if index == 0 { &SCOPES } else { &["user"] };
            tokens.extend(scopes.iter().map(|scope| Token {
                value: format!("test-token-{}-{scope}", user.id),
                user_id: user.id.clone(),
                scopes: vec![(*scope).to_owned()],
            }));
        }
        Fixture {
            users,
            tokens,
            clients: vec![OAuthClient::test()],
        }
    }

    /// The token of `user_id` holding exactly the one scope `scope`, if any.
    pub fn token(&self, user_id: &str, scope: &str) -> Option<&Token> {
        self.tokens
            .iter()
            .find(|token| token.user_id == user_id && token.scopes == [scope])
    }
}

/// What a server starts with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub fixture: Fixture,
    pub faults: BTreeSet<Fault>,
    /// How long an access token issued by `POST /oauth/token` is accepted.
    pub token_lifetime: Duration,
}

impl ServerConfig {
    /// The standard fixture and no faults: a conformant server.
    pub fn standard() -> Self {
        ServerConfig {
            fixture: Fixture::standard(),
            faults: BTreeSet::new(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
        }
    }

    /// The same config with `faults` switched on as well.
    pub fn with_faults(mut self, faults: impl IntoIterator<Item = Fault>) -> Self {
        self.faults.extend(faults);
        self
    }
}

/// The axum Router, for callers that want to serve it themselves.
pub fn router(config: ServerConfig) -> axum::Router {
    routes::app(AppState::new(config))
}

/// A server running on a tokio task. Dropping it (or calling `shutdown`) stops it.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    state: AppState,
    task: Option<JoinHandle<io::Result<()>>>,
}

/// Binds `addr` (port 0 = ephemeral), spawns the server on the current tokio runtime, returns once
/// it listens. Fails only if the address cannot be bound.
pub async fn spawn(addr: SocketAddr, config: ServerConfig) -> io::Result<RunningServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let state = AppState::new(config);
    let stopped = state.stopped();
    let serve = axum::serve(listener, routes::app(state.clone())).with_graceful_shutdown(stopped);
    let task = tokio::spawn(async move { serve.await });
    Ok(RunningServer {
        addr,
        state,
        task: Some(task),
    })
}

impl RunningServer {
    /// The current password of a user (for tests that check the store really changed).
    pub fn password_of(&self, user_id: &str) -> Option<String> {
        self.state.store().password_of(user_id)
    }

    /// Changes how long access tokens issued from now on are accepted; tokens already issued keep
    /// their expiry. Lets a test see a short-lived token expire, then get a long-lived one.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state.grants().set_lifetime(lifetime);
    }

    /// Makes access tokens issued from now on authorise at most `uses` requests each (`None`:
    /// any number), so that a test sees tokens run out at a chosen point whatever the clock.
    pub fn set_token_uses(&self, uses: Option<u32>) {
        self.state.grants().set_uses(uses);
    }

    /// Stops accepting connections and waits, for a bounded time, for open requests to finish.
    pub async fn shutdown(mut self) {
        self.state.stop();
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            // A client that opened a connection and never finished its request would otherwise
            // hold the graceful shutdown open forever.
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // Drop cannot wait, but the signal alone makes the serving task wind down by itself.
        self.state.stop();
    }
}

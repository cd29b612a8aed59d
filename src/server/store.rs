//! The server's shared state: the password store, the token table, the OAuth2 grants, the faults
//! and the stop signal.
//!
//! Everything here is in memory and lives as long as the server; nothing is persisted and no
//! user is ever added or removed after start. It knows nothing of HTTP: `routes.rs` decides what
//! a request may do, this file only answers lookups and applies changes atomically.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::oauth::Grants;
use super::{Fault, ServerConfig, Token};

/// Passwords by user id.
#[derive(Debug, Default)]
pub(super) struct Store {
    passwords: Mutex<HashMap<String, String>>,
    /// Passwords each user had before, for `Fault::OldPasswordStillWorks`.
    retired: Mutex<HashMap<String, Vec<String>>>,
}

impl Store {
    pub(super) fn contains(&self, user_id: &str) -> bool {
        self.lock().contains_key(user_id)
    }

    pub(super) fn password_of(&self, user_id: &str) -> Option<String> {
        self.lock().get(user_id).cloned()
    }

    /// Runs `change` on the user's password under the lock, so that checking the current password
    /// and storing the new one cannot interleave with a concurrent request. `None` if no such user.
    pub(super) fn update<R>(
        &self,
        user_id: &str,
        change: impl FnOnce(&mut String) -> R,
    ) -> Option<R> {
        self.lock().get_mut(user_id).map(change)
    }

    /// Remembers a password the user no longer has.
    pub(super) fn retire(&self, user_id: &str, password: &str) {
        self.retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(user_id.to_owned())
            .or_default()
            .push(password.to_owned());
    }

    /// Whether `password` is one the user had before.
    pub(super) fn was(&self, user_id: &str, password: &str) -> bool {
        self.retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(user_id)
            .is_some_and(|old| old.iter().any(|known| known == password))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        // No code holding the lock can panic on request data, and a map of strings cannot be left
        // half-updated, so a poisoned lock still holds usable data.
        self.passwords
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What every handler sees; cheap to clone.
#[derive(Clone, Debug)]
pub(super) struct AppState(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    store: Store,
    tokens: HashMap<String, Token>,
    /// Tokens, refresh tokens and codes issued by the OAuth2 endpoints, and the clients they serve.
    grants: Grants,
    /// Who an unauthenticated request acts as under `Fault::NoAuth`.
    first_user: Option<String>,
    faults: BTreeSet<Fault>,
    /// Requests to the password route so far, for `Fault::Throttle`.
    requests: std::sync::atomic::AtomicUsize,
    /// Flips to `true` once when the server stops; a handler parked by `Fault::Hang` wakes on it so
    /// that a graceful shutdown does not wait an hour.
    stop: watch::Sender<bool>,
}

impl AppState {
    pub(super) fn new(config: ServerConfig) -> Self {
        let mut passwords = HashMap::new();
        // With duplicate ids the first entry wins, the same rule as `first_user` and the tokens.
        for user in &config.fixture.users {
            passwords
                .entry(user.id.clone())
                .or_insert_with(|| user.password.clone());
        }
        let mut tokens = HashMap::new();
        for token in config.fixture.tokens {
            tokens.entry(token.value.clone()).or_insert(token);
        }
        let (stop, _) = watch::channel(false);
        AppState(Arc::new(Shared {
            store: Store {
                passwords: Mutex::new(passwords),
                retired: Mutex::default(),
            },
            tokens,
            grants: Grants::new(config.fixture.clients, config.token_lifetime),
            first_user: config.fixture.users.first().map(|user| user.id.clone()),
            faults: config.faults,
            requests: std::sync::atomic::AtomicUsize::new(0),
            stop,
        }))
    }

    pub(super) fn store(&self) -> &Store {
        &self.0.store
    }

    /// The static token of that value, or else an unexpired one the token endpoint issued.
    pub(super) fn token(&self, value: &str) -> Option<Token> {
        match self.0.tokens.get(value) {
            Some(token) => Some(token.clone()),
            None => self.0.grants.access_token(value),
        }
    }

    pub(super) fn grants(&self) -> &Grants {
        &self.0.grants
    }

    pub(super) fn first_user(&self) -> Option<&str> {
        self.0.first_user.as_deref()
    }

    pub(super) fn has(&self, fault: Fault) -> bool {
        self.0.faults.contains(&fault)
    }

    /// Counts a request; true for every third one.
    pub(super) fn third_request(&self) -> bool {
        self.0
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            % 3
            == 2
    }

    pub(super) fn stop(&self) {
        self.0.stop.send_replace(true);
    }

    /// Resolves once `stop` has been called (at once if it already was).
    pub(super) fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut receiver = self.0.stop.subscribe();
        async move {
            // An error means the sender is gone, i.e. the state is gone: nothing left to wait for.
            let _ = receiver.wait_for(|stopped| *stopped).await;
        }
    }
}

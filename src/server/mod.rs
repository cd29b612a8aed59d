//! The embedded reference server: a hand-written implementation of the password operation.
//!
//! It never imports the checks or the generators, so that a mistake cannot hide on both sides at
//! once. Faults (`Fault`) switch on one deviation each, to prove the checks find it.

use std::collections::BTreeSet;
use std::net::SocketAddr;

/// A user of the in-memory store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub password: String,
}

/// A test-only bearer token, bound to one user, holding a set of scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    pub user_id: String,
    pub scopes: Vec<String>,
}

/// The users and tokens a server starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fixture {
    pub users: Vec<User>,
    pub tokens: Vec<Token>,
}

/// One deviation from the contract, switched on with `specgate serve --fault NAME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub fixture: Fixture,
    pub faults: BTreeSet<Fault>,
}

pub struct RunningServer {
    pub addr: SocketAddr,
}

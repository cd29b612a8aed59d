//! specgate: a conformance test harness and OpenAPI spec validator.
//!
//! The library holds everything but the process edges: `main.rs` parses the command line,
//! calls into here, prints and exits. Nothing in the library prints or exits (the lints below
//! enforce it); reporters write to an `impl Write` they are given.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

pub mod auth;
pub mod case;
pub mod checks;
pub mod cli;
pub mod client;
pub mod config;
pub mod error;
pub mod exit;
pub mod generate;
pub mod harness;
pub mod oauth;
pub mod pacing;
pub mod plan;
pub mod redact;
pub mod report;
pub mod runner;
pub mod server;
pub mod spec;

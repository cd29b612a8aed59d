//! The HTTP client the `oauth2` crate sends token requests with: our reqwest client behind its
//! `AsyncHttpClient` trait.
//!
//! The `oauth2` crate's own reqwest support is built for another reqwest major version; going
//! through this adapter keeps one HTTP stack. Every request has a timeout, follows no redirect
//! (a token request must not be replayed elsewhere with its credentials) and reads a bounded
//! answer. The last status is kept because `oauth2`'s errors do not carry it. This file does not
//! interpret answers: `mod.rs` does.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};

use super::{one_line, OAuthConfig, OAuthError};

/// A token response is a few hundred bytes; a larger answer is not one.
const MAX_RESPONSE: usize = 256 * 1024;

/// Why a token request got no usable HTTP answer. Never holds the request: it carries secrets.
#[derive(Debug, thiserror::Error)]
pub(super) enum HttpError {
    /// Without its URL, so that its message names only the causes.
    #[error("{}", chain(.0))]
    Transport(reqwest::Error),
    #[error("the request could not be built")]
    Build,
    #[error("the answer is larger than {MAX_RESPONSE} bytes")]
    TooLarge,
    #[error("the answer's head is not valid HTTP")]
    Head,
}

impl HttpError {
    pub(super) fn is_timeout(&self) -> bool {
        matches!(self, HttpError::Transport(error) if error.is_timeout())
    }
}

/// The error and its causes on one line, repeats left out.
fn chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    one_line(&parts.join(": "))
}

pub(super) struct Http {
    client: reqwest::Client,
    /// The status of the last answer, 0 before any.
    status: AtomicU16,
}

impl Http {
    /// A client for `config`; `loopback` (a token URL on this machine) bypasses any proxy set in
    /// the environment, as the run's own client does.
    pub(super) fn new(config: &OAuthConfig, loopback: bool) -> Result<Http, OAuthError> {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("specgate/", env!("CARGO_PKG_VERSION")));
        if loopback {
            builder = builder.no_proxy();
        }
        if let Some(pem) = &config.cacert {
            let certificates =
                reqwest::Certificate::from_pem_bundle(pem).map_err(|_| OAuthError::Client {
                    reason: "the extra CA certificates are not valid PEM".to_owned(),
                })?;
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if config.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder.build().map_err(|error| OAuthError::Client {
            reason: chain(&error.without_url()),
        })?;
        Ok(Http {
            client,
            status: AtomicU16::new(0),
        })
    }

    /// The status of the last answer, if one came.
    pub(super) fn last_status(&self) -> Option<u16> {
        match self.status.load(Ordering::Relaxed) {
            0 => None,
            status => Some(status),
        }
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request).map_err(|_| HttpError::Build)?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|error| HttpError::Transport(error.without_url()))?;
        self.status
            .store(response.status().as_u16(), Ordering::Relaxed);
        let mut builder = oauth2::http::Response::builder()
            .status(response.status())
            .version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| HttpError::Transport(error.without_url()))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(|_| HttpError::Head)
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

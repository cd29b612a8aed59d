//! The HTTP client and the `Exchange` it records: a request, what came back, how long it took.
//!
//! Every request has a timeout, follows no redirects and reads at most `--max-body` bytes of a
//! response. A transport failure (timeout, refused, not HTTP) is data in the exchange, not an
//! error: whether it ends the run is the runner's decision.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};

/// The largest response body kept by default; beyond it the body is cut and marked truncated.
pub const MAX_BODY: usize = 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Headers in the order sent; values may hold secrets until redacted.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    /// Header names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub truncated: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Why no response came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// No complete answer within the timeout.
    Timeout(Duration),
    /// The connection could not be made.
    Connect(String),
    /// The peer answered something that is not HTTP, or closed the connection.
    Protocol(String),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Timeout(limit) => {
                write!(f, "no answer within {:.1} s", limit.as_secs_f64())
            }
            TransportError::Connect(reason) => write!(f, "cannot connect: {reason}"),
            TransportError::Protocol(reason) => write!(f, "not a valid HTTP answer: {reason}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Exchange {
    pub request: Request,
    pub response: Result<Response, TransportError>,
    pub elapsed: Duration,
}

pub struct Client {
    inner: reqwest::Client,
    timeout: Duration,
    max_body: usize,
}

impl Client {
    /// A client; a loopback target bypasses any proxy set in the environment (others honour
    /// HTTP_PROXY, HTTPS_PROXY and NO_PROXY).
    pub fn new(
        timeout: Duration,
        loopback: bool,
        transport: &crate::config::Transport,
    ) -> Result<Client, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("specgate/", env!("CARGO_PKG_VERSION")));
        if loopback {
            builder = builder.no_proxy();
        }
        if let Some(pem) = &transport.cacert {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|error| format!("--cacert: {error}"))?;
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if transport.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let inner = builder
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        Ok(Client {
            inner,
            timeout,
            max_body: transport.max_body,
        })
    }

    pub async fn send(&self, request: Request) -> Exchange {
        let started = Instant::now();
        let response = self.fetch(&request).await;
        Exchange {
            request,
            response,
            elapsed: started.elapsed(),
        }
    }

    async fn fetch(&self, request: &Request) -> Result<Response, TransportError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|error| TransportError::Protocol(error.to_string()))?;
        let mut builder = self.inner.request(method, &request.url);
        for (name, value) in &request.headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) else {
                return Err(TransportError::Protocol(format!(
                    "header {name} cannot be sent"
                )));
            };
            builder = builder.header(name, value);
        }
        let mut response = builder
            .body(request.body.clone())
            .send()
            .await
            .map_err(|error| self.classify(&error))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| self.classify(&error))?
        {
            let room = self.max_body.saturating_sub(body.len());
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
            truncated,
        })
    }

    fn classify(&self, error: &reqwest::Error) -> TransportError {
        if error.is_timeout() {
            TransportError::Timeout(self.timeout)
        } else if error.is_connect() {
            TransportError::Connect(root_cause(error))
        } else {
            TransportError::Protocol(root_cause(error))
        }
    }
}

/// The innermost cause: reqwest's own message ("error sending request") says little.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

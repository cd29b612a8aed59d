//! The loopback redirect listener of the authorization-code flow (RFC 8252 7.3): a tiny HTTP
//! server on 127.0.0.1 that waits for the browser to come back with the code.
//!
//! It accepts exactly one redirect to `/callback`, checks its `state` against the one sent
//! (CSRF), answers the browser a small HTML page and returns the code. Other requests a browser
//! makes meanwhile (a favicon, a speculative connection) get a 404 and do not end the wait. The
//! whole wait, and each connection, is bounded in time. The page never shows the code or the
//! state. This file does not talk to the authorization server.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::{error_code, OAuthError};

/// The path the authorization server redirects to.
pub(super) const CALLBACK_PATH: &str = "/callback";

/// A redirect's request head is a request line with a query and a few headers.
const HEAD_LIMIT: usize = 16 * 1024;

/// How long one connection may take to send its request head; a connection a browser opens
/// speculatively and never uses must not hold anything up.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Back-off after a failed accept (out of file descriptors, say), so as not to spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>specgate</title>\
</head><body><p>specgate received the authorization. You can close this window.</p></body></html>\n";
const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>specgate</title>\
</head><body><p>specgate could not use this authorization; its terminal says why.</p></body></html>\n";
const NOT_FOUND_PAGE: &str =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>specgate</title>\
</head><body><p>Not found.</p></body></html>\n";

/// A bound listener, ready before the authorization URL is shown so that the redirect cannot
/// arrive before anyone listens.
pub(super) struct Listener {
    listener: TcpListener,
    port: u16,
}

impl Listener {
    /// Binds 127.0.0.1:`port`; 0 picks a free port.
    pub(super) async fn bind(port: u16) -> Result<Listener, OAuthError> {
        let listen_error = |error: std::io::Error| OAuthError::Listen {
            port,
            reason: error.to_string().to_lowercase(),
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(listen_error)?;
        let port = listener.local_addr().map_err(listen_error)?.port();
        Ok(Listener { listener, port })
    }

    /// The redirect URI to register in the authorization request.
    pub(super) fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Waits at most `wait` for the redirect; returns its code once its state is `state`.
    pub(super) async fn wait(self, state: &str, wait: Duration) -> Result<String, OAuthError> {
        let mut connections = JoinSet::new();
        let listen = async {
            loop {
                tokio::select! {
                    accepted = self.listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            connections.spawn(answer(stream, state.to_owned()));
                        }
                        Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                    },
                    Some(joined) = connections.join_next() => {
                        // A connection that was not the redirect (or whose task failed) changes
                        // nothing: keep waiting.
                        if let Ok(Some(outcome)) = joined {
                            return outcome;
                        }
                    }
                }
            }
        };
        let outcome = tokio::time::timeout(wait, listen).await;
        // Dropping the set aborts connections still open; the listener closes with `self`.
        drop(connections);
        outcome.unwrap_or(Err(OAuthError::NoRedirect { wait }))
    }
}

/// Serves one connection. `Some` when it was the redirect, whatever it carried.
async fn answer(mut stream: TcpStream, state: String) -> Option<Result<String, OAuthError>> {
    let head = tokio::time::timeout(CONNECTION_TIMEOUT, read_head(&mut stream))
        .await
        .ok()??;
    let mut words = head.lines().next()?.split(' ');
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return None;
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != CALLBACK_PATH || !(method == "GET" || method == "HEAD") {
        respond(&mut stream, "404 Not Found", NOT_FOUND_PAGE).await;
        return None;
    }
    let outcome = redirect_code(query, &state);
    let (status, page) = match outcome {
        Ok(_) => ("200 OK", DONE_PAGE),
        Err(_) => ("400 Bad Request", FAILED_PAGE),
    };
    respond(&mut stream, status, page).await;
    Some(outcome)
}

/// The request head, up to the blank line; `None` if the peer closes or sends too much first.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 || head.len() + read > HEAD_LIMIT {
            return None;
        }
        head.extend_from_slice(buffer.get(..read)?);
    }
    String::from_utf8(head).ok()
}

async fn respond(stream: &mut TcpStream, status: &str, page: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    // The browser's page is a courtesy: the outcome stands whether or not it arrives.
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, write).await;
}

/// The code a redirect's query carries, once its state matches (RFC 6749 4.1.2, 10.12).
fn redirect_code(query: &str, state: &str) -> Result<String, OAuthError> {
    let mut params = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if params.insert(name, value).is_some() {
            return Err(OAuthError::BadRedirect {
                reason: "a parameter is repeated",
            });
        }
    }
    // The state first: an answer that does not carry ours, error or code, is not for us.
    if params.get("state").map(|value| value.as_ref()) != Some(state) {
        return Err(OAuthError::StateMismatch);
    }
    if let Some(error) = params.get("error") {
        return Err(OAuthError::AuthorizationRefused {
            error: error_code(error),
        });
    }
    match params.remove("code") {
        Some(code) if !code.is_empty() => Ok(code.into_owned()),
        _ => Err(OAuthError::BadRedirect {
            reason: "it carries no code",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_with_our_state_yields_its_code() {
        assert_eq!(
            redirect_code("code=abc%2F1&state=s1", "s1"),
            Ok("abc/1".to_owned())
        );
    }

    #[test]
    fn a_redirect_with_another_state_is_refused_even_with_a_code() {
        assert_eq!(
            redirect_code("code=abc&state=forged", "s1"),
            Err(OAuthError::StateMismatch)
        );
        assert_eq!(
            redirect_code("code=abc", "s1"),
            Err(OAuthError::StateMismatch)
        );
    }

    #[test]
    fn an_error_redirect_names_the_error_only() {
        assert_eq!(
            redirect_code("error=access_denied&error_description=no&state=s1", "s1"),
            Err(OAuthError::AuthorizationRefused {
                error: "access_denied".to_owned()
            })
        );
    }

    #[test]
    fn a_redirect_without_code_or_with_repeats_is_malformed() {
        assert!(matches!(
            redirect_code("state=s1", "s1"),
            Err(OAuthError::BadRedirect { .. })
        ));
        assert!(matches!(
            redirect_code("code=a&code=b&state=s1", "s1"),
            Err(OAuthError::BadRedirect { .. })
        ));
    }

    /// A raw request to the listener; the answer's status line.
    async fn get(port: u16, target: &str) -> String {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .expect("connects");
        stream
            .write_all(format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await
            .expect("writes");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("reads");
        answer.lines().next().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn other_paths_get_a_404_and_the_wait_goes_on_until_the_redirect() {
        let listener = Listener::bind(0).await.expect("binds");
        let port = listener.port;
        assert_eq!(
            listener.redirect_uri(),
            format!("http://127.0.0.1:{port}/callback")
        );
        let waiting = tokio::spawn(listener.wait("s1", Duration::from_secs(30)));
        // An idle connection, as a browser's preconnect, must not block the others.
        let _idle = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .expect("connects");
        assert_eq!(get(port, "/favicon.ico").await, "HTTP/1.1 404 Not Found");
        assert_eq!(
            get(port, "/callback?code=c1&state=s1").await,
            "HTTP/1.1 200 OK"
        );
        let code = waiting.await.expect("the task ends");
        assert_eq!(code, Ok("c1".to_owned()));
    }

    #[tokio::test]
    async fn a_forged_redirect_ends_the_wait_with_a_state_mismatch() {
        let listener = Listener::bind(0).await.expect("binds");
        let port = listener.port;
        let waiting = tokio::spawn(listener.wait("s1", Duration::from_secs(30)));
        assert_eq!(
            get(port, "/callback?code=c1&state=forged").await,
            "HTTP/1.1 400 Bad Request"
        );
        assert_eq!(
            waiting.await.expect("the task ends"),
            Err(OAuthError::StateMismatch)
        );
    }

    #[tokio::test]
    async fn no_redirect_within_the_wait_is_an_error() {
        let listener = Listener::bind(0).await.expect("binds");
        let wait = Duration::from_millis(100);
        assert_eq!(
            listener.wait("s1", wait).await,
            Err(OAuthError::NoRedirect { wait })
        );
    }
}

//! Pacing: a request rate no higher than `--rate-limit`, and patience with a server that says
//! it is busy.
//!
//! A 429, or an Error whose `error_code` is `MAX_LOAD` or `TOO_MANY_CONNECTIONS`, means the
//! server did not do the work: the request is sent again after a backoff (the server's
//! `Retry-After` when it gives one), a bounded number of times. Such answers are throttling,
//! counted for the report, never judged as conformance failures.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::client::{Client, Exchange, Request, Response};

/// Retries of one throttled request before it is given up as unjudged.
const MAX_RETRIES: u32 = 5;
/// The first backoff; it doubles with each retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// No wait is longer than this, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Sends requests at the agreed pace and retries throttled ones. Shared by requests in flight
/// at the same time: each takes the next free start slot, and a throttled answer holds back
/// every request that starts after it, not only its own retry.
pub struct Pacer {
    /// The least time between two request starts (`None`: as fast as answers come).
    interval: Option<Duration>,
    /// The earliest start of the next request: the rate limit's next slot, or the end of a
    /// backoff.
    next: Mutex<Instant>,
    /// Throttled answers seen (each retried or given up).
    throttled: AtomicUsize,
}

/// What came back, and whether it is still a throttling answer after every retry.
pub struct Sent {
    pub exchange: Exchange,
    pub throttled: bool,
}

impl Pacer {
    /// `rate`: requests per second, if limited.
    pub fn new(rate: Option<f64>) -> Pacer {
        Pacer {
            interval: rate
                .filter(|rate| *rate > 0.0)
                .map(|rate| Duration::from_secs_f64(1.0 / rate)),
            next: Mutex::new(Instant::now()),
            throttled: AtomicUsize::new(0),
        }
    }

    /// Throttled answers seen so far.
    pub fn throttled(&self) -> usize {
        self.throttled.load(Ordering::Relaxed)
    }

    /// Waits for the next free start slot: after any backoff, and at the agreed rate.
    async fn slot(&self) {
        let now = Instant::now();
        let start = {
            let mut next = self.next();
            let start = (*next).max(now);
            if let Some(interval) = self.interval {
                *next = start + interval;
            }
            start
        };
        if start > now {
            tokio::time::sleep_until(start).await;
        }
    }

    /// Holds back every request until `wait` from now has passed.
    fn back_off(&self, wait: Duration) {
        let mut next = self.next();
        *next = (*next).max(Instant::now() + wait);
    }

    fn next(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.next
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub async fn send(&self, client: &Client, request: Request) -> Sent {
        let mut attempt = 0;
        loop {
            self.slot().await;
            let exchange = client.send(request.clone()).await;
            let Some(response) = exchange.response.as_ref().ok().filter(|r| is_throttled(r)) else {
                return Sent {
                    exchange,
                    throttled: false,
                };
            };
            self.throttled.fetch_add(1, Ordering::Relaxed);
            if attempt == MAX_RETRIES {
                return Sent {
                    exchange,
                    throttled: true,
                };
            }
            let wait = retry_after(response).unwrap_or(FIRST_BACKOFF * 2u32.pow(attempt));
            self.back_off(wait.min(MAX_WAIT));
            attempt += 1;
        }
    }
}

/// A "busy, try later" answer: 429, or an Error saying the server is overloaded.
pub fn is_throttled(response: &Response) -> bool {
    if response.status == 429 {
        return true;
    }
    if response.status < 400 {
        return false;
    }
    serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|body| body.get("error_code")?.as_str().map(str::to_string))
        .is_some_and(|code| code == "MAX_LOAD" || code == "TOO_MANY_CONNECTIONS")
}

/// `Retry-After` in seconds (the HTTP-date form is left to the default backoff).
fn retry_after(response: &Response) -> Option<Duration> {
    response
        .header("retry-after")?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            truncated: false,
        }
    }

    #[test]
    fn throttling_answers() {
        assert!(is_throttled(&response(429, &[], "")));
        assert!(is_throttled(&response(
            503,
            &[],
            r#"{"error_code":"MAX_LOAD"}"#
        )));
        assert!(is_throttled(&response(
            500,
            &[],
            r#"{"error_code":"TOO_MANY_CONNECTIONS"}"#
        )));
        assert!(!is_throttled(&response(
            500,
            &[],
            r#"{"error_code":"GENERAL_ERROR"}"#
        )));
        assert!(!is_throttled(&response(
            200,
            &[],
            r#"{"error_code":"MAX_LOAD"}"#
        )));
    }

    #[test]
    fn a_backoff_holds_back_the_next_start_and_is_never_shortened() {
        let pacer = Pacer::new(None);
        assert!(*pacer.next() <= Instant::now());
        pacer.back_off(Duration::from_secs(60));
        assert!(*pacer.next() >= Instant::now() + Duration::from_secs(59));
        pacer.back_off(Duration::from_secs(1));
        assert!(*pacer.next() >= Instant::now() + Duration::from_secs(59));
    }

    #[test]
    fn retry_after_seconds() {
        let r = response(429, &[("retry-after", "2")], "");
        assert_eq!(retry_after(&r), Some(Duration::from_secs(2)));
        let r = response(429, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], "");
        assert_eq!(retry_after(&r), None);
    }
}

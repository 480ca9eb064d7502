//! Retries with backoff: the one place that decides whether a failed
//! request (CSC, OAuth, OpenID) is sent again.
//!
//! The policy, by what is known about the failed attempt:
//!
//! | attempt ended with | idempotent request | non-idempotent request (`credentials/authorize`, `signatures/signHash`, token grants) |
//! |---|---|---|
//! | connection never made (refused, DNS, connect timeout) | retried | retried: nothing reached the service |
//! | sent, then timeout or connection dropped | retried | **not** retried: the service may have carried it out (a SAD spent, signatures made); the error says the outcome is unknown |
//! | HTTP 5xx but 501, 429, `temporarily_unavailable` | retried (honouring `Retry-After`, capped) | not retried |
//! | any other reply | final | final |
//!
//! Backoff is exponential with jitter, from [`RetryConfig::initial_backoff`]
//! up to [`RetryConfig::max_backoff`]. Requests flagged
//! [`sensitive`](RequestFlags::sensitive) carry secrets (PIN, OTP, SAD,
//! passwords, tokens): their bodies are never logged, only the method name.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// How often and how patiently failed requests are retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt (0: never retry).
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryConfig {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (0-based): exponential backoff
    /// with jitter in its upper half, or the service's `Retry-After` when it
    /// asked for longer.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        let half = exp / 2;
        let jitter = half.mul_f64(random_unit());
        let wait = half + jitter;
        match retry_after {
            Some(ra) => wait.max(ra.min(self.max_retry_after)),
            None => wait,
        }
    }
}

fn random_unit() -> f64 {
    let mut b = [0u8; 4];
    // Jitter only spreads retries; a failing generator just removes it.
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

/// What a request is, as far as retrying and logging are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFlags {
    /// Sending it twice has the same effect as sending it once: it may be
    /// retried when its outcome is unknown or the service was unavailable.
    pub idempotent: bool,
    /// It carries secrets: its body and URL parameters are never logged.
    pub sensitive: bool,
}

impl RequestFlags {
    /// A read without secrets (`info`, `credentials/list`, `credentials/info`).
    pub const READ: Self = Self {
        idempotent: true,
        sensitive: false,
    };
    /// An idempotent request that carries a secret (`auth/revoke`).
    pub const SENSITIVE_IDEMPOTENT: Self = Self {
        idempotent: true,
        sensitive: true,
    };
    /// A request with effects that carries secrets (`credentials/authorize`,
    /// `signatures/signHash`, `auth/login`, token grants).
    pub const SENSITIVE_ONCE: Self = Self {
        idempotent: false,
        sensitive: true,
    };
}

/// How one attempt failed, as the retry loop needs to know it.
#[derive(Debug)]
pub(crate) enum AttemptError {
    /// The request never reached the service: safe to send again.
    NotSent(Error),
    /// The request may have reached the service and been carried out.
    OutcomeUnknown(Error),
    /// The service answered that it cannot serve the request now.
    Unavailable {
        error: Error,
        retry_after: Option<Duration>,
    },
    /// Nothing to retry.
    Final(Error),
}

/// Runs `attempt` (given the attempt number, from 0) until it succeeds or
/// the policy says stop. `what` names the request in logs and errors.
pub(crate) async fn run<T, F, Fut>(
    config: &RetryConfig,
    flags: RequestFlags,
    what: &str,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = std::result::Result<T, AttemptError>>,
{
    let mut retry = 0u32;
    loop {
        let failure = match attempt(retry).await {
            Ok(v) => return Ok(v),
            Err(f) => f,
        };
        let (may_retry, error, retry_after) = match failure {
            AttemptError::NotSent(e) => (true, e, None),
            AttemptError::OutcomeUnknown(e) if flags.idempotent => (true, e, None),
            AttemptError::OutcomeUnknown(e) => return Err(outcome_unknown(what, e)),
            AttemptError::Unavailable { error, retry_after } => (flags.idempotent, error, retry_after),
            AttemptError::Final(e) => return Err(e),
        };
        let too_long = retry_after.is_some_and(|ra| ra > config.max_retry_after);
        if !may_retry || retry >= config.max_retries || too_long {
            tracing::debug!(request = what, attempts = retry + 1, "giving up: {error}");
            return Err(error);
        }
        let wait = config.backoff(retry, retry_after);
        tracing::debug!(
            request = what,
            attempt = retry + 1,
            wait_ms = wait.as_millis() as u64,
            "retrying after: {error}"
        );
        tokio::time::sleep(wait).await;
        retry += 1;
    }
}

/// The error of a non-idempotent request whose outcome is unknown.
fn outcome_unknown(what: &str, e: Error) -> Error {
    let (detail, source) = match e {
        Error::ServiceUnavailable { detail, source } => (detail, source),
        other => (other.to_string(), None),
    };
    Error::ServiceUnavailable {
        detail: format!(
            "{what}: the request was sent but no complete reply came back ({detail}); whether the service \
             carried it out is unknown, so it was not sent again"
        ),
        source,
    }
}

/// Three retries in a few milliseconds, for tests.
#[cfg(test)]
pub(crate) fn fast() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        max_retry_after: Duration::from_millis(5),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn unavailable() -> Error {
        Error::ServiceUnavailable {
            detail: "busy".into(),
            source: None,
        }
    }

    async fn count(flags: RequestFlags, make: fn() -> AttemptError) -> (u32, Result<()>) {
        let n = AtomicU32::new(0);
        let r = run(&fast(), flags, "m", |_| {
            n.fetch_add(1, Ordering::SeqCst);
            async move { Err::<(), _>(make()) }
        })
        .await;
        (n.load(Ordering::SeqCst), r)
    }

    #[tokio::test]
    async fn policy_by_flag_and_failure() {
        let not_sent = || AttemptError::NotSent(unavailable());
        let unknown = || AttemptError::OutcomeUnknown(unavailable());
        let busy = || AttemptError::Unavailable {
            error: unavailable(),
            retry_after: Some(Duration::from_millis(1)),
        };
        let fin = || AttemptError::Final(Error::invalid_argument("no"));

        assert_eq!(count(RequestFlags::READ, not_sent).await.0, 4);
        assert_eq!(count(RequestFlags::SENSITIVE_ONCE, not_sent).await.0, 4);
        assert_eq!(count(RequestFlags::READ, unknown).await.0, 4);
        let (n, r) = count(RequestFlags::SENSITIVE_ONCE, unknown).await;
        assert_eq!(n, 1);
        assert!(r.unwrap_err().to_string().contains("unknown"));
        assert_eq!(count(RequestFlags::READ, busy).await.0, 4);
        assert_eq!(count(RequestFlags::SENSITIVE_ONCE, busy).await.0, 1);
        assert_eq!(count(RequestFlags::READ, fin).await.0, 1);
        let too_long = || AttemptError::Unavailable {
            error: unavailable(),
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(count(RequestFlags::READ, too_long).await.0, 1);
    }

    #[tokio::test]
    async fn success_after_failures() {
        let r = run(&fast(), RequestFlags::READ, "m", |n| async move {
            if n < 2 {
                Err(AttemptError::NotSent(unavailable()))
            } else {
                Ok(n)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 2);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = RetryConfig::default();
        for retry in 0..20 {
            let w = c.backoff(retry, None);
            assert!(w <= c.max_backoff, "{w:?}");
            assert!(w >= (c.initial_backoff * 2u32.saturating_pow(retry.min(10))).min(c.max_backoff) / 2);
        }
        assert_eq!(c.backoff(0, Some(Duration::from_secs(3))), Duration::from_secs(3));
        assert_eq!(c.backoff(0, Some(Duration::from_secs(300))), c.max_retry_after);
    }
}

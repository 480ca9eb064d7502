//! One request with the retry policy, its reply read whole by the one body
//! reader within the one size limit.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

use super::retry::{self, AttemptError, RequestFlags, RetryConfig};
use super::transport::HttpClient;
use crate::error::{Error, Result};

/// Largest reply body read (a CSC `signHash` reply with 1,000 RSA-4096
/// signatures is under 1 MiB; discovery documents and JWKS are far smaller).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// What a request is, for the retry policy and the logs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Call<'a> {
    /// The other side, in messages (`RSSP host:port`, `OpenID provider …`).
    pub service: &'a str,
    /// The request, in messages and logs (`signatures/signHash`, `JWKS`).
    pub what: &'a str,
    /// The protocol, in logs (`CSC`, `OpenID`).
    pub protocol: &'static str,
    /// Idempotent, sensitive.
    pub flags: RequestFlags,
}

/// A reply, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body (at most [`MAX_BODY`] bytes).
    pub body: Vec<u8>,
    retry_after: Option<Duration>,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the service said it cannot serve the request now: 5xx, 429,
    /// or an OAuth/CSC error body `temporarily_unavailable` or `server_error`.
    pub fn is_unavailable(&self) -> bool {
        #[derive(Deserialize)]
        struct Code {
            error: String,
        }
        self.status >= 500
            || self.status == 429
            || serde_json::from_slice::<Code>(&self.body)
                .is_ok_and(|c| matches!(c.error.as_str(), "temporarily_unavailable" | "server_error"))
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

impl HttpClient {
    /// How a failed send or read ended, for the retry policy.
    fn classify(&self, service: &str, e: reqwest::Error) -> AttemptError {
        let connect = e.is_connect();
        match self.transport_error(service, e) {
            // An untrusted certificate does not get better by retrying.
            err @ Error::Config { .. } => AttemptError::Final(err),
            err if connect => AttemptError::NotSent(err),
            err => AttemptError::OutcomeUnknown(err),
        }
    }

    /// The one body reader: the whole body, or [`Error::Protocol`] when it
    /// is larger than [`MAX_BODY`] (said or seen).
    async fn read_body(
        &self,
        service: &str,
        mut response: reqwest::Response,
    ) -> std::result::Result<Vec<u8>, AttemptError> {
        let too_large = || {
            AttemptError::Final(Error::Protocol {
                service: service.to_owned(),
                detail: "reply too large".into(),
            })
        };
        if response.content_length().is_some_and(|l| l > MAX_BODY as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(self.classify(service, e)),
            }
        }
    }

    /// Sends the request `build` makes (once per attempt) under `retry`'s
    /// policy and reads the reply. Transport failures and replies that
    /// [say the service is unavailable](Reply::is_unavailable) are retried
    /// as the flags allow; when the retries end on such a reply,
    /// `unavailable` makes the error. Every other reply, success or not, is
    /// returned for the caller to interpret. Bodies of sensitive requests
    /// are never logged.
    pub(crate) async fn fetch(
        &self,
        retry: &RetryConfig,
        call: Call<'_>,
        build: impl Fn() -> reqwest::RequestBuilder,
        unavailable: impl Fn(&Reply) -> Error,
    ) -> Result<Reply> {
        let build = &build;
        let unavailable = &unavailable;
        retry::run(retry, call.flags, call.what, |attempt| async move {
            let response = build().send().await.map_err(|e| self.classify(call.service, e))?;
            let status = response.status().as_u16();
            let wait = retry_after(response.headers());
            let body = self.read_body(call.service, response).await?;
            tracing::debug!(
                target: "crpki::http",
                request = call.what,
                attempt,
                status,
                bytes = body.len(),
                "{} reply",
                call.protocol
            );
            if !call.flags.sensitive {
                tracing::trace!(
                    target: "crpki::http",
                    request = call.what,
                    body = %String::from_utf8_lossy(&body[..body.len().min(4096)]),
                    "{} reply body",
                    call.protocol
                );
            }
            let reply = Reply {
                status,
                body,
                retry_after: wait,
            };
            if reply.is_unavailable() {
                return Err(AttemptError::Unavailable {
                    error: unavailable(&reply),
                    retry_after: reply.retry_after,
                });
            }
            Ok(reply)
        })
        .await
    }
}

//! One request with the retry policy, its reply read whole by the one body
//! reader within the one size limit.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER};
use reqwest::{Method, Url};
use serde::Deserialize;

use super::retry::{self, AttemptError, RequestFlags, RetryConfig};
use super::transport::HttpClient;
use crate::error::{Error, Result};
use crate::secret::Secret;

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

/// How a request authenticates.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// Not at all (or in its form).
    None,
    /// `Authorization: Bearer`.
    Bearer(&'a Secret),
    /// HTTP Basic.
    Basic(&'a str, &'a Secret),
}

/// A reply, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body (at most [`MAX_BODY`] bytes).
    pub body: Vec<u8>,
    /// The `Content-Type` header, if any and readable.
    pub content_type: Option<String>,
    retry_after: Option<Duration>,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the service said it cannot serve the request now: 5xx but
    /// 501 (not implemented: asking again changes nothing), 429, or an
    /// OAuth/CSC error body `temporarily_unavailable` or `server_error`.
    pub fn is_unavailable(&self) -> bool {
        #[derive(Deserialize)]
        struct Code {
            error: String,
        }
        (self.status >= 500 && self.status != 501)
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
    /// A request that asks for JSON, authenticated by `auth`. `url` must
    /// have passed [`check_endpoint`](super::check_endpoint).
    pub(crate) fn request(&self, method: Method, url: &Url, auth: Auth<'_>) -> reqwest::RequestBuilder {
        let request = self
            .reqwest()
            .request(method, url.clone())
            .header(ACCEPT, "application/json");
        match auth {
            Auth::None => request,
            Auth::Bearer(t) => request.bearer_auth(t.expose()),
            Auth::Basic(user, password) => request.basic_auth(user, Some(password.expose())),
        }
    }

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
        // Sized once when the length is said (a batch's signHash reply is
        // hundreds of KiB: no doubling, no copy of the half read so far).
        let said = response.content_length().map_or(0, |l| l as usize);
        let mut body = Vec::with_capacity(said);
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
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
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
                content_type,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::http::retry::fast;
    use crate::http::{TransportConfig, check_endpoint, http_client};

    /// A loopback HTTP server answering the first `failures` requests with
    /// `failure` (a status line and body) and the others with 200 `{}`;
    /// returns its URL and the request count.
    async fn server(failures: u32, failure: &'static str) -> (String, Arc<AtomicU32>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let count = Arc::new(AtomicU32::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let (status, body) = if n < failures {
                    failure.split_once('|').unwrap()
                } else {
                    ("200 OK", "{}")
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        (url, count)
    }

    async fn get(url: &str, flags: RequestFlags) -> Result<Reply> {
        let http = http_client(&TransportConfig::default()).unwrap();
        let url = check_endpoint(url).unwrap();
        let call = Call {
            service: "test service",
            what: "document",
            protocol: "test",
            flags,
        };
        let unavailable = |r: &Reply| Error::ServiceUnavailable {
            detail: format!("HTTP {}", r.status),
            source: None,
        };
        http.fetch(
            &fast(),
            call,
            || http.request(Method::GET, &url, Auth::None),
            unavailable,
        )
        .await
    }

    #[tokio::test]
    async fn reads_are_retried_until_the_service_answers() {
        let (url, count) = server(2, "503 Service Unavailable|{}").await;
        let reply = get(&url, RequestFlags::READ).await.unwrap();
        assert_eq!((reply.status, count.load(Ordering::SeqCst)), (200, 3));
        // An OAuth error body saying the same is retried too.
        let (url, count) = server(1, "400 Bad Request|{\"error\":\"temporarily_unavailable\"}").await;
        assert!(get(&url, RequestFlags::READ).await.unwrap().is_success());
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn requests_with_effects_are_not_retried_after_an_answer() {
        let (url, count) = server(2, "503 Service Unavailable|{}").await;
        let e = get(&url, RequestFlags::SENSITIVE_ONCE).await.unwrap_err();
        assert!(matches!(e, Error::ServiceUnavailable { .. }), "{e:?}");
        assert_eq!(count.load(Ordering::SeqCst), 1);
        // Other error replies are the caller's to read, never retried.
        let (url, count) = server(5, "404 Not Found|{}").await;
        assert_eq!(get(&url, RequestFlags::READ).await.unwrap().status, 404);
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn one_size_limit() {
        let big: &'static str = Box::leak(format!("200 OK|{}", "x".repeat(MAX_BODY + 1)).into_boxed_str());
        let (url, _) = server(1, big).await;
        let e = get(&url, RequestFlags::READ).await.unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
    }
}

//! The TSA client: RFC 3161 over HTTP (RFC 3161 §3.4), through the crate's
//! one transport ([`crate::http`]: proxy, CA bundle, timeouts, the
//! HTTPS-only rule with loopback `http://` allowed, one body limit).

use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::{MAX_TOKEN_SIZE, Timestamp, TimestampRequest, check_reply};
use crate::cert::Certificate;
use crate::crypto::Digest;
use crate::error::{Error, Result};
use crate::http::{Call, HttpClient, RequestFlags, RetryConfig, check_endpoint, sanitize, shown_url};

/// The request's media type.
pub const TIMESTAMP_QUERY: &str = "application/timestamp-query";
/// The reply's media type.
pub const TIMESTAMP_REPLY: &str = "application/timestamp-reply";

/// A TSA at one URL, with the roots its tokens must chain to.
#[derive(Debug)]
pub struct TsaClient {
    http: HttpClient,
    url: reqwest::Url,
    service: String,
    roots: Option<Vec<Certificate>>,
    retry: RetryConfig,
}

impl TsaClient {
    /// A client for the TSA at `url` (`https://`, or `http://` to
    /// loopback: [`check_endpoint`]). `tsa_roots`: the roots its
    /// certificate must chain to; `None` checks everything but that chain
    /// (the timestamps say [`Timestamp::trusted`] false).
    pub fn new(http: HttpClient, url: &str, tsa_roots: Option<Vec<Certificate>>) -> Result<Self> {
        let url = check_endpoint(url)?;
        Ok(Self {
            service: format!("TSA {}", shown_url(&url)),
            http,
            url,
            roots: tsa_roots,
            retry: RetryConfig::default(),
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The TSA's URL, for messages.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Asks for a timestamp of `imprint` (a fresh nonce, certReq) and
    /// checks the reply ([`check_reply`]). Errors: an HTTP status other
    /// than 2xx is [`Error::Remote`] (5xx and 429 after retries:
    /// [`Error::ServiceUnavailable`]); a reply that is not
    /// `application/timestamp-reply` is [`Error::Protocol`]; a refusal is
    /// [`Error::Remote`] with the PKIStatus; nonce or imprint mismatches
    /// are [`Error::Protocol`]. Nothing secret is sent: the imprint is a
    /// digest, and neither it nor the reply is logged beyond sizes.
    pub async fn timestamp(&self, imprint: &Digest) -> Result<Timestamp> {
        let request = TimestampRequest::new(imprint)?;
        let call = Call {
            service: &self.service,
            what: "timestamp",
            protocol: "RFC 3161",
            // A second request gets a second token: harmless. The reply
            // body is binary, so it is not logged (`sensitive`).
            flags: RequestFlags::SENSITIVE_IDEMPOTENT,
        };
        let body = request.to_der().to_vec();
        let build = || {
            self.http
                .reqwest()
                .post(self.url.clone())
                .header(ACCEPT, TIMESTAMP_REPLY)
                .header(CONTENT_TYPE, TIMESTAMP_QUERY)
                .body(body.clone())
        };
        let unavailable = |reply: &crate::http::Reply| Error::ServiceUnavailable {
            detail: format!("{} answered HTTP {}", self.service, reply.status),
            source: None,
        };
        let reply = self.http.fetch(&self.retry, call, build, unavailable).await?;
        if !reply.is_success() {
            return Err(Error::Remote {
                service: self.service.clone(),
                status: reply.status,
                code: format!("HTTP {}", reply.status),
                description: body_text(&reply.body),
            });
        }
        let media = reply
            .content_type
            .as_deref()
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        if media.as_deref() != Some(TIMESTAMP_REPLY) {
            return Err(Error::Protocol {
                service: self.service.clone(),
                detail: format!(
                    "the reply is {}, not {TIMESTAMP_REPLY}",
                    media.map_or("without a content type".to_owned(), |m| format!(
                        "`{}`",
                        sanitize(&m)
                    ))
                ),
            });
        }
        if reply.body.len() > MAX_TOKEN_SIZE {
            return Err(Error::Protocol {
                service: self.service.clone(),
                detail: format!(
                    "reply of {} bytes; crpki reads at most {MAX_TOKEN_SIZE}",
                    reply.body.len()
                ),
            });
        }
        check_reply(&reply.body, &request, self.roots.as_deref(), &self.service)
    }
}

/// A refusal's body as text for a message: sanitized, or its size when binary.
fn body_text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) if !text.trim().is_empty() => sanitize(text),
        Ok(_) => "empty body".into(),
        Err(_) => format!("{} bytes of binary body", body.len()),
    }
}

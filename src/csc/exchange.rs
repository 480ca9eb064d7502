//! One authenticated POST to the RSSP: the method's URL, the bearer (the
//! service token from the token source, refreshed once when the service
//! rejects it; a credential token; a given token) or HTTP Basic, the retry
//! policy of [`crate::http`], and the mapping of error replies through
//! [`error_from_reply`] (a rejected credential token is
//! [`Error::AuthorizationInvalid`]).

use std::sync::Arc;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::errors::reply_error;
use super::wire::v2::ErrorBody;
use super::wire::{Json, parse, protocol};
use crate::auth::AccessTokenSource;
use crate::error::{Error, Result};
use crate::http::{Auth, Call, HttpClient, Reply, RequestFlags, RetryConfig, check_endpoint};
use crate::secret::Secret;

/// Who the bearer token of a request is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Bearer<'a> {
    /// No authentication (`info`, or HTTP Basic at `auth/login`).
    None,
    /// The service access token from the token source (refreshed once on rejection).
    Service,
    /// A given token: a credential-scope token, whose rejection means the
    /// authorization is gone.
    Credential(&'a Secret),
    /// A given service token (logout).
    Given(&'a Secret),
}

#[derive(Clone, Copy)]
pub(super) enum Payload<'a> {
    Json(&'a [u8]),
}

/// An error reply that is not retried.
#[derive(Debug)]
pub(super) struct Refusal {
    status: u16,
    body: Option<ErrorBody>,
    /// The body as sent, when it is not a CSC error body (plain text, HTML).
    raw: Vec<u8>,
}

impl Refusal {
    fn rejects_token(&self) -> bool {
        let code = self.body.as_ref().map(|b| b.error.as_str()).unwrap_or("");
        self.status == 401 || matches!(code, "invalid_token" | "expired_token")
    }
}

/// The RSSP as the client reaches it: API base URL, transport, service
/// authorization and retry policy.
#[derive(Clone)]
pub(super) struct Exchange {
    pub(super) http: HttpClient,
    pub(super) base: Url,
    pub(super) service: String,
    pub(super) tokens: Option<Arc<dyn AccessTokenSource>>,
    /// No service authorization at all: methods that need the service
    /// token go without `Authorization` (services that need none).
    pub(super) anonymous: bool,
    pub(super) retry: RetryConfig,
}

impl Exchange {
    /// For the API at `base_url` (checked; a `/` added), without a token
    /// source, with the default retry policy.
    pub(super) fn new(http: HttpClient, base_url: &str) -> Result<Self> {
        let mut base = check_endpoint(base_url)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let host = base.host_str().unwrap_or("?");
        let service = match base.port() {
            Some(p) => format!("RSSP {host}:{p}"),
            None => format!("RSSP {host}"),
        };
        Ok(Self {
            http,
            base,
            service,
            tokens: None,
            anonymous: false,
            retry: RetryConfig::default(),
        })
    }

    fn method_url(&self, method: &str) -> Result<Url> {
        self.base.join(method).map_err(|e| Error::Config {
            detail: format!("CSC method URL {method}: {e}"),
        })
    }

    /// [`Error::Protocol`] from this service.
    pub(super) fn protocol(&self, detail: impl Into<String>) -> Error {
        protocol(&self.service, detail)
    }

    /// A JSON reply to `what`.
    pub(super) fn parse<T: DeserializeOwned>(&self, what: &str, bytes: &[u8]) -> Result<T> {
        parse(&self.service, what, bytes)
    }

    /// One request with retries; an error reply that is not retried comes
    /// back as `Ok(Err(refusal))` for the caller to interpret.
    pub(super) async fn send(
        &self,
        what: &str,
        url: &Url,
        payload: Payload<'_>,
        flags: RequestFlags,
        auth: Auth<'_>,
    ) -> Result<std::result::Result<Vec<u8>, Refusal>> {
        let build = || {
            let request = self.http.request(Method::POST, url, auth);
            match payload {
                Payload::Json(bytes) => request
                    .header(CONTENT_TYPE, "application/json")
                    .body(bytes.to_vec()),
            }
        };
        let error_body = |r: &Reply| super::wire::replies::error_body(&r.body);
        let unavailable =
            |r: &Reply| reply_error(&self.service, what, r.status, error_body(r).as_ref(), &r.body);
        let call = Call {
            service: &self.service,
            what,
            protocol: "CSC",
            flags,
        };
        let reply = self.http.fetch(&self.retry, call, build, unavailable).await?;
        if reply.is_success() {
            return Ok(Ok(reply.body));
        }
        let body = error_body(&reply);
        let raw = if body.is_none() { reply.body } else { Vec::new() };
        Ok(Err(Refusal {
            status: reply.status,
            body,
            raw,
        }))
    }

    pub(super) fn refusal_error(&self, what: &str, refusal: &Refusal, bearer: Bearer<'_>) -> Error {
        if refusal.rejects_token()
            && let Bearer::Credential(_) = bearer
        {
            return Error::AuthorizationInvalid {
                detail: format!(
                    "{} rejected the credential authorization token for {what} (expired or spent)",
                    self.service
                ),
            };
        }
        reply_error(
            &self.service,
            what,
            refusal.status,
            refusal.body.as_ref(),
            &refusal.raw,
        )
    }

    /// POSTs a JSON body to a CSC method with the given authentication, the
    /// service token refreshed once if the service rejects it.
    pub(super) async fn post(
        &self,
        method: &str,
        body: &Json,
        flags: RequestFlags,
        bearer: Bearer<'_>,
        basic: Option<(&str, &Secret)>,
    ) -> Result<Vec<u8>> {
        let url = self.method_url(method)?;
        let payload = Payload::Json(body.bytes());
        let given = match bearer {
            Bearer::None => None,
            Bearer::Credential(t) | Bearer::Given(t) => Some(t),
            Bearer::Service if self.tokens.is_none() && self.anonymous => {
                return self
                    .send(method, &url, payload, flags, Auth::None)
                    .await?
                    .map_err(|r| {
                        if r.rejects_token() {
                            Error::Unauthenticated {
                                detail: format!(
                                    "{} wants an authorization for {method}, and none is sent (service_auth \
                                     none){}choose basic:USER, env:VAR or oauth2 with `crpki profile edit NAME \
                                     --service-auth`",
                                    self.service,
                                    crate::error::NEXT_STEP
                                ),
                                source: Some(Box::new(self.refusal_error(method, &r, bearer))),
                            }
                        } else {
                            self.refusal_error(method, &r, bearer)
                        }
                    });
            }
            Bearer::Service => {
                let source = self.tokens.as_ref().ok_or_else(|| Error::Unauthenticated {
                    detail: format!("no service authorization is configured for {}", self.service),
                    source: None,
                })?;
                let token = source.access_token().await?;
                return match self
                    .send(method, &url, payload, flags, Auth::Bearer(&token))
                    .await?
                {
                    Ok(bytes) => Ok(bytes),
                    Err(r) if r.rejects_token() => {
                        // Refreshed once per request: a second rejection is final.
                        tracing::debug!(target: "crpki::csc", request = method, "access token rejected; refreshing");
                        let fresh = source.refresh_after_rejection(&token).await?;
                        self.send(method, &url, payload, flags, Auth::Bearer(&fresh))
                            .await?
                            .map_err(|r| self.refusal_error(method, &r, bearer))
                    }
                    Err(r) => Err(self.refusal_error(method, &r, bearer)),
                };
            }
        };
        let auth = match (given, basic) {
            (Some(t), _) => Auth::Bearer(t),
            (None, Some((u, p))) => Auth::Basic(u, p),
            (None, None) => Auth::None,
        };
        self.send(method, &url, payload, flags, auth)
            .await?
            .map_err(|r| self.refusal_error(method, &r, bearer))
    }

    /// [`post`](Self::post) of a body still to serialize.
    pub(super) async fn post_body(
        &self,
        method: &str,
        body: &impl Serialize,
        flags: RequestFlags,
        bearer: Bearer<'_>,
        basic: Option<(&str, &Secret)>,
    ) -> Result<Vec<u8>> {
        self.post(method, &Json::of(method, body)?, flags, bearer, basic)
            .await
    }

    /// POSTs `body` to `method` and reads the JSON reply.
    pub(super) async fn post_json<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &impl Serialize,
        flags: RequestFlags,
        bearer: Bearer<'_>,
    ) -> Result<T> {
        let bytes = self.post_body(method, body, flags, bearer, None).await?;
        self.parse(method, &bytes)
    }
}

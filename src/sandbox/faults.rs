//! Fault injection: added latency, a rate of `503 temporarily_unavailable`,
//! dropped connections, malformed JSON replies, and early expiry of tokens
//! and SADs; and the behaviours of other services, to test a client
//! against: `certInfo` refused (501 or 400), error replies in plain text
//! or HTML, CSC v1 `credentials/info` quirks, hash pinning required for
//! SCAL 1, no service authorization. Switched per run through [`SandboxConfig::faults`](super::SandboxConfig),
//! the [`FaultControl`] handle, or `POST /admin/faults` on loopback.
//!
//! The admin endpoints (`/admin/...`) are never faulty themselves, so a test
//! can always switch faults off again. They require the bearer token the
//! sandbox keeps in [`ADMIN_TOKEN_FILE`] of its state directory (mode
//! 0600), so that other local users cannot inject faults.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::api::{ApiError, now_secs};
use super::core::Shared;
use crate::Secret;
use crate::error::{Error, Result};

/// The file in the sandbox's state directory holding the token that the
/// `/admin/...` endpoints require (`Authorization: Bearer TOKEN`). Written
/// at the first start with that state directory, readable by the owner
/// only, and kept (sandboxes sharing a state directory share it).
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// The admin token of the state directory `dir`: read from
/// [`ADMIN_TOKEN_FILE`], or created there (mode 0600 on Unix; on Windows
/// it inherits the ACL of the per-user state directory). The new file is
/// published whole with a hard link, so a sandbox starting at the same
/// time never reads it half-written. A token file others could read or
/// write is refused.
pub(crate) fn admin_token(dir: &Path) -> Result<Secret> {
    let path = dir.join(ADMIN_TOKEN_FILE);
    let token = Secret::new(hex::encode(rand::random::<[u8; 32]>()));
    let tmp = dir.join(format!(
        ".{ADMIN_TOKEN_FILE}.{}.{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let context = || format!("writing {}", path.display());
    let written = options
        .open(&tmp)
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, token.expose().as_bytes()).and_then(|()| f.sync_all())
        })
        .and_then(|()| std::fs::hard_link(&tmp, &path));
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(token),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_admin_token(&path),
        Err(e) => Err(Error::io(context(), e)),
    }
}

fn read_admin_token(path: &Path) -> Result<Secret> {
    let context = || format!("reading {}", path.display());
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(context(), e))?;
    let refuse = |why: &str| Error::Config {
        detail: format!(
            "the sandbox admin token {} {why}; remove it and the sandbox writes a new one",
            path.display()
        ),
    };
    if !meta.file_type().is_file() {
        return Err(refuse("is not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(refuse("is readable or writable by group or others"));
        }
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(context(), e))?);
    let text = text.trim();
    if text.len() < 32 {
        return Err(refuse("is too short"));
    }
    Ok(Secret::new(text))
}

/// The middleware in front of `/admin/...`: `401` unless the request
/// carries the admin token. The comparison is of SHA-256 digests, so its
/// time says nothing about the token.
pub(crate) async fn require_admin_token(
    State(shared): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    use sha2::{Digest, Sha256};
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = shared.admin_token.expose();
    if !presented.is_empty() && Sha256::digest(presented.as_bytes()) == Sha256::digest(expected.as_bytes()) {
        return next.run(req).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        format!("the sandbox admin endpoints need the token in {ADMIN_TOKEN_FILE} of the state directory"),
    )
        .into_response()
}

/// Which faults to inject. Rates are probabilities from 0.0 to 1.0, drawn
/// per request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSettings {
    /// Delay added before every reply, in milliseconds.
    pub latency_ms: u64,
    /// Rate of `503 temporarily_unavailable` replies (the request is not processed).
    pub unavailable_rate: f64,
    /// Rate of `500 server_error` replies (the request is not processed).
    pub server_error_rate: f64,
    /// Rate of connections dropped before a reply (the request is not processed).
    pub drop_rate: f64,
    /// Rate of replies whose body is cut off, so that it is not valid JSON
    /// (the request *is* processed).
    pub malformed_json_rate: f64,
    /// "No `certInfo`": `credentials/info` and `credentials/list` asked for
    /// `certInfo: true` answer this status (`400` or `501`, as some RSSPs
    /// do) instead of the credential; `0` (the default) serves them.
    pub cert_info_status: u16,
    /// "Plain-text errors": error replies come as `text/plain` or
    /// `text/html` instead of the CSC JSON error body, as behind some
    /// gateways and servlet containers.
    pub error_bodies: ErrorBodies,
    /// CSC v1 quirks seen in the field: `credentials/info` under `/csc/v1/`
    /// without `multisign` and `authMode`, and `SCAL` as a JSON number.
    pub v1_quirks: bool,
    /// Hash pinning required for SCAL 1 too: `credentials/authorize`
    /// without hashes is refused (`Missing parameter hashes`), and the SAD
    /// is bound to the hashes given.
    pub pin_hashes_always: bool,
    /// "No service authorization": CSC calls without an `Authorization`
    /// header act as this user (a service that needs none, such as one
    /// inside a closed network). A bearer token, when sent, is still
    /// checked.
    pub anonymous_user: Option<String>,
    /// How the OCSP responder misbehaves (the CRL is not affected).
    pub ocsp: super::revocation::OcspFault,
}

/// How error replies are written ([`FaultSettings::error_bodies`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorBodies {
    /// `{"error","error_description"}` (the CSC specification).
    #[default]
    Json,
    /// The description alone, `text/plain`.
    Text,
    /// An HTML error page, `text/html`.
    Html,
}

pub(crate) struct FaultState {
    settings: Mutex<FaultSettings>,
}

impl FaultState {
    pub fn new(settings: FaultSettings) -> Self {
        Self {
            settings: Mutex::new(settings),
        }
    }

    pub fn get(&self) -> FaultSettings {
        self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, s: FaultSettings) {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }
}

/// Switches faults of a running sandbox.
#[derive(Clone)]
pub struct FaultControl {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for FaultControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultControl")
            .field("settings", &self.settings())
            .finish()
    }
}

impl FaultControl {
    /// The current fault settings.
    pub fn settings(&self) -> FaultSettings {
        self.shared.faults.get()
    }

    /// Replaces the fault settings (use `FaultSettings::default()` to switch all off).
    pub fn set(&self, settings: FaultSettings) {
        self.shared.faults.set(settings);
    }

    /// Makes every access token issued so far expire now (opaque tokens and
    /// OIDC JWTs alike): the next call with one gets `401 expired_token`.
    pub fn expire_tokens_now(&self) {
        expire_tokens(&self.shared);
    }

    /// Makes every SAD (and credential-scope authorization) issued so far
    /// expire now.
    pub fn expire_sads_now(&self) {
        expire_sads(&self.shared);
    }
}

fn expire_tokens(shared: &Shared) {
    let now = now_secs();
    let mut store = shared.lock();
    for t in store.access.values_mut() {
        t.expires = t.expires.min(now);
    }
    store.jwt_cutoff = now;
}

fn expire_sads(shared: &Shared) {
    let now = now_secs();
    let mut store = shared.lock();
    for s in store.sads.values_mut() {
        s.expires = s.expires.min(now);
    }
    for t in store.access.values_mut() {
        if matches!(t.kind, super::core::TokenKind::Credential(_)) {
            t.expires = t.expires.min(now);
        }
    }
}

fn roll(rate: f64) -> bool {
    rate > 0.0 && rand::random::<f64>() < rate
}

/// The middleware that applies the faults to every non-admin request.
pub(crate) async fn inject(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    shared
        .counters
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if req.uri().path().starts_with("/admin/") {
        return next.run(req).await;
    }
    let f = shared.faults.get();
    if f.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    if roll(f.drop_rate) {
        // A body stream that fails makes hyper abort the connection without
        // a complete reply: what the client sees when a proxy or the
        // service drops the connection.
        let stream = futures_fail();
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(stream))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    if roll(f.unavailable_rate) {
        let mut r = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The service is temporarily unavailable (sandbox fault injection)",
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return r;
    }
    if roll(f.server_error_rate) {
        return ApiError::server_error("Internal error (sandbox fault injection)").into_response();
    }
    let req = match refuse_cert_info(f.cert_info_status, req).await {
        Ok(req) => req,
        Err(refused) => return refused,
    };
    let mut resp = next.run(req).await;
    if f.error_bodies != ErrorBodies::Json && resp.status().as_u16() >= 400 {
        resp = rewrite_error(f.error_bodies, resp).await;
    }
    if roll(f.malformed_json_rate) {
        let (mut parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
            .await
            .unwrap_or_default();
        let cut = bytes.slice(..bytes.len() / 2);
        let mut cut = cut.to_vec();
        cut.extend_from_slice(b"\xff{<");
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(cut));
    }
    resp
}

/// The "no `certInfo`" mode: a `credentials/info` or `credentials/list`
/// request asking for `certInfo: true` is answered `status` and not
/// processed; any other request goes on unchanged.
async fn refuse_cert_info(status: u16, req: Request) -> Result<Request, Response> {
    let path = req.uri().path();
    if status == 0 || !(path.ends_with("/credentials/info") || path.ends_with("/credentials/list")) {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let asks = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("certInfo").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    if asks {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_IMPLEMENTED);
        let code = if status == StatusCode::NOT_IMPLEMENTED {
            "not_implemented"
        } else {
            "invalid_request"
        };
        return Err(ApiError::new(status, code, "certInfo is not supported").into_response());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The "plain-text errors" mode: the JSON error body becomes its
/// description as text, or an HTML page, with the same status.
async fn rewrite_error(style: ErrorBodies, resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let text = serde_json::from_slice::<crate::csc::ErrorBody>(&bytes)
        .map(|e| e.error_description.unwrap_or(e.error))
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
    let reason = parts.status.canonical_reason().unwrap_or("Error");
    let (kind, out) = match style {
        ErrorBodies::Html => (
            "text/html; charset=utf-8",
            format!(
                "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title>\n<style>body{{font-family:sans-serif}}</style></head>\n<body><h1>{reason}</h1><p>{}</p><hr><address>sandbox gateway</address></body></html>\n",
                super::html::esc(&text),
                code = parts.status.as_u16()
            ),
        ),
        _ => ("text/plain; charset=utf-8", format!("{text}\n")),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
    Response::from_parts(parts, Body::from(out))
}

fn futures_fail() -> tokio_util::io::ReaderStream<FailingReader> {
    tokio_util::io::ReaderStream::new(FailingReader)
}

/// A reader whose first read fails, so that a body built from it aborts.
pub(crate) struct FailingReader;

impl tokio::io::AsyncRead for FailingReader {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        _buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sandbox fault injection: connection dropped",
        )))
    }
}

/// `POST /admin/faults` body: new settings. `GET` returns the current ones.
pub(crate) async fn admin_get(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    axum::Json(shared.faults.get())
}

pub(crate) async fn admin_set(
    State(shared): State<Arc<Shared>>,
    super::api::CscJson(s): super::api::CscJson<FaultSettings>,
) -> impl IntoResponse {
    shared.faults.set(s.clone());
    axum::Json(s)
}

/// `POST /admin/expire` body.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ExpireRequest {
    tokens: bool,
    sads: bool,
}

pub(crate) async fn admin_expire(
    State(shared): State<Arc<Shared>>,
    super::api::CscJson(r): super::api::CscJson<ExpireRequest>,
) -> StatusCode {
    if r.tokens {
        expire_tokens(&shared);
    }
    if r.sads {
        expire_sads(&shared);
    }
    StatusCode::NO_CONTENT
}

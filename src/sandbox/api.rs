//! What every endpoint shares: the CSC/OAuth error reply, the JSON body
//! extractor that turns bad bodies into CSC errors, and bearer/basic header
//! parsing.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::de::DeserializeOwned;

use crate::csc::wire::v2::ErrorBody;

/// An error reply: HTTP status plus `{"error","error_description"}`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
        }
    }

    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_param(name: &str) -> Self {
        Self::bad_request(format!("Invalid parameter {name}"))
    }

    pub fn missing_param(name: &str) -> Self {
        Self::bad_request(format!("Missing (or invalid type) parameter {name}"))
    }

    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    pub fn expired_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "expired_token",
            "The access token has expired",
        )
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        )
    }

    pub fn server_error(description: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", description)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            error_description: Some(self.description),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED && self.code != "invalid_client" {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"crpki-sandbox\""),
            );
        }
        if self.code == "invalid_client" {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"crpki-sandbox\""),
            );
        }
        resp
    }
}

pub(crate) type ApiResult<T> = std::result::Result<T, ApiError>;

/// A JSON body whose every failure (too large, unreadable, not JSON, wrong
/// shape) is a CSC error reply rather than axum's plain-text rejection.
pub(crate) struct CscJson<T>(pub T);

impl<S, T> FromRequest<S> for CscJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request",
                    "The request body is too large",
                )
            } else {
                ApiError::bad_request("The request body could not be read")
            }
        })?;
        let body: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        match serde_json::from_slice(body) {
            Ok(v) => Ok(Self(v)),
            Err(e) if e.is_data() => Err(ApiError::bad_request(format!("Invalid request: {e}"))),
            Err(_) => Err(ApiError::bad_request("The request body is not valid JSON")),
        }
    }
}

/// The bearer token of the request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// `Authorization: Basic` user and password, if any.
pub(crate) fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let s = String::from_utf8(decoded).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Decodes a base64 hash as the CSC specification sends it; base64url is
/// accepted too, because clients confuse the two and a real RSSP would
/// rather sign than argue (the CSC client reads replies the same way).
pub(crate) use crate::csc::wire::unb64 as decode_b64;

pub(crate) fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A random opaque token (URL safe).
pub(crate) fn random_token(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Compares secrets in constant time.
pub(crate) fn secret_eq(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

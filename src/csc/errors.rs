//! The one function that turns a CSC or OAuth error reply (HTTP status plus
//! `{"error","error_description"}`) into a [`crate::Error`].
//!
//! CSC services tell many failures apart only by the description (a 400
//! `invalid_request` may mean "SAD expired", "PIN invalid" or "key
//! disabled"), so the description is read too, case-insensitively, after
//! the code and the status.

use super::wire::v2::ErrorBody;
use crate::error::Error;
use crate::http::sanitize;

fn words(description: &str) -> Vec<String> {
    description
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The error of a refused reply: from its CSC error body when it has one,
/// else from its text ([`error_from_text`]; plain text, HTML).
pub(crate) fn reply_error(
    service: &str,
    what: &str,
    status: u16,
    body: Option<&ErrorBody>,
    raw: &[u8],
) -> Error {
    match body {
        Some(b) => error_from_reply(service, what, status, Some(b)),
        None => error_from_text(service, what, status, raw),
    }
}

/// Maps an error reply of `method` (`signatures/signHash`, `oauth2/token`, …)
/// from `service` to the crate's error:
///
/// | reply | error |
/// |---|---|
/// | 5xx but 501, 429, `temporarily_unavailable`, `server_error` | [`Error::ServiceUnavailable`] (retryable) |
/// | 501 | as a 4xx below: never retried |
/// | 401, `invalid_token`, `expired_token`, `authentication_error` | [`Error::Unauthenticated`] |
/// | `invalid_otp`, `invalid_pin`, `invalid_authentication_data`, or a description about the PIN/OTP | [`Error::InvalidOtp`] |
/// | a description about the SAD ("SAD expired", "Invalid parameter SAD"), `invalid_grant` from a credential-scope token request | [`Error::AuthorizationInvalid`] |
/// | a description saying the key is disabled or locked, or the certificate expired, revoked or suspended | [`Error::CredentialUnusable`] |
/// | a description about the `credentialID` | [`Error::NotFound`] |
/// | `invalid_client`, `unauthorized_client` | [`Error::Config`] |
/// | `access_denied` | [`Error::Cancelled`] |
/// | a 4xx without a body | [`Error::Protocol`] |
/// | anything else | [`Error::Remote`] with the code, description and status |
pub fn error_from_reply(service: &str, method: &str, status: u16, body: Option<&ErrorBody>) -> Error {
    let code = body.map(|b| sanitize(&b.error)).unwrap_or_default();
    let description = body
        .and_then(|b| b.error_description.as_deref())
        .map(sanitize)
        .unwrap_or_default();
    let lower_code = code.to_ascii_lowercase();
    let w = words(&description);
    let has = |word: &str| w.iter().any(|x| x == word);
    let shown = if description.is_empty() {
        code.clone()
    } else {
        format!("{code}: {description}")
    };

    // 501: the service does not implement what was asked (a request
    // option, a method); asking again will not change that.
    if (status >= 500 && status != 501)
        || status == 429
        || matches!(lower_code.as_str(), "temporarily_unavailable" | "server_error")
    {
        return Error::ServiceUnavailable {
            detail: format!("{service}: {method} answered HTTP {status} ({shown})"),
            source: None,
        };
    }
    if body.is_none() {
        return Error::Protocol {
            service: service.to_owned(),
            detail: format!("{method} answered HTTP {status} without a CSC error body"),
        };
    }
    match lower_code.as_str() {
        "invalid_token" | "expired_token" => {
            return Error::Unauthenticated {
                detail: format!("{service} rejected the access token for {method} ({shown})"),
                source: None,
            };
        }
        "invalid_otp" | "invalid_pin" | "invalid_authentication_data" => {
            return Error::InvalidOtp {
                detail: format!("{service}: {shown}"),
            };
        }
        "invalid_client" | "unauthorized_client" => {
            return Error::Config {
                detail: format!(
                    "{service} rejected the client credentials at {method} ({shown}); check the client id and \
                     secret"
                ),
            };
        }
        "access_denied" => {
            return Error::Cancelled {
                detail: format!("{service} denied {method} ({shown})"),
            };
        }
        "invalid_grant" if method.ends_with("oauth2/token") => {
            // The grant is either a credential authorization (one signing
            // operation) or the service login; the token module says which.
            return Error::AuthorizationInvalid {
                detail: format!("{service} refused the authorization grant ({shown})"),
            };
        }
        _ => {}
    }
    if status == 401 || lower_code == "authentication_error" {
        return Error::Unauthenticated {
            detail: format!("{service} refused the authentication for {method} ({shown})"),
            source: None,
        };
    }
    if has("pin") || has("otp") {
        return Error::InvalidOtp {
            detail: format!("{service}: {shown}"),
        };
    }
    if has("sad") || has("sads") {
        return Error::AuthorizationInvalid {
            detail: format!("{service}: {shown}"),
        };
    }
    let certificate_gone = has("certificate") && (has("expired") || has("revoked") || has("suspended"));
    if has("disabled") || has("locked") || has("revoked") || has("suspended") || certificate_gone {
        return Error::CredentialUnusable {
            detail: format!("{service}: {shown}"),
        };
    }
    if has("credentialid") {
        return Error::NotFound {
            what: format!("credential at {service} ({shown})"),
        };
    }
    Error::Remote {
        service: service.to_owned(),
        status,
        code,
        description,
    }
}

/// Longest text of a non-JSON error body kept in a message.
const MAX_BODY_TEXT: usize = 200;

/// Maps an error reply whose body is not the CSC JSON error (plain text,
/// an HTML page from a gateway or servlet container) as
/// [`error_from_reply`] does, with `HTTP <status>` as the code and the
/// body's text as the description: tags, scripts and styles left out,
/// white space collapsed, control characters removed, cut at 200
/// characters. An empty body is [`Error::Protocol`].
pub(crate) fn error_from_text(service: &str, method: &str, status: u16, body: &[u8]) -> Error {
    let text = body_text(&String::from_utf8_lossy(body));
    if text.is_empty() {
        return error_from_reply(service, method, status, None);
    }
    let body = ErrorBody {
        error: format!("HTTP {status}"),
        error_description: Some(text),
    };
    match error_from_reply(service, method, status, Some(&body)) {
        // Nothing more specific: a protocol error that shows the text.
        Error::Remote {
            service,
            status,
            description,
            ..
        } => Error::Protocol {
            service,
            detail: format!("{method} {ANSWERED_HTTP}{status}: {description}"),
        },
        other => other,
    }
}

/// How [`error_from_text`] starts the status in a [`Error::Protocol`] detail.
const ANSWERED_HTTP: &str = "answered HTTP ";

/// The status and text of a refusal that no more specific error took: an
/// [`Error::Remote`], or the [`Error::Protocol`] of a non-JSON body. What
/// the callers that recognise a refusal by its status and words read
/// (`certInfo` refused, hashes asked for).
pub(crate) fn refusal(e: &Error) -> Option<(u16, &str)> {
    match e {
        Error::Remote {
            status, description, ..
        } => Some((*status, description.as_str())),
        Error::Protocol { detail, .. } => {
            let rest = &detail[detail.find(ANSWERED_HTTP)? + ANSWERED_HTTP.len()..];
            let (status, text) = rest.split_once(": ")?;
            Some((status.parse().ok()?, text))
        }
        _ => None,
    }
}

/// The readable text of a plain-text or HTML body, shortened.
fn body_text(raw: &str) -> String {
    let looks_html = raw.trim_start().starts_with('<');
    let mut text = String::with_capacity(raw.len().min(4096));
    if looks_html {
        let lower = raw.to_ascii_lowercase();
        let mut i = 0;
        while i < raw.len() {
            let rest = &lower[i..];
            if rest.starts_with('<') {
                // <script> and <style> hold no message.
                let skip_to = ["script", "style"].iter().find_map(|t| {
                    rest[1..]
                        .starts_with(t)
                        .then(|| rest.find(&format!("</{t}")).map(|e| i + e))
                        .flatten()
                });
                let from = skip_to.unwrap_or(i);
                match lower[from..].find('>') {
                    Some(end) => i = from + end + 1,
                    None => break,
                }
                text.push(' ');
            } else {
                let next = rest.find('<').map_or(raw.len(), |n| i + n);
                text.push_str(&raw[i..next]);
                i = next;
            }
        }
        for (entity, c) in [
            ("&lt;", "<"),
            ("&gt;", ">"),
            ("&quot;", "\""),
            ("&#39;", "'"),
            ("&amp;", "&"),
        ] {
            text = text.replace(entity, c);
        }
    } else {
        text.push_str(raw);
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = sanitize(&collapsed).chars().take(MAX_BODY_TEXT).collect();
    if collapsed.chars().count() > MAX_BODY_TEXT {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, code: &str, description: Option<&str>) -> Error {
        let body = ErrorBody {
            error: code.into(),
            error_description: description.map(str::to_owned),
        };
        error_from_reply("RSSP", "signatures/signHash", status, Some(&body))
    }

    #[test]
    fn maps_by_meaning() {
        assert!(matches!(
            reply(401, "invalid_token", None),
            Error::Unauthenticated { .. }
        ));
        assert!(matches!(
            reply(401, "expired_token", Some("The access token has expired")),
            Error::Unauthenticated { .. }
        ));
        assert!(matches!(
            reply(400, "invalid_request", Some("SAD expired")),
            Error::AuthorizationInvalid { .. }
        ));
        assert!(matches!(
            reply(400, "invalid_request", Some("Invalid parameter SAD")),
            Error::AuthorizationInvalid { .. }
        ));
        assert!(matches!(
            reply(400, "invalid_pin", Some("The PIN is invalid")),
            Error::InvalidOtp { .. }
        ));
        assert!(matches!(
            reply(400, "invalid_otp", None),
            Error::InvalidOtp { .. }
        ));
        assert!(matches!(
            reply(400, "invalid_request", Some("Invalid PIN")),
            Error::InvalidOtp { .. }
        ));
        assert!(matches!(
            reply(
                400,
                "invalid_request",
                Some("The key of credential x is disabled")
            ),
            Error::CredentialUnusable { .. }
        ));
        assert!(matches!(
            reply(
                400,
                "invalid_request",
                Some("The certificate of credential x has expired")
            ),
            Error::CredentialUnusable { .. }
        ));
        assert!(matches!(
            reply(400, "invalid_request", Some("Credential is locked")),
            Error::CredentialUnusable { .. }
        ));
        assert!(matches!(
            reply(400, "invalid_request", Some("Invalid parameter credentialID")),
            Error::NotFound { .. }
        ));
        let e = reply(503, "temporarily_unavailable", Some("busy"));
        assert!(e.is_retryable(), "{e:?}");
        assert!(reply(500, "", None).is_retryable());
        assert!(reply(400, "temporarily_unavailable", None).is_retryable());
        assert!(matches!(
            reply(400, "invalid_request", Some("Invalid parameter signAlgo")),
            Error::Remote { status: 400, .. }
        ));
        assert!(matches!(
            error_from_reply("RSSP", "info", 404, None),
            Error::Protocol { .. }
        ));
        assert!(matches!(
            error_from_reply("RSSP", "info", 502, None),
            Error::ServiceUnavailable { .. }
        ));
        assert!(matches!(
            reply(401, "authentication_error", Some("wrong user or password")),
            Error::Unauthenticated { .. }
        ));
        let grant = ErrorBody {
            error: "invalid_grant".into(),
            error_description: None,
        };
        assert!(matches!(
            error_from_reply("RSSP", "oauth2/token", 400, Some(&grant)),
            Error::AuthorizationInvalid { .. }
        ));
    }

    #[test]
    fn text_and_html_bodies_keep_their_status_and_words() {
        let e = error_from_text(
            "RSSP",
            "credentials/info",
            400,
            b"Invalid parameter credentialID\n",
        );
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
        let e = error_from_text("RSSP", "signatures/signHash", 400, b"Invalid parameter signAlgo");
        let shown = e.to_string();
        assert!(
            shown.contains("HTTP 400") && shown.contains("Invalid parameter signAlgo"),
            "{shown}"
        );
        assert_eq!(refusal(&e), Some((400, "Invalid parameter signAlgo")));
        let page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>h1{x:y}</style>\
            <script>var token='x';</script></head><body><h1>Bad &amp; Gateway</h1><p>upstream\n\n down</p></body></html>";
        let e = error_from_text("RSSP", "credentials/info", 502, page);
        assert!(e.is_retryable(), "{e:?}");
        let shown = e.to_string();
        assert!(
            shown.contains("HTTP 502") && shown.contains("Bad & Gateway upstream down"),
            "{shown}"
        );
        assert!(
            !shown.contains('<') && !shown.contains("h1{") && !shown.contains("token"),
            "{shown}"
        );
        let long = "y".repeat(5000);
        let shown = error_from_text("RSSP", "info", 400, long.as_bytes()).to_string();
        assert!(shown.len() < 400, "{}", shown.len());
        assert!(matches!(
            error_from_text("RSSP", "info", 404, b" \n"),
            Error::Protocol { .. }
        ));
        let e = reply(501, "not_implemented", Some("certInfo is not supported"));
        assert!(!e.is_retryable(), "501 is not retried: {e:?}");
    }

    #[test]
    fn server_text_is_tamed() {
        let long = "x".repeat(1000);
        let e = reply(400, "odd\u{1b}[31m", Some(&long)).to_string();
        assert!(!e.contains('\u{1b}'), "{e}");
        assert!(e.len() < 800, "{}", e.len());
    }
}

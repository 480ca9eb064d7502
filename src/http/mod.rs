//! The one HTTP layer: every request of crpki to a remote service (the
//! GビズID / OpenID provider, the RSSP's CSC API and its OAuth 2.0 server)
//! goes through it.
//!
//! - `transport`: the [`HttpClient`] built by [`http_client`] (proxy, CA
//!   bundle, timeouts, no redirects, the HTTPS-only rule of
//!   [`check_endpoint`]) and the classification of transport failures;
//! - `retry`: the retry policy ([`RetryConfig`]) by request flags
//!   ([`RequestFlags`]: idempotent, sensitive);
//! - `fetch`: one request with that policy, its reply read whole within
//!   one size limit ([`MAX_BODY`]) by one body reader.
//!
//! It also holds `sanitize`, the one function that makes text from a
//! server safe to put in an error message. This room knows nothing of
//! profiles, OpenID or CSC: the rooms above it build its configuration
//! (`TransportConfig::from_profile` lives in `profile`) and decide what a
//! reply means.

mod fetch;
mod retry;
mod transport;

pub use fetch::MAX_BODY;
pub(crate) use fetch::{Auth, Call, Reply};
pub use retry::{RequestFlags, RetryConfig};
pub use transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, HttpClient, LOOPBACK_NO_PROXY, ProxyConfig, TransportConfig,
    check_endpoint, check_public_url, http_client, is_loopback,
};
pub(crate) use transport::{error_chain, shown_url};

/// Longest server text kept in an error message.
const MAX_TEXT: usize = 300;

/// Text from a server made safe for an error message: control characters
/// become spaces and the text is cut at a reasonable length.
pub(crate) fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TEXT)
        .collect();
    if text.chars().count() > MAX_TEXT {
        out.push('…');
    }
    out.trim().to_owned()
}

/// What stands in for a secret removed from server text.
const REDACTED: &str = "[redacted]";

/// Server text quoted in a message or log, [`sanitize`]d after removing
/// secrets: every occurrence of the values in `sent` (the token, code or
/// client secret the request carried, which providers like to echo) and
/// every word that looks like a token (a JWT, or a run of 32 or more
/// base64/base64url characters holding both letters and digits).
pub(crate) fn sanitize_quoted(text: &str, sent: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in sent.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, REDACTED);
    }
    let words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || "\"'(),;<>[]{}`".contains(c))
        .map(|w| w.trim_end_matches(['.', ':']))
        .filter(|w| looks_like_token(w))
        .map(str::to_owned)
        .collect();
    for w in words {
        text = text.replace(&w, REDACTED);
    }
    sanitize(&text)
}

fn looks_like_token(body: &str) -> bool {
    let tokenish = |c: char| c.is_ascii_alphanumeric() || "-_.~+/=".contains(c);
    if !body.chars().all(tokenish) {
        return false;
    }
    let jwt = body.split('.').count() == 3 && body.split('.').all(|p| p.len() >= 8);
    let long = body.len() >= 32
        && body.chars().any(|c| c.is_ascii_digit())
        && body.chars().any(|c| c.is_ascii_alphabetic());
    jwt || long
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_loses_secrets_and_tokens() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl";
        let s = sanitize_quoted(
            &format!(
                "refresh token rt_short1 was used; token {jwt}, other Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9."
            ),
            &["rt_short1"],
        );
        assert_eq!(
            s,
            "refresh token [redacted] was used; token [redacted], other [redacted]."
        );
        // Ordinary words, URLs and numbers stay.
        let plain = "The refresh token expired at 2026-12-07 (see https://op.example/errors)";
        assert_eq!(sanitize_quoted(plain, &[]), plain);
    }

    #[test]
    fn sanitize_cuts_and_cleans() {
        assert_eq!(sanitize(" a\nb\u{7}c "), "a b c");
        let long = "x".repeat(MAX_TEXT + 5);
        let s = sanitize(&long);
        assert!(s.ends_with('…') && s.chars().count() == MAX_TEXT + 1, "{s}");
    }
}

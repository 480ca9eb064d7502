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
    check_endpoint, http_client, is_loopback,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_cuts_and_cleans() {
        assert_eq!(sanitize(" a\nb\u{7}c "), "a b c");
        let long = "x".repeat(MAX_TEXT + 5);
        let s = sanitize(&long);
        assert!(s.ends_with('…') && s.chars().count() == MAX_TEXT + 1, "{s}");
    }
}

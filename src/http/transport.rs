//! The client every request goes through: proxy, CA bundle, timeouts,
//! redirect policy, the HTTPS-only rule, and the classification of
//! transport failures.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

use crate::error::{BoxError, Error, Result};
use crate::secret::Secret;

/// Default time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default time allowed for a whole request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach the services.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// PEM bundles of CA certificates to trust.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Whether the platform's trusted roots are trusted too (false: only
    /// `extra_ca_pem`, as for the sandbox).
    pub trust_system_roots: bool,
    /// The proxy, if any.
    pub proxy: Option<ProxyConfig>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request.
    pub timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            extra_ca_pem: Vec::new(),
            trust_system_roots: true,
            proxy: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Hosts never reached through a proxy, whatever the no-proxy list says:
/// loopback addresses (a request to them carries tokens meant for a local
/// service, and a proxy could not reach that service anyway).
pub const LOOPBACK_NO_PROXY: [&str; 3] = ["127.0.0.0/8", "::1", "localhost"];

/// A proxy for all requests except those to loopback addresses (see
/// [`LOOPBACK_NO_PROXY`]).
#[derive(Clone)]
pub struct ProxyConfig {
    /// `http://host:port` (no credentials in it: use `user`/`password`).
    pub url: String,
    /// Basic authentication user.
    pub user: Option<String>,
    /// Basic authentication password.
    pub password: Option<Secret>,
    /// Hosts reached directly: names (and their subdomains), IP addresses,
    /// CIDR blocks, or `*`.
    pub no_proxy: Vec<String>,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// An HTTP client configured by [`http_client`]. Requests are built with
/// [`HttpClient::get`] / [`HttpClient::post`], which refuse URLs that are
/// not HTTPS (plain HTTP only to loopback), and sent with
/// [`HttpClient::send`], which turns transport failures into precise
/// [`Error`]s (TLS trust, proxy, timeout).
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    proxy: Option<ProxyInfo>,
}

#[derive(Clone, Debug)]
struct ProxyInfo {
    shown: String,
    no_proxy: Vec<String>,
}

/// Builds the client every crpki HTTP request goes through: rustls with the
/// platform's roots (unless disabled) plus the extra CAs, the proxy with
/// optional Basic credentials and a no-proxy list, timeouts, no automatic
/// redirects (a redirect is answered by the caller, never followed with
/// credentials attached).
pub fn http_client(config: &TransportConfig) -> Result<HttpClient> {
    let mut certs = Vec::new();
    for pem in &config.extra_ca_pem {
        let bundle = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::Config {
            detail: format!("extra CA certificates: {e}"),
        })?;
        certs.extend(bundle);
    }
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .user_agent(concat!("crpki/", env!("CARGO_PKG_VERSION")))
        .no_proxy();
    if config.trust_system_roots {
        builder = builder.tls_certs_merge(certs);
    } else {
        if certs.is_empty() {
            return Err(Error::Config {
                detail: "TLS: no CA certificate to trust (the system roots are disabled for this profile)"
                    .into(),
            });
        }
        builder = builder.tls_certs_only(certs);
    }
    let mut info = None;
    if let Some(p) = &config.proxy {
        let url = Url::parse(&p.url).map_err(|e| Error::Config {
            detail: format!("proxy URL {:?}: {e}", shown_url_str(&p.url)),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::Config {
                detail: "the proxy URL must not contain credentials: set the proxy user and password instead"
                    .into(),
            });
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Config {
                detail: format!("proxy URL {url}: only http:// and https:// proxies are supported"),
            });
        }
        let mut proxy = reqwest::Proxy::all(url.clone()).map_err(|e| Error::Config {
            detail: format!("proxy URL {url}: {e}"),
        })?;
        if let Some(user) = &p.user {
            let password = p.password.as_ref().map(Secret::expose).unwrap_or("");
            proxy = proxy.basic_auth(user, password);
        }
        let no_proxy: Vec<String> = p
            .no_proxy
            .iter()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .chain(LOOPBACK_NO_PROXY.iter().map(|e| (*e).to_owned()))
            .collect();
        proxy = proxy.no_proxy(reqwest::NoProxy::from_string(&no_proxy.join(",")));
        builder = builder.proxy(proxy);
        info = Some(ProxyInfo {
            shown: url.to_string(),
            no_proxy,
        });
    }
    let inner = builder.build().map_err(|e| Error::Config {
        detail: format!("cannot set up HTTPS: {}", error_chain(&e)),
    })?;
    Ok(HttpClient { inner, proxy: info })
}

/// Whether a URL's host is a loopback address (`127.0.0.0/8`, `::1`,
/// `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Parses an endpoint URL and applies the transport rule: `https://`, or
/// `http://` to a loopback address only; no credentials in the URL.
/// Anything else is [`Error::Config`].
pub fn check_endpoint(url: &str) -> Result<Url> {
    let parsed = Url::parse(url).map_err(|e| Error::Config {
        detail: format!("invalid URL {:?}: {e}", shown_url_str(url)),
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config {
            detail: format!("URL {} must not contain credentials", shown_url(&parsed)),
        });
    }
    if parsed.host().is_none() {
        return Err(Error::Config {
            detail: format!("URL {} has no host", shown_url(&parsed)),
        });
    }
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(Error::Config {
            detail: format!(
                "refusing plain-HTTP URL {}: only https:// is allowed (http:// only to loopback addresses)",
                shown_url(&parsed)
            ),
        }),
        other => Err(Error::Config {
            detail: format!("URL {}: unsupported scheme {other}", shown_url(&parsed)),
        }),
    }
}

/// Parses the URL of signed public data (an OCSP responder, a CRL, an
/// issuer certificate named in a certificate's AIA or CRL distribution
/// points): `https://`, or plain `http://` to any host, because that is
/// what certification authorities publish (RFC 5280 §4.2.2.1, RFC 6960
/// appendix A) and what is fetched is checked by its own signature; no
/// credentials in the URL, and none are ever sent with it.
pub fn check_public_url(url: &str) -> Result<Url> {
    let parsed = Url::parse(url).map_err(|e| Error::Config {
        detail: format!("invalid URL {:?}: {e}", shown_url_str(url)),
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.host().is_none() {
        return Err(Error::Config {
            detail: format!("URL {} has no host or carries credentials", shown_url(&parsed)),
        });
    }
    match parsed.scheme() {
        "https" | "http" => Ok(parsed),
        other => Err(Error::Config {
            detail: format!("URL {}: unsupported scheme {other}", shown_url(&parsed)),
        }),
    }
}

/// A URL without its query and fragment (which may carry state, codes or
/// tokens), for messages.
pub(crate) fn shown_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

fn shown_url_str(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => shown_url(&u),
        Err(_) => url.split(['?', '#', '@']).next().unwrap_or("").to_owned(),
    }
}

impl HttpClient {
    /// The underlying reqwest client (for callers with needs not covered
    /// here; prefer [`HttpClient::get`] and [`HttpClient::post`], which
    /// enforce the HTTPS rule).
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    /// A GET request to a checked URL (see [`check_endpoint`]).
    pub fn get(&self, url: &str) -> Result<reqwest::RequestBuilder> {
        Ok(self.inner.get(check_endpoint(url)?))
    }

    /// A POST request to a checked URL (see [`check_endpoint`]).
    pub fn post(&self, url: &str) -> Result<reqwest::RequestBuilder> {
        Ok(self.inner.post(check_endpoint(url)?))
    }

    /// Sends a request; transport failures become [`Error`]s that say what
    /// failed: TLS trust ([`Error::Config`]), the proxy, a timeout or the
    /// connection ([`Error::ServiceUnavailable`]). `service` names the
    /// other side in messages.
    pub async fn send(&self, service: &str, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        request.send().await.map_err(|e| self.transport_error(service, e))
    }

    fn proxy_for(&self, url: Option<&Url>) -> Option<&ProxyInfo> {
        let proxy = self.proxy.as_ref()?;
        let host = url.and_then(|u| u.host_str()).unwrap_or("");
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if proxy.no_proxy.iter().any(|entry| no_proxy_matches(entry, host)) {
            None
        } else {
            Some(proxy)
        }
    }

    /// Classifies a reqwest error.
    pub fn transport_error(&self, service: &str, e: reqwest::Error) -> Error {
        let target = e.url().map(shown_url).unwrap_or_else(|| service.to_owned());
        let proxy = self.proxy_for(e.url()).map(|p| p.shown.clone());
        let (timeout, connect) = (e.is_timeout(), e.is_connect());
        // The rustls error sits behind an io::Error whose `source()` skips
        // it, so it is looked for explicitly.
        let tls = find_tls(&e);
        let chain = error_chain(&e.without_url());
        let e_source: BoxError = Box::new(SourceText(chain.clone()));
        if let Some(tls) = tls {
            return match tls {
                TlsProblem::Untrusted(detail) => Error::Config {
                    detail: format!(
                        "TLS: the certificate of {target} is not trusted ({detail}); add the issuing CA to \
                         the profile's extra CA files{}",
                        if proxy.is_some() {
                            " (or the proxy's CA, if it inspects TLS)"
                        } else {
                            ""
                        }
                    ),
                },
                TlsProblem::Other(detail) => Error::ServiceUnavailable {
                    detail: format!("TLS handshake with {target} failed: {detail}"),
                    source: Some(e_source),
                },
            };
        }
        let detail = if timeout {
            match &proxy {
                Some(p) => format!("{service}: no answer from {target} through the proxy {p} in time"),
                None => format!("{service}: no answer from {target} in time"),
            }
        } else if connect {
            match &proxy {
                Some(p) => format!("{service}: cannot reach {target} through the proxy {p}: {chain}"),
                None => format!("{service}: cannot connect to {target}: {chain}"),
            }
        } else {
            match &proxy {
                Some(p) => format!("{service}: request to {target} (through the proxy {p}) failed: {chain}"),
                None => format!("{service}: request to {target} failed: {chain}"),
            }
        };
        Error::ServiceUnavailable {
            detail,
            source: Some(e_source),
        }
    }
}

/// The text of an error and its sources, kept as the `source` of our
/// errors (reqwest's own error would print the full URL).
#[derive(Debug)]
struct SourceText(String);

impl fmt::Display for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceText {}

enum TlsProblem {
    Untrusted(String),
    Other(String),
}

fn find_tls(e: &(dyn std::error::Error + 'static)) -> Option<TlsProblem> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        // io::Errors may nest (tokio-rustls inside hyper's connector).
        let mut candidate = err;
        loop {
            if let Some(r) = candidate.downcast_ref::<rustls::Error>() {
                return Some(match r {
                    rustls::Error::InvalidCertificate(c) => TlsProblem::Untrusted(format!("{c:?}")),
                    other => TlsProblem::Other(other.to_string()),
                });
            }
            match candidate
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(inner) => candidate = inner,
                None => break,
            }
        }
        current = err.source();
    }
    None
}

/// "a: b: c" for an error and its sources, without repeating a message a
/// wrapper already includes.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut current = e.source();
    while let Some(s) = current {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        current = s.source();
    }
    out
}

/// The no-proxy rule reqwest applies, re-stated to say in messages whether
/// the proxy was used: `*`, an IP address, a CIDR block, or a domain that
/// matches itself and its subdomains (a leading dot is ignored).
fn no_proxy_matches(entry: &str, host: &str) -> bool {
    let entry = entry.trim();
    if entry == "*" {
        return true;
    }
    let host_ip: Option<IpAddr> = host.parse().ok();
    if let Some((net, bits)) = entry.split_once('/') {
        let (Ok(net), Ok(bits), Some(ip)) = (net.parse::<IpAddr>(), bits.parse::<u32>(), host_ip) else {
            return false;
        };
        return match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
                let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
                let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        };
    }
    if let Ok(ip) = entry
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return host_ip == Some(ip);
    }
    let domain = entry.trim_start_matches('.');
    !domain.is_empty()
        && (host.eq_ignore_ascii_case(domain)
            || (host.len() > domain.len()
                && host
                    .to_ascii_lowercase()
                    .ends_with(&format!(".{}", domain.to_ascii_lowercase()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_rule() {
        for ok in [
            "https://gbiz-id.go.jp/oauth/",
            "http://127.0.0.1:8080/cb",
            "http://127.1.2.3/",
            "http://[::1]:9/",
            "http://localhost:1/x",
        ] {
            check_endpoint(ok).unwrap();
        }
        for bad in [
            "http://gbiz-id.go.jp/oauth/",
            "http://10.0.0.1/",
            "http://localhost.evil.example/",
            "ftp://127.0.0.1/",
            "https://user:pw@host/",
            "not a url",
        ] {
            assert!(matches!(check_endpoint(bad), Err(Error::Config { .. })), "{bad}");
        }
        let e = check_endpoint("http://example.com/p?code=secret")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn no_proxy_rules() {
        assert!(no_proxy_matches("*", "a.b"));
        assert!(no_proxy_matches("example.com", "example.com"));
        assert!(no_proxy_matches(".example.com", "www.Example.com"));
        assert!(!no_proxy_matches("example.com", "notexample.com"));
        assert!(no_proxy_matches("10.0.0.0/8", "10.1.2.3"));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.1.2.3"));
        assert!(no_proxy_matches("127.0.0.1", "127.0.0.1"));
        assert!(no_proxy_matches("::1", "::1"));
        assert!(!no_proxy_matches("", "x"));
    }

    /// A stand-in proxy on loopback: counts connections and keeps what was
    /// sent to it, answers 502.
    fn recording_proxy() -> (
        String,
        std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let (seen2, count2) = (seen.clone(), count.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                count2.fetch_add(1, Ordering::SeqCst);
                conn.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
                let mut buf = [0u8; 4096];
                let n = conn.read(&mut buf).unwrap_or(0);
                seen2.lock().unwrap().extend_from_slice(&buf[..n]);
                let _ = conn
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        (url, seen, count)
    }

    #[tokio::test]
    async fn loopback_requests_never_go_through_the_proxy() {
        use std::sync::atomic::Ordering;
        let (proxy_url, seen, count) = recording_proxy();
        let mut server = mockito::Server::new_async().await;
        let hit = server
            .mock("GET", "/info")
            .match_header("authorization", "Bearer loopback-token")
            .with_body("direct")
            .expect(4)
            .create_async()
            .await;
        let port = server.socket_address().port();
        for no_proxy in [vec![], vec!["example.com".to_owned()]] {
            let client = http_client(&TransportConfig {
                proxy: Some(ProxyConfig {
                    url: proxy_url.clone(),
                    user: Some("u".into()),
                    password: Some(Secret::new("proxy-pw")),
                    no_proxy,
                }),
                ..TransportConfig::default()
            })
            .unwrap();
            for host in ["127.0.0.1", "localhost"] {
                let req = client
                    .get(&format!("http://{host}:{port}/info"))
                    .unwrap()
                    .bearer_auth("loopback-token");
                let reply = client.send("test", req).await.unwrap();
                assert_eq!(reply.text().await.unwrap(), "direct", "{host}");
            }
        }
        hit.assert_async().await;
        assert_eq!(count.load(Ordering::SeqCst), 0, "the proxy was contacted");
        assert!(seen.lock().unwrap().is_empty());

        // The proxy is live: a request elsewhere does reach it (so the
        // check above can fail).
        let client = http_client(&TransportConfig {
            proxy: Some(ProxyConfig {
                url: proxy_url.clone(),
                user: None,
                password: None,
                no_proxy: vec![],
            }),
            ..TransportConfig::default()
        })
        .unwrap();
        let reply = client
            .reqwest()
            .get("http://crpki-test.invalid/x")
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 502);
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(String::from_utf8_lossy(&seen.lock().unwrap()).contains("crpki-test.invalid"));
        assert!(
            client
                .proxy_for(Some(&Url::parse("http://[::1]:9/").unwrap()))
                .is_none()
        );
        assert!(
            client
                .proxy_for(Some(&Url::parse("http://127.3.4.5/").unwrap()))
                .is_none()
        );
        assert!(
            client
                .proxy_for(Some(&Url::parse("https://example.com/").unwrap()))
                .is_some()
        );
    }

    #[test]
    fn proxy_credentials_stay_out_of_debug_and_urls() {
        let cfg = TransportConfig {
            proxy: Some(ProxyConfig {
                url: "http://u:pw-in-url@proxy:3128".into(),
                user: None,
                password: None,
                no_proxy: vec![],
            }),
            ..TransportConfig::default()
        };
        let e = http_client(&cfg).unwrap_err().to_string();
        assert!(!e.contains("pw-in-url"), "{e}");
        let dbg = format!(
            "{:?}",
            ProxyConfig {
                url: "http://proxy:3128".into(),
                user: Some("u".into()),
                password: Some(Secret::new("pw")),
                no_proxy: vec![],
            }
        );
        assert!(!dbg.contains("\"pw\""), "{dbg}");
    }
}

//! The RFC 8252 loopback redirect listener: `127.0.0.1` on an ephemeral
//! port (or exactly the profile's registered redirect URI, for providers
//! that match redirect URIs exactly, as GビズID does), one login, a
//! deadline, and `state` checked before anything else.
//!
//! The browser's request is answered only when the login's outcome is
//! known: the page says "login complete" after the code exchange and the
//! ID-token checks succeeded ([`BrowserPage::finish`]), otherwise that the
//! login failed and why (the error's message, which never holds a secret).
//!
//! A tiny HTTP/1.1 reader is enough here (one GET with a query string from
//! the user's own browser); it keeps an HTTP server framework out of builds
//! without the sandbox.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::error::{Error, Result};
use crate::http::sanitize;
use crate::secret::Secret;

const CALLBACK_PATH: &str = "/crpki/callback";
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Time one connection may take to send its request.
const PER_CONNECTION: Duration = Duration::from_secs(10);

const PAGE_DONE: &str = "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>crpki</title></head>\
<body><p>ログインが完了しました。このタブを閉じてください。</p>\
<p lang=\"en\">Login complete. You can close this tab.</p></body></html>";
const PAGE_IGNORED: &str = "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>crpki</title></head>\
<body><p>ログインできませんでした。アプリケーションに戻ってください。</p>\
<p lang=\"en\">The login did not complete. Return to the application for details.</p></body></html>";

/// The failure page, with the reason (HTML-escaped; error messages hold no
/// secrets).
fn page_failed(reason: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>crpki</title></head>\
         <body><p>ログインに失敗しました。</p><p lang=\"en\">Login failed.</p>\
         <p lang=\"en\" id=\"reason\">{}</p></body></html>",
        crate::text::html_escape(&sanitize(reason))
    )
}

/// A fixed loopback redirect URI, checked: `http`, a loopback host
/// (`127.0.0.1`, `[::1]` or `localhost`), an explicit port, a path, and no
/// user, query or fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectTarget {
    uri: String,
    addr: SocketAddr,
    path: String,
}

impl RedirectTarget {
    /// Checks `uri`. Anything but a loopback `http://` URI with a port is
    /// [`Error::Config`]: a login redirect to another host would hand the
    /// authorization code to that host.
    pub fn parse(uri: &str) -> Result<Self> {
        let refuse = |why: &str| Error::Config {
            detail: format!(
                "redirect URI {:?}: {why} (use http://127.0.0.1:PORT/PATH, http://localhost:PORT/PATH \
                 or http://[::1]:PORT/PATH)",
                sanitize(uri)
            ),
        };
        let url = Url::parse(uri).map_err(|e| refuse(&e.to_string()))?;
        if url.scheme() != "http" {
            return Err(refuse("a loopback redirect URI is plain http"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it carries a user name or password"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refuse("it carries a query or fragment"));
        }
        // `Url` spells the hosts canonically (lower case, IPv6 in brackets).
        let ip: std::net::IpAddr = match url.host_str() {
            Some("127.0.0.1") | Some("localhost") => Ipv4Addr::LOCALHOST.into(),
            Some("[::1]") => Ipv6Addr::LOCALHOST.into(),
            _ => return Err(refuse("the host is not a loopback address")),
        };
        let port = match url.port() {
            Some(p) if p != 0 => p,
            _ => return Err(refuse("it names no port")),
        };
        Ok(Self {
            uri: uri.to_owned(),
            addr: SocketAddr::new(ip, port),
            path: url.path().to_owned(),
        })
    }

    /// The URI, exactly as configured (providers compare it as a string).
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The address the listener binds.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

pub(crate) struct RedirectListener {
    listener: TcpListener,
    redirect_uri: String,
    path: String,
}

enum Outcome {
    /// Not the redirect (another path, a malformed request): keep waiting.
    Ignored,
    /// The redirect carried a code: the login goes on, the browser waits
    /// for its page.
    Code(Secret, TcpStream),
    /// The redirect arrived and ended the login (answered already).
    Failed(Error),
}

/// The browser's connection, kept open until the login's outcome is known.
#[derive(Debug)]
pub(crate) struct BrowserPage {
    stream: TcpStream,
}

impl BrowserPage {
    /// Answers the browser: success only when `outcome` is `Ok`, else the
    /// failure and its reason.
    pub(crate) async fn finish<T>(mut self, outcome: &Result<T>) {
        match outcome {
            Ok(_) => respond(&mut self.stream, "200 OK", PAGE_DONE).await,
            Err(e) => respond(&mut self.stream, "400 Bad Request", &page_failed(&e.to_string())).await,
        }
    }
}

impl RedirectListener {
    /// Binds `fixed` exactly when given, else `127.0.0.1` on a random port
    /// with the path `/crpki/callback`.
    pub(crate) async fn bind(fixed: Option<&RedirectTarget>) -> Result<Self> {
        let Some(target) = fixed else {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .await
                .map_err(|e| Error::io("binding the login redirect listener on 127.0.0.1", e))?;
            let port = listener
                .local_addr()
                .map_err(|e| Error::io("binding the login redirect listener on 127.0.0.1", e))?
                .port();
            return Ok(Self {
                listener,
                redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
                path: CALLBACK_PATH.to_owned(),
            });
        };
        let listener = TcpListener::bind(target.addr).await.map_err(|e| {
            let detail = if e.kind() == std::io::ErrorKind::AddrInUse {
                format!(
                    "port {} of the profile's redirect URI {} is in use (another login in progress, or \
                     another program): close it and try again, or register another port with the provider \
                     and set it with `crpki profile edit NAME --redirect-uri`",
                    target.addr,
                    target.as_str()
                )
            } else {
                format!(
                    "cannot listen on {} for the redirect URI {}: {e}",
                    target.addr,
                    target.as_str()
                )
            };
            Error::Config { detail }
        })?;
        Ok(Self {
            listener,
            redirect_uri: target.uri.clone(),
            path: target.path.clone(),
        })
    }

    pub(crate) fn redirect_uri(&self) -> String {
        self.redirect_uri.clone()
    }

    /// Waits for the redirect carrying `state` until `deadline`: the code,
    /// and the browser's connection to answer once the code was exchanged.
    pub(crate) async fn wait(
        self,
        state: &str,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(Secret, BrowserPage)> {
        loop {
            let accepted = tokio::time::timeout_at(deadline.into(), self.listener.accept()).await;
            let stream = match accepted {
                Err(_) => {
                    return Err(Error::Cancelled {
                        detail: format!(
                            "the login timed out: the browser did not come back within {timeout:?}"
                        ),
                    });
                }
                Ok(Err(e)) => return Err(Error::io("accepting the login redirect", e)),
                Ok(Ok((stream, _))) => stream,
            };
            let connection_deadline = deadline.min(Instant::now() + PER_CONNECTION);
            match tokio::time::timeout_at(connection_deadline.into(), handle(stream, state, &self.path)).await
            {
                Ok(Outcome::Code(code, stream)) => return Ok((code, BrowserPage { stream })),
                Ok(Outcome::Failed(e)) => return Err(e),
                Ok(Outcome::Ignored) | Err(_) => continue,
            }
        }
    }
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // The browser going away does not change the login's outcome.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > MAX_REQUEST_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(buf).ok()
}

async fn handle(mut stream: TcpStream, expected_state: &str, path: &str) -> Outcome {
    let Some(head) = read_head(&mut stream).await else {
        respond(&mut stream, "400 Bad Request", PAGE_IGNORED).await;
        return Outcome::Ignored;
    };
    let mut parts = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        respond(&mut stream, "405 Method Not Allowed", PAGE_IGNORED).await;
        return Outcome::Ignored;
    }
    let Some(url) = target
        .starts_with('/')
        .then(|| Url::parse(&format!("http://127.0.0.1{target}")).ok())
        .flatten()
    else {
        respond(&mut stream, "400 Bad Request", PAGE_IGNORED).await;
        return Outcome::Ignored;
    };
    if url.path() != path {
        respond(&mut stream, "404 Not Found", PAGE_IGNORED).await;
        return Outcome::Ignored;
    }
    match evaluate(&url, expected_state) {
        Ok(code) => Outcome::Code(code, stream),
        Err(e) => {
            respond(&mut stream, "400 Bad Request", &page_failed(&e.to_string())).await;
            Outcome::Failed(e)
        }
    }
}

/// The redirect's verdict. `state` is checked first: nothing else in a
/// redirect with a wrong `state` is believed, an error included.
fn evaluate(url: &Url, expected_state: &str) -> Result<Secret> {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let one = |name: &str| -> std::result::Result<Option<&str>, ()> {
        let mut found = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = found.next();
        if found.next().is_some() {
            Err(())
        } else {
            Ok(first)
        }
    };
    let state_ok = match one("state") {
        Ok(Some(s)) => {
            aws_lc_rs::constant_time::verify_slices_are_equal(s.as_bytes(), expected_state.as_bytes()).is_ok()
        }
        _ => false,
    };
    if !state_ok {
        return Err(Error::Unauthenticated {
            detail: "the login redirect carried a state that does not belong to this login \
                     (a forged or stale redirect); it was refused"
                .into(),
            source: None,
        });
    }
    let malformed = || Error::Protocol {
        service: "login redirect".into(),
        detail: "a parameter appears more than once".into(),
    };
    if let Some(error) = one("error").map_err(|()| malformed())? {
        let description = one("error_description")
            .ok()
            .flatten()
            .map(|d| crate::http::sanitize_quoted(d, &[]))
            .unwrap_or_default();
        return Err(if error == "access_denied" {
            Error::Cancelled {
                detail: format!("the login was cancelled or denied at the provider ({description})"),
            }
        } else {
            Error::Unauthenticated {
                detail: format!(
                    "the provider refused the login: {}: {description}",
                    sanitize(error)
                ),
                source: None,
            }
        });
    }
    match one("code").map_err(|()| malformed())? {
        Some(code) if !code.is_empty() => Ok(Secret::new(code)),
        _ => Err(Error::Protocol {
            service: "login redirect".into(),
            detail: "the redirect carries neither a code nor an error".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(q: &str) -> Url {
        Url::parse(&format!("http://127.0.0.1:1{CALLBACK_PATH}?{q}")).unwrap()
    }

    #[test]
    fn verdicts() {
        assert_eq!(evaluate(&url("code=abc&state=S"), "S").unwrap().expose(), "abc");
        assert!(matches!(
            evaluate(&url("code=abc&state=T"), "S"),
            Err(Error::Unauthenticated { .. })
        ));
        assert!(matches!(
            evaluate(&url("code=abc"), "S"),
            Err(Error::Unauthenticated { .. })
        ));
        assert!(matches!(
            evaluate(&url("code=abc&state=S&state=S"), "S"),
            Err(Error::Unauthenticated { .. })
        ));
        // A denial with a foreign state is not believed either.
        assert!(matches!(
            evaluate(&url("error=access_denied&state=T"), "S"),
            Err(Error::Unauthenticated { .. })
        ));
        assert!(matches!(
            evaluate(&url("error=access_denied&state=S"), "S"),
            Err(Error::Cancelled { .. })
        ));
        assert!(matches!(
            evaluate(&url("error=login_required&state=S"), "S"),
            Err(Error::Unauthenticated { .. })
        ));
        assert!(matches!(
            evaluate(&url("state=S"), "S"),
            Err(Error::Protocol { .. })
        ));
        assert!(matches!(
            evaluate(&url("code=a&code=b&state=S"), "S"),
            Err(Error::Protocol { .. })
        ));
    }

    #[tokio::test]
    async fn ignores_other_paths_and_times_out() {
        let l = RedirectListener::bind(None).await.unwrap();
        let port = l.listener.local_addr().unwrap().port();
        let wait = l.wait(
            "S",
            Instant::now() + Duration::from_millis(1500),
            Duration::from_millis(1500),
        );
        let probe = async {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        let (r, page) = tokio::join!(wait, probe);
        assert!(page.starts_with("HTTP/1.1 404"), "{page}");
        assert!(matches!(r, Err(Error::Cancelled { .. })), "{r:?}");
    }
}

//! Opening the authorization URL: in the user's browser, or (tests, the
//! sandbox) by following the redirects over HTTP.

use std::fmt;

use async_trait::async_trait;
use reqwest::Url;

use super::oidc::location;
use crate::error::{Error, Result};
use crate::http::{HttpClient, is_loopback, shown_url};

/// Opens an authorization URL. Returning `Ok` means the URL was handed
/// over; the login then waits for the redirect. Object safe.
#[async_trait]
pub trait BrowserLauncher: Send + Sync + fmt::Debug {
    /// Opens `url`.
    async fn open(&self, url: &str) -> Result<()>;
}

type Announce = Box<dyn Fn(&str) + Send + Sync>;

/// The user's default web browser (through the `webbrowser` crate).
///
/// If no browser can be started the failure is logged and the login keeps
/// waiting: give the user the URL as well (see [`SystemBrowser::announce`]).
#[derive(Default)]
pub struct SystemBrowser {
    announce: Option<Announce>,
}

impl fmt::Debug for SystemBrowser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemBrowser").finish_non_exhaustive()
    }
}

impl SystemBrowser {
    /// The default browser, announcing nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `announce` with the URL before opening it (the CLI prints it,
    /// for when the browser does not start or runs elsewhere).
    pub fn announce(mut self, announce: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.announce = Some(Box::new(announce));
        self
    }
}

#[async_trait]
impl BrowserLauncher for SystemBrowser {
    async fn open(&self, url: &str) -> Result<()> {
        if let Some(a) = &self.announce {
            a(url);
        }
        let owned = url.to_owned();
        let opened = tokio::task::spawn_blocking(move || {
            let options = webbrowser::BrowserOptions::new()
                .with_suppress_output(true)
                .clone();
            webbrowser::open_browser_with_options(webbrowser::Browser::Default, &owned, &options)
        })
        .await;
        match opened {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("could not start a web browser ({e}); open the login URL yourself"),
            Err(e) => tracing::warn!("could not start a web browser ({e}); open the login URL yourself"),
        }
        Ok(())
    }
}

/// Follows the authorization URL over HTTP instead of showing it: GET it,
/// follow the provider's redirects, and deliver the final redirect to the
/// loopback listener. Works with a provider that approves without user
/// interaction (the crpki sandbox's auto-approve); for tests and demos.
#[derive(Clone, Debug)]
pub struct HttpFollowLauncher {
    http: HttpClient,
    max_redirects: usize,
}

impl HttpFollowLauncher {
    /// Follows through `http` (which must trust the provider's TLS).
    pub fn new(http: HttpClient) -> Self {
        Self {
            http,
            max_redirects: 10,
        }
    }
}

#[async_trait]
impl BrowserLauncher for HttpFollowLauncher {
    async fn open(&self, url: &str) -> Result<()> {
        let service = "authorization page";
        let mut current =
            Url::parse(url).map_err(|e| Error::invalid_argument(format!("authorization URL: {e}")))?;
        // The hop that reaches the redirect URI delivers the result to the listener.
        let redirect_uri = current
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .and_then(|(_, v)| Url::parse(&v).ok())
            .ok_or_else(|| Error::invalid_argument("the authorization URL names no redirect_uri"))?;
        let is_redirect_uri = |u: &Url| {
            u.origin() == redirect_uri.origin() && u.path() == redirect_uri.path() && is_loopback(u)
        };
        for _ in 0..=self.max_redirects {
            let response = self.http.send(service, self.http.get(current.as_str())?).await?;
            let status = response.status();
            if is_redirect_uri(&current) {
                // Our own listener answered: the login's outcome is decided there.
                return Ok(());
            }
            if status.is_redirection() {
                let target = location(&response).ok_or_else(|| Error::Protocol {
                    service: service.into(),
                    detail: format!("HTTP {status} without Location from {}", shown_url(&current)),
                })?;
                current = current.join(&target).map_err(|e| Error::Protocol {
                    service: service.into(),
                    detail: format!("bad Location from {}: {e}", shown_url(&current)),
                })?;
                continue;
            }
            if status.is_success() {
                return Err(Error::InteractionRequired {
                    detail: format!(
                        "{} shows a page instead of redirecting: it wants user interaction, which the \
                         HTTP-following launcher cannot give (enable auto-approve)",
                        shown_url(&current)
                    ),
                });
            }
            return Err(if status.is_server_error() {
                Error::ServiceUnavailable {
                    detail: format!("{} answered HTTP {status}", shown_url(&current)),
                    source: None,
                }
            } else {
                // Strict providers refuse an unregistered redirect URI with a page.
                Error::Protocol {
                    service: service.into(),
                    detail: format!(
                        "{} answered HTTP {status} (is the redirect URI {} registered with the provider? \
                         see `crpki profile edit NAME --redirect-uri`)",
                        shown_url(&current),
                        shown_url(&redirect_uri)
                    ),
                }
            });
        }
        Err(Error::Protocol {
            service: service.into(),
            detail: format!("more than {} redirects", self.max_redirects),
        })
    }
}

//! Asking the responders and distribution points a chain names, through
//! the one HTTP transport, each URL (and, for OCSP, each certificate)
//! once per client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use der::asn1::OctetString;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::ocsp::{CertIdHash, OcspRequest, ParsedResponse};
use super::urls::{access_urls, crl_urls};
use super::{Answer, CertRevocation, ChainRevocation, CheckOptions, RevocationData, crl};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::http::{Call, HttpClient, Reply, RequestFlags, RetryConfig, check_public_url, shown_url};

/// What a fetch gave: the body, or why there is none (kept as text so
/// that every caller of a cached URL sees the same reason).
type Fetched = std::result::Result<Arc<Vec<u8>>, String>;

/// An OCSP answer fetched, with the nonce its request carried.
type FetchedOcsp = std::result::Result<(Arc<Vec<u8>>, Option<OctetString>), String>;

/// One cache slot, filled once even when asked for concurrently.
type Slot<T> = Arc<tokio::sync::OnceCell<T>>;

/// The OCSP cache: by responder URL and DER CertID.
type OcspCache = Mutex<HashMap<(String, Vec<u8>), Slot<FetchedOcsp>>>;

/// Fetches and checks revocation data for chains, through one
/// [`HttpClient`] (its proxy, CA bundle and timeouts; the one body size
/// limit). Each URL is fetched at most once per client (for OCSP: once
/// per URL and certificate), including by concurrent callers: keep one
/// client for a run.
pub struct RevocationClient {
    http: HttpClient,
    retry: RetryConfig,
    hash: CertIdHash,
    nonce: bool,
    gets: Mutex<HashMap<String, Slot<Fetched>>>,
    posts: OcspCache,
    requests: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for RevocationClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationClient")
            .field("hash", &self.hash)
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

impl RevocationClient {
    /// A client on `http`, asking with SHA-1 CertIDs and a nonce, with one
    /// retry of failed connections.
    pub fn new(http: HttpClient) -> Self {
        Self {
            http,
            retry: RetryConfig {
                max_retries: 1,
                ..RetryConfig::default()
            },
            hash: CertIdHash::Sha1,
            nonce: true,
            gets: Mutex::new(HashMap::new()),
            posts: Mutex::new(HashMap::new()),
            requests: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Uses `hash` in CertIDs (SHA-1 by default).
    pub fn with_cert_id_hash(mut self, hash: CertIdHash) -> Self {
        self.hash = hash;
        self
    }

    /// Sends no nonce (for responders that refuse or cache).
    pub fn without_nonce(mut self) -> Self {
        self.nonce = false;
        self
    }

    /// Uses `retry` for every request.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// HTTP requests sent so far (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Checks every certificate of `chain` (signer first; a self-signed
    /// last one is the anchor, not checked) by asking its OCSP responders,
    /// then, without a usable OCSP answer, its CRL distribution points; an
    /// issuer missing from the chain is fetched from `caIssuers`. Returns
    /// the verdicts and the DER that gave them (to embed, and to check
    /// again with [`super::check_chain_offline`]). Never fails as a
    /// whole: what went wrong is in each certificate's `problems`.
    ///
    /// Give it a chain validated to a root you trust: the URLs it fetches
    /// are the ones its certificates name (`crpki verify` checks the chain
    /// first).
    pub async fn check_chain(
        &self,
        chain: &[Certificate],
        options: &CheckOptions,
    ) -> (ChainRevocation, RevocationData) {
        let mut data = RevocationData::default();
        let mut result = ChainRevocation::default();
        for (i, cert) in chain.iter().enumerate() {
            if cert.is_self_signed() {
                break;
            }
            let mut entry = CertRevocation::new(cert);
            let issuer = match find_issuer(cert, &chain[i + 1..], &data.certificates) {
                Some(issuer) => Some(issuer),
                None => self.fetch_issuer(cert, &mut entry, &mut data).await,
            };
            let Some(issuer) = issuer else {
                result.certificates.push(entry);
                continue;
            };
            self.check_one(cert, &issuer, options, &mut entry, &mut data)
                .await;
            result.certificates.push(entry);
        }
        (result, data)
    }

    async fn check_one(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
        options: &CheckOptions,
        entry: &mut CertRevocation,
        data: &mut RevocationData,
    ) {
        let ocsp_urls = match access_urls(cert).map(|(ocsp, _)| ocsp) {
            Ok(urls) => urls,
            Err(e) => {
                entry.problems.push(e.to_string());
                Vec::new()
            }
        };
        for url in &ocsp_urls {
            match self.ask_ocsp(url, cert, issuer, options).await {
                Ok((answer, der, responder_certs)) => {
                    entry.answer = Some(answer);
                    data.merge(RevocationData {
                        ocsp_responses: vec![der],
                        crls: Vec::new(),
                        certificates: responder_certs,
                    });
                    return;
                }
                Err(e) => entry.problems.push(format!("OCSP {url}: {e}")),
            }
        }
        let crl_urls = match crl_urls(cert) {
            Ok(urls) => urls,
            Err(e) => {
                entry.problems.push(e.to_string());
                Vec::new()
            }
        };
        for url in &crl_urls {
            let fetched = self.get(url, "CRL").await;
            let result = fetched.map_err(from_text).and_then(|der| {
                crl::answer_for(&der, cert, issuer, options).and_then(|a| {
                    a.map(|a| (a, der))
                        .ok_or_else(|| Error::malformed("CRL", "issued by another CA"))
                })
            });
            match result {
                Ok((mut answer, der)) => {
                    answer.url = Some(url.clone());
                    entry.answer = Some(answer);
                    data.merge(RevocationData {
                        ocsp_responses: Vec::new(),
                        crls: vec![der.to_vec()],
                        certificates: Vec::new(),
                    });
                    return;
                }
                Err(e) => entry.problems.push(format!("CRL {url}: {e}")),
            }
        }
        if ocsp_urls.is_empty() && crl_urls.is_empty() {
            entry
                .problems
                .push("the certificate names no OCSP responder (AIA) and no CRL distribution point".into());
        }
    }

    async fn ask_ocsp(
        &self,
        url: &str,
        cert: &Certificate,
        issuer: &Certificate,
        options: &CheckOptions,
    ) -> Result<(Answer, Vec<u8>, Vec<Certificate>)> {
        let request = OcspRequest::new(cert, issuer, self.hash, self.nonce)?;
        let cell = {
            let mut posts = self
                .posts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            posts
                .entry((url.to_owned(), request.cert_id_der().to_vec()))
                .or_default()
                .clone()
        };
        let fetched = cell
            .get_or_init(|| async {
                self.send(Method::POST, url, "OCSP request", Some(request.der().to_vec()))
                    .await
                    .map(|body| (body, request.nonce().cloned()))
            })
            .await
            .clone();
        let (der, nonce) = fetched.map_err(from_text)?;
        let parsed = ParsedResponse::parse(&der)?;
        let mut answer = parsed
            .answer_for(cert, issuer, nonce.as_ref(), options)?
            .ok_or_else(|| Error::malformed("OCSP response", "it answers about another certificate"))?;
        answer.url = Some(url.to_owned());
        Ok((answer, der.to_vec(), parsed.certificates().to_vec()))
    }

    /// The issuer of `cert` from its `caIssuers` URLs.
    async fn fetch_issuer(
        &self,
        cert: &Certificate,
        entry: &mut CertRevocation,
        data: &mut RevocationData,
    ) -> Option<Certificate> {
        let urls = match access_urls(cert) {
            Ok((_, urls)) => urls,
            Err(e) => {
                entry.problems.push(e.to_string());
                return None;
            }
        };
        for url in &urls {
            let found = self
                .get(url, "issuer certificate")
                .await
                .map_err(from_text)
                .and_then(|body| Certificate::parse_all(&body));
            match found {
                Ok(certs) => {
                    if let Some(issuer) = find_issuer(cert, &certs, &[]) {
                        data.add_certificate(issuer.clone());
                        return Some(issuer);
                    }
                    entry
                        .problems
                        .push(format!("caIssuers {url}: no certificate there issued it"));
                }
                Err(e) => entry.problems.push(format!("caIssuers {url}: {e}")),
            }
        }
        entry.problems.push(format!(
            "its issuer '{}' is not in the chain{}",
            cert.issuer(),
            if urls.is_empty() {
                " and it names no caIssuers URL"
            } else {
                ""
            }
        ));
        None
    }

    /// A GET, once per URL for this client.
    async fn get(&self, url: &str, what: &'static str) -> Fetched {
        let cell = {
            let mut gets = self
                .gets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            gets.entry(url.to_owned()).or_default().clone()
        };
        cell.get_or_init(|| self.send(Method::GET, url, what, None))
            .await
            .clone()
    }

    /// One request through the transport: 200 with a body, or the reason.
    async fn send(&self, method: Method, url: &str, what: &'static str, body: Option<Vec<u8>>) -> Fetched {
        let parsed = check_public_url(url).map_err(|e| e.to_string())?;
        let service = shown_url(&parsed);
        let call = Call {
            service: &service,
            what,
            protocol: "revocation",
            flags: RequestFlags::READ,
        };
        let build = || {
            self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let request = self.http.reqwest().request(method.clone(), parsed.clone());
            match &body {
                Some(b) => request
                    .header(CONTENT_TYPE, "application/ocsp-request")
                    .header(ACCEPT, "application/ocsp-response")
                    .body(b.clone()),
                None => request,
            }
        };
        let unavailable = |r: &Reply| Error::ServiceUnavailable {
            detail: format!("{service} answered HTTP {}", r.status),
            source: None,
        };
        let reply = self
            .http
            .fetch(&self.retry, call, build, unavailable)
            .await
            .map_err(|e| e.to_string())?;
        if !reply.is_success() {
            return Err(format!("HTTP {}", reply.status));
        }
        Ok(Arc::new(reply.body))
    }
}

/// A cached failure's text as an error.
fn from_text(text: String) -> Error {
    Error::ServiceUnavailable {
        detail: text,
        source: None,
    }
}

fn find_issuer(cert: &Certificate, candidates: &[Certificate], extra: &[Certificate]) -> Option<Certificate> {
    candidates
        .iter()
        .chain(extra)
        .find(|c| cert.issuer_name_matches(c) && cert.verify_signed_by(c).is_ok())
        .cloned()
}

//! [`CscSigner`]: a [`RemoteSigner`] over one credential of a CSC RSSP, and
//! the credential selection the CLI and the providers share.
//!
//! # Cost of a batch
//!
//! `sign_digests` over N digests makes ⌈N / m⌉ `signHash` calls, where m is
//! the credential's `multisign` (capped by
//! [`SignerOptions::max_signatures_per_call`]), and at most as many
//! authorizations: SCAL 2 authorizations are bound to the chunk's exact
//! hashes, so each chunk needs its own; SCAL 1 authorizations ask for
//! `multisign` signatures and, with [`SignerOptions::reuse_authorizations`],
//! what a chunk leaves is kept for the next calls (so a Windows provider
//! signing one hash at a time does not ask for the PIN every time).
//! Authorizations of one signer are obtained one at a time: concurrent
//! callers wait for (and, with SCAL 1, share) the one in progress, so the
//! user is never asked for two PINs at once.
//!
//! # When something goes wrong
//!
//! - Every returned signature is verified with the certificate's public key
//!   before it is handed out (by [`RemoteSigner::sign_digests`], once); a
//!   missing or non-verifying signature is [`Error::Protocol`], never an
//!   output.
//! - A SAD the service calls invalid or expired ([`Error::AuthorizationInvalid`])
//!   is dropped and the chunk is authorized again, once; a second refusal
//!   is returned.
//! - A `signHash` whose outcome is unknown (the connection failed after
//!   the request was sent, or timed out) is never sent again with the same
//!   SAD: the SAD is dropped (its budget is unknown) and the error
//!   ([`Error::ServiceUnavailable`], saying the outcome is unknown) is
//!   returned. Calling `sign_digests` again then starts with a fresh,
//!   explicit authorization.
//! - Any other failure of `signHash` also drops the cached authorization.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::authorize::{AuthorizationContext, CredentialAuthorizer};
use super::client::CscClient;
use super::model::{Activation, CredentialDescription, CscSignAlgorithm, Scal, SignHashCall};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::signer::{Digest, DigestBatch, HashAlgorithm, KeyInfo, RemoteSigner};

/// Lifetime assumed for a SAD when the service does not say (the CSC default).
const DEFAULT_SAD_LIFETIME: Duration = Duration::from_secs(3600);

/// How a [`CscSigner`] spends authorizations.
#[derive(Clone, Debug)]
pub struct SignerOptions {
    /// SCAL 1: ask each authorization for `multisign` signatures and keep
    /// what a call leaves for later calls (until it runs out or expires).
    /// When false, each chunk is authorized for exactly its size.
    pub reuse_authorizations: bool,
    /// Fewer digests per `signHash` call than `multisign` allows.
    pub max_signatures_per_call: Option<u32>,
    /// A kept SAD with less lifetime left than this is extended with
    /// `credentials/extendTransaction` before use, when the service
    /// offers that method.
    pub extend_before_expiry: Duration,
    /// A kept authorization with less lifetime left than this is not used.
    pub expiry_margin: Duration,
    /// Description of the operation sent with authorizations.
    pub description: Option<String>,
}

impl Default for SignerOptions {
    fn default() -> Self {
        Self {
            reuse_authorizations: true,
            max_signatures_per_call: None,
            extend_before_expiry: Duration::from_secs(60),
            expiry_margin: Duration::from_secs(10),
            description: None,
        }
    }
}

/// An authorization kept for later calls.
struct Kept {
    activation: Activation,
    remaining: u32,
    expires_at: Instant,
}

impl Kept {
    fn left(&self) -> Duration {
        self.expires_at.saturating_duration_since(Instant::now())
    }
}

/// A [`RemoteSigner`] over one CSC credential.
pub struct CscSigner {
    client: Arc<CscClient>,
    credential: CredentialDescription,
    certificate: Certificate,
    key_info: KeyInfo,
    authorizer: Arc<dyn CredentialAuthorizer>,
    options: SignerOptions,
    kept: tokio::sync::Mutex<Option<Kept>>,
    /// The service binds SCAL 1 authorizations to the hashes too (it
    /// refused one without them): every authorization names its hashes.
    pin_hashes: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for CscSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CscSigner")
            .field("service", &self.client.base_url())
            .field("version", &self.client.version())
            .field("credential", &self.credential.id)
            .field("subject", &self.certificate.subject())
            .field("scal", &self.credential.scal)
            .field("multisign", &self.credential.multisign)
            .finish_non_exhaustive()
    }
}

impl CscSigner {
    /// Fetches `credentials/info` of `credential_id` and builds the signer
    /// (see [`from_description`](Self::from_description)).
    pub async fn new(
        client: Arc<CscClient>,
        credential_id: &str,
        authorizer: Arc<dyn CredentialAuthorizer>,
        options: SignerOptions,
    ) -> Result<Self> {
        let description = client.credential_info(credential_id).await?;
        Self::from_description(client, description, authorizer, options)
    }

    /// Builds the signer from a credential's description (from
    /// [`CscClient::credential_info`] or [`CscClient::list_credentials`]),
    /// without network access. A disabled key or an expired, revoked or
    /// suspended certificate is [`Error::CredentialUnusable`]; a description
    /// without a certificate is [`Error::Protocol`].
    pub fn from_description(
        client: Arc<CscClient>,
        credential: CredentialDescription,
        authorizer: Arc<dyn CredentialAuthorizer>,
        options: SignerOptions,
    ) -> Result<Self> {
        credential.check_usable()?;
        let certificate = credential.certificate.clone().ok_or_else(|| Error::Protocol {
            service: client.service_name().to_owned(),
            detail: format!("credentials/info of {} returned no certificate", credential.id),
        })?;
        let public_key = certificate.public_key()?;
        let key_info = public_key.info();
        if credential.key_len != 0 && credential.key_len != key_info.bits {
            tracing::warn!(
                credential = %credential.id,
                "the service describes a {}-bit key, the certificate holds {key_info}",
                credential.key_len
            );
        }
        Ok(Self {
            client,
            credential,
            certificate,
            key_info,
            authorizer,
            options,
            kept: tokio::sync::Mutex::new(None),
            pin_hashes: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The credential's description.
    pub fn credential(&self) -> &CredentialDescription {
        &self.credential
    }

    /// The client.
    pub fn client(&self) -> &Arc<CscClient> {
        &self.client
    }

    /// Drops a kept authorization (e.g. before the user logs out).
    pub async fn forget_authorization(&self) {
        *self.kept.lock().await = None;
    }

    /// Digests per `signHash` call.
    fn chunk_size(&self) -> usize {
        let m = self.credential.multisign.max(1);
        let m = match self.options.max_signatures_per_call {
            Some(cap) => m.min(cap.max(1)),
            None => m,
        };
        m as usize
    }

    async fn authorize(
        &self,
        num_signatures: u32,
        hashes: Option<&[Digest]>,
        hash_algorithm: HashAlgorithm,
    ) -> Result<super::authorize::CredentialAuthorization> {
        self.authorizer
            .authorize(&AuthorizationContext {
                client: &self.client,
                credential: &self.credential,
                num_signatures,
                hashes,
                hash_algorithm,
                description: self.options.description.as_deref(),
            })
            .await
    }

    /// What authorizes signing `chunk`: a kept authorization with enough
    /// left, or a new one.
    async fn activation_for(&self, chunk: &[Digest], hash: HashAlgorithm) -> Result<Activation> {
        let k = chunk.len() as u32;
        // Held across a new authorization so that concurrent callers wait
        // for it (and reuse it) instead of asking the user again; with SCAL 2
        // it keeps the prompts of concurrent callers one at a time.
        let mut kept = self.kept.lock().await;
        let pinned = self.pin_hashes.load(std::sync::atomic::Ordering::Relaxed);
        if self.credential.scal == Scal::Two || pinned {
            // Bound to these exact hashes: never kept.
            return Ok(self.authorize(k, Some(chunk), hash).await?.activation);
        }
        if let Some(mut entry) = kept.take()
            && entry.remaining >= k
            && entry.left() > self.options.expiry_margin
        {
            let extended = if entry.left() < self.options.extend_before_expiry {
                self.extend(&mut entry).await
            } else {
                true
            };
            if extended {
                entry.remaining -= k;
                let activation = entry.activation.clone();
                if entry.remaining > 0 {
                    *kept = Some(entry);
                }
                return Ok(activation);
            }
        }
        let num = if self.options.reuse_authorizations {
            self.credential.multisign.max(k)
        } else {
            k
        };
        let auth = match self.authorize(num, None, hash).await {
            Err(e) if asks_for_hashes(&e) => {
                // Some services require hash pinning for SCAL 1 too. Binding
                // the authorization to the hashes is never less safe.
                tracing::debug!(credential = %self.credential.id, "authorization without hashes refused ({e}); binding them");
                self.pin_hashes.store(true, std::sync::atomic::Ordering::Relaxed);
                return Ok(self.authorize(k, Some(chunk), hash).await?.activation);
            }
            other => other?,
        };
        let granted = auth.num_signatures.min(num);
        if granted < k {
            return Err(Error::Protocol {
                service: self.client.service_name().to_owned(),
                detail: format!("an authorization for {granted} signatures was granted, {k} are needed"),
            });
        }
        if self.options.reuse_authorizations && !auth.bound_to_hashes && granted > k {
            *kept = Some(Kept {
                activation: auth.activation.clone(),
                remaining: granted - k,
                expires_at: Instant::now() + auth.expires_in.unwrap_or(DEFAULT_SAD_LIFETIME),
            });
        }
        Ok(auth.activation)
    }

    /// Extends a kept SAD close to expiry; `false` when it cannot be used.
    async fn extend(&self, entry: &mut Kept) -> bool {
        let Activation::Sad(sad) = &entry.activation else {
            return true;
        };
        if !self.client.supports("credentials/extendTransaction").await {
            return true;
        }
        match self
            .client
            .extend_transaction(&self.credential.id, sad, None)
            .await
        {
            Ok(new) => {
                entry.activation = Activation::Sad(new.sad);
                entry.expires_at = Instant::now() + new.expires_in.unwrap_or(DEFAULT_SAD_LIFETIME);
                true
            }
            Err(e) => {
                tracing::debug!(credential = %self.credential.id, "could not extend the SAD: {e}");
                false
            }
        }
    }

    /// Forgets `activation` if it is the kept one.
    async fn drop_kept(&self, activation: &Activation) {
        let mut kept = self.kept.lock().await;
        if kept.as_ref().is_some_and(|k| &k.activation == activation) {
            *kept = None;
        }
    }

    async fn sign_chunk(&self, algorithm: &CscSignAlgorithm, chunk: &[Digest]) -> Result<Vec<Vec<u8>>> {
        let mut authorized_again = false;
        loop {
            let activation = self.activation_for(chunk, algorithm.algorithm.hash).await?;
            let result = self
                .client
                .sign_hash(&SignHashCall {
                    credential_id: &self.credential.id,
                    activation: &activation,
                    digests: chunk,
                    algorithm,
                })
                .await;
            match result {
                Ok(signatures) => return Ok(signatures),
                Err(e) => {
                    self.drop_kept(&activation).await;
                    if matches!(e, Error::AuthorizationInvalid { .. }) && !authorized_again {
                        tracing::info!(
                            credential = %self.credential.id,
                            "the service refused the authorization ({e}); authorizing again"
                        );
                        authorized_again = true;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }
}

#[async_trait]
impl RemoteSigner for CscSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn chain(&self) -> &[Certificate] {
        &self.credential.chain
    }

    fn key_info(&self) -> KeyInfo {
        self.key_info
    }

    /// The credential's `multisign` (capped by
    /// [`SignerOptions::max_signatures_per_call`]): one `signHash` call.
    fn max_batch(&self) -> Option<usize> {
        Some(self.chunk_size())
    }

    async fn sign_batch(&self, batch: &DigestBatch<'_>) -> Result<Vec<Vec<u8>>> {
        let csc_algorithm = CscSignAlgorithm::new(batch.algorithm(), &self.credential.key_algorithms)?;
        let mut out = Vec::with_capacity(batch.len());
        for chunk in batch.chunks(self.chunk_size()) {
            out.extend(self.sign_chunk(&csc_algorithm, chunk.digests()).await?);
        }
        Ok(out)
    }
}

/// Picks the credential to sign with: `chosen` (the id stored with
/// `crpki certs use ID`) when given, else the only credential. Several
/// credentials and no choice is [`Error::Config`] naming `crpki certs use
/// ID`; none, or a chosen id that is not there, is [`Error::NotFound`].
pub fn select_credential<'a>(
    credentials: &'a [CredentialDescription],
    chosen: Option<&str>,
) -> Result<&'a CredentialDescription> {
    if let Some(id) = chosen {
        return credentials
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| chosen_not_found(id));
    }
    match credentials {
        [] => Err(Error::NotFound {
            what: "signing credential for this account".into(),
        }),
        [only] => Ok(only),
        several => Err(Error::Config {
            detail: format!(
                "{} credentials are available ({}): choose one with `crpki certs use ID`",
                several.len(),
                several
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

fn chosen_not_found(id: &str) -> Error {
    Error::NotFound {
        what: format!(
            "credential {id:?} (the one chosen for this profile; list the available ones with \
             `crpki certs list` and choose with `crpki certs use ID`)"
        ),
    }
}

/// Connects a signer for a profile's credential: the stored choice when
/// there is one (fetched directly), else the only credential of the
/// account (see [`select_credential`]).
pub async fn connect_signer(
    client: Arc<CscClient>,
    chosen: Option<&str>,
    authorizer: Arc<dyn CredentialAuthorizer>,
    options: SignerOptions,
) -> Result<CscSigner> {
    match chosen {
        Some(id) => match client.credential_info(id).await {
            Ok(d) => CscSigner::from_description(client, d, authorizer, options),
            Err(Error::NotFound { .. }) => Err(chosen_not_found(id)),
            Err(e) => Err(e),
        },
        None => {
            let list = client.list_credentials().await?;
            let d = select_credential(&list, None)?.clone();
            CscSigner::from_description(client, d, authorizer, options)
        }
    }
}

/// Whether a refused authorization asked for the hashes: a `400` naming
/// the `hash`/`hashes` parameter (`Missing (or invalid type) array
/// parameter hash`), as services that pin hashes for SCAL 1 too answer.
fn asks_for_hashes(e: &Error) -> bool {
    let Some((400, description)) = super::errors::refusal(e) else {
        return false;
    };
    description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("hash") || w.eq_ignore_ascii_case("hashes"))
}

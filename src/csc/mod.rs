//! Cloud Signature Consortium API: the wire types (v2, and v1.0.4.0
//! compatibility), the client, the credential authorization strategies and
//! the remote [`RemoteSigner`](crate::RemoteSigner) backend.
//!
//! This room talks to the RSSP only, through the transport seam of
//! [`crate::auth`] ([`crate::auth::http_client`]); the service access token
//! comes from an [`AccessTokenSource`](crate::auth::AccessTokenSource)
//! (the GビズID login's [`TokenCache`](crate::auth::TokenCache), or one of
//! the sources in [`service_auth`]). It never reads profiles or token files
//! itself, except in the `for_profile` helpers that only read a
//! [`Profile`](crate::profile::Profile) value.
//!
//! - [`types`]: the JSON bodies of every method as they travel on the wire
//!   (shared with the sandbox server).
//! - `client`: [`CscClient`], one typed method per CSC method, the v1/v2
//!   differences hidden behind it.
//! - `retry`: the one place that decides whether a failed request is sent
//!   again ([`RetryConfig`], [`RequestFlags`]).
//! - `errors`: the one function that turns an error reply into a
//!   [`crate::Error`] ([`error_from_reply`]).
//! - `authorize`: how a credential is authorized per `auth.mode`
//!   ([`CredentialAuthorizer`]: explicit PIN/OTP, `oauth2code`, implicit).
//! - `signer`: [`CscSigner`], the [`RemoteSigner`](crate::RemoteSigner)
//!   over one credential, and credential selection.
//!
//! ```no_run
//! # async fn demo() -> crpki::Result<()> {
//! use std::sync::Arc;
//! use crpki::auth::{TransportConfig, http_client};
//! use crpki::csc::{CscClient, CscSigner, CscVersion, ModeAuthorizer, StaticTokenSource};
//! use crpki::{RemoteSigner, HashAlgorithm};
//!
//! let http = http_client(&TransportConfig::default())?;
//! let client = CscClient::new(http, "https://rssp.example/csc/v2/", CscVersion::V2)?
//!     .with_token_source(Arc::new(StaticTokenSource::new("access token")));
//! let credentials = client.list_credentials().await?;
//! let chosen = crpki::csc::select_credential(&credentials, None)?;
//! let authorizer = Arc::new(ModeAuthorizer::new());
//! let signer = CscSigner::from_description(Arc::new(client), chosen.clone(), authorizer, Default::default())?;
//! let digest = HashAlgorithm::Sha256.digest(b"document");
//! let signatures = signer.sign_digests(signer.default_algorithm(), &[digest]).await?;
//! # let _ = signatures; Ok(()) }
//! ```

// Without `remote` only the wire types are here, and the overview above
// names rooms that are compiled out.
#![cfg_attr(not(feature = "remote"), allow(rustdoc::broken_intra_doc_links))]

pub mod types;

#[cfg(feature = "remote")]
mod authorize;
#[cfg(feature = "remote")]
mod client;
#[cfg(feature = "remote")]
mod errors;
#[cfg(feature = "remote")]
mod retry;
#[cfg(feature = "remote")]
pub mod service_auth;
#[cfg(feature = "remote")]
mod signer;

pub use crate::profile::CscVersion;
#[cfg(feature = "remote")]
pub use authorize::DEFAULT_APPROVAL_TIMEOUT;
#[cfg(feature = "remote")]
pub use authorize::{
    AuthorizationContext, CredentialAuthorization, CredentialAuthorizer, ExplicitAuthorizer,
    ImplicitAuthorizer, ModeAuthorizer, OAuth2CodeAuthorizer, PromptRequest, SecretPrompt, StaticSecrets,
};
#[cfg(feature = "remote")]
pub use client::{
    Activation, AuthInput, AuthInputKind, AuthMode, AuthorizeCall, CertificateStatus, CredentialDescription,
    CscClient, CscSignAlgorithm, OAuthClientConfig, Sad, Scal, ServiceToken, SignHashCall,
    version_from_specs,
};
#[cfg(feature = "remote")]
pub use errors::error_from_reply;
#[cfg(feature = "remote")]
pub use retry::{RequestFlags, RetryConfig};
#[cfg(feature = "remote")]
pub use service_auth::{BasicLoginSource, RsspOAuth2Source, StaticTokenSource};
#[cfg(feature = "remote")]
pub use signer::{CscSigner, SignerOptions, connect_signer, select_credential};
pub use types::ErrorBody;
